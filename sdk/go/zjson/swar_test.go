package zjson

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// The word-at-a-time helpers against their bytewise meaning, on every byte
// value at every position and on random words.
func TestSWARHelpers(t *testing.T) {
	plain := func(c byte) bool { return c != '"' && c != '\\' && c >= 0x20 }
	ascii := func(c byte) bool { return plain(c) && c < 0x80 }
	slow := func(b []byte, i int, ok func(byte) bool) int {
		j := i
		for j+8 <= len(b) {
			all := true
			for _, c := range b[j : j+8] {
				all = all && ok(c)
			}
			if !all {
				break
			}
			j += 8
		}
		return j - i
	}
	check := func(b []byte) {
		t.Helper()
		for i := 0; i <= len(b); i++ {
			if got, want := wordRun(b, i, 0), slow(b, i, plain); got != want {
				t.Fatalf("wordRun(%q, %d, 0) = %d, want %d", b, i, got, want)
			}
			if got, want := wordRun(string(b), i, msb), slow(b, i, ascii); got != want {
				t.Fatalf("wordRun(%q, %d, msb) = %d, want %d", b, i, got, want)
			}
		}
	}
	base := []byte("abcdefghijklmnopqrstuvwx")
	for c := 0; c < 256; c++ {
		for pos := range base {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			// mostly plain bytes, so that long runs occur
			if r.IntN(6) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = byte('a' + r.IntN(26))
			}
		}
		check(b)
	}
}

// FuzzAppendString checks that every string comes out as a valid JSON
// literal that decodes to the input (invalid UTF-8 replaced by U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text here", "q\"\\\n\t\x01é\u2028\xff", strings.Repeat("abcdefg\"", 5), "12345678\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		// The same after a prefix, into a buffer with room to spare.
		if roomy := AppendString(append(make([]byte, 0, 2*len(s)+8), "x,"...), s); string(roomy[2:]) != string(out) || string(roomy[:2]) != "x," {
			t.Fatalf("AppendString(%q) with room = %s, without %s", s, roomy, out)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want && utf8.ValidString(s) {
			t.Fatalf("AppendString(%q) decodes to %q", s, got)
		} else if !utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("AppendString(%q) decodes to invalid UTF-8 %q", s, got)
		}
		v, err := Parse(out)
		if err != nil || v.Str() != got {
			t.Fatalf("Parse(%s) = %q, %v; want %q", out, v.Str(), err, got)
		}
	})
}
