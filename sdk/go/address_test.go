package zappy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// oldSplitAddress is the strings-package version that the single pass
// replaced, and oldHostPort HostPort built on it without the shortcut that
// returns the address's own host:port: the oracle for
// TestAddressSameAsBefore.
func oldSplitAddress(address string) (host, port string) {
	s := address
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.Index(s, "]"); j > 0 {
			host = s[1:j]
			if rest := s[j+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
			return host, port
		}
	}
	if strings.Count(s, ":") == 1 {
		i := strings.Index(s, ":")
		return s[:i], s[i+1:]
	}
	return s, ""
}

func oldHostPort(address string, defaultPort int) string {
	host, port := oldSplitAddress(address)
	return joinAddress(address, host, port, defaultPort)
}

// TestAddressSameAsBefore holds SplitAddress and HostPort to what they
// returned before they became single byte loops: a table of awkward
// addresses, then random ones built from the characters that matter.
func TestAddressSameAsBefore(t *testing.T) {
	inputs := []string{"", ":", "::", ":25", "[", "[]", "[]:1", "[::1]", "[::1]:", "[::1]x", "[::1]:25", "[host]:25", "[v6]:1:2",
		"tcp://", "tcp://:25", "a://b://c:1", "u@h:1", "u:p@h:1", "u@[::1]:2", "@", "h:1@x", "h:1/p@x:2", "h?x:1", "h#f",
		"tcp://mail.example.com:25", "snmp://switch", "https://web/path?q=1", "http://user:pw@web:8080/x", "::1", "1:2:3:4"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab1:/[]@?#"
	for range 20000 {
		b := make([]byte, rng.IntN(14))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		h, p := SplitAddress(in)
		if wh, wp := oldSplitAddress(in); h != wh || p != wp {
			t.Fatalf("SplitAddress(%q) = %q, %q; before: %q, %q", in, h, p, wh, wp)
		}
		for _, def := range []int{0, 25} {
			if got, want := HostPort(in, def), oldHostPort(in, def); got != want {
				t.Fatalf("HostPort(%q, %d) = %q; before: %q", in, def, got, want)
			}
		}
	}
}
