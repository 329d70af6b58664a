package zjson

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/zappy-mon/zappy/sdk/go/internal/hostindex"
)

var indexDocs = []string{
	`{"check_id":1,"name":"bench","type":"tcp","target":"tcp://127.0.0.1:36137","timeout_ms":5000,"deadline_unix_ms":1795293533267,"attempt":1,"config":{},"state":null}`,
	`{"remote":"127.0.0.1:36137","local":"127.0.0.1:58832","connect_ms":0.216}`,
	`{"a":[1,-2.5e3,{"b":null,"c":[true,false,[]]}],"esc":"q\"\\\u00e9\ud83d\ude00","e":{}}`,
	` [ "padded" , 0 , "with spaces and a longer tail" ] `,
	`"a plain string long enough to be indexed"`,
	`{"many":[` + strings.Repeat(`{"k":"v","n":1},`, 40) + `0]}`, // more entries than a first guess holds
}

// decodeRecords reads index records the way ABI.md words them.
func decodeRecords(b []byte) []entry {
	var out []entry
	for ; len(b) >= IndexRecordSize; b = b[IndexRecordSize:] {
		out = append(out, entry{
			kind: Kind(b[0]), escaped: b[1] == 1, truth: b[2] == 1,
			start: int32(binary.LittleEndian.Uint32(b[4:])), end: int32(binary.LittleEndian.Uint32(b[8:])),
			next: int32(binary.LittleEndian.Uint32(b[12:])), count: int32(binary.LittleEndian.Uint32(b[16:])),
		})
	}
	return out
}

// TestIndexRecordLayout: a guest overlays the host's records on its entries,
// so entry must stay the record of ABI.md byte for byte.
func TestIndexRecordLayout(t *testing.T) {
	var e entry
	got := []uintptr{unsafe.Sizeof(e), unsafe.Offsetof(e.kind), unsafe.Offsetof(e.escaped), unsafe.Offsetof(e.truth),
		unsafe.Offsetof(e.start), unsafe.Offsetof(e.end), unsafe.Offsetof(e.next), unsafe.Offsetof(e.count)}
	if want := []uintptr{IndexRecordSize, 0, 1, 2, 4, 8, 12, 16}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entry layout (size, offsets) = %v, want %v", got, want)
	}
}

func TestIndexMatchesParse(t *testing.T) {
	for i, doc := range indexDocs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want, err := parse([]byte(doc), nil)
			if err != nil {
				t.Fatal(err)
			}
			// Too small: the count, nothing written.
			small := make([]byte, (len(want)-1)*IndexRecordSize)
			for j := range small {
				small[j] = 0xAA
			}
			n, err := Index([]byte(doc), small)
			if err != nil || n != len(want) {
				t.Fatalf("Index into a short buffer = %d, %v; want %d", n, err, len(want))
			}
			if bytes.Count(small, []byte{0xAA}) != len(small) {
				t.Fatal("Index wrote into a buffer too small for the records")
			}
			// Big enough: the records of ABI.md, equal to the parser's tape.
			dst := make([]byte, (len(want)+3)*IndexRecordSize)
			if n, err = Index([]byte(doc), dst); err != nil || n != len(want) {
				t.Fatalf("Index = %d, %v; want %d", n, err, len(want))
			}
			if got := decodeRecords(dst[:n*IndexRecordSize]); !reflect.DeepEqual(got, want) {
				t.Fatalf("records\n%+v\nwant the parser's tape\n%+v", got, want)
			}
		})
	}
	for _, bad := range []string{``, `{"a":}`, `[1,]`, `"abc`} {
		if n, err := Index([]byte(bad), make([]byte, 100)); err == nil {
			t.Errorf("Index(%q) = %d, no error", bad, n)
		}
	}
}

// withIndexer makes Parse read documents through f, as inside a module.
func withIndexer(t *testing.T, f func(data, dst []byte) int) {
	old := hostindex.Func
	hostindex.Func = f
	t.Cleanup(func() { hostindex.Func = old })
}

// nativeIndexer is what the host does for json_index.
func nativeIndexer(calls *int) func(data, dst []byte) int {
	return func(data, dst []byte) int {
		*calls++
		n, err := Index(data, dst)
		if err != nil {
			return -5
		}
		return n
	}
}

// TestParseThroughIndexer: documents read through host indexes (overlaid
// on the tape's entries, grown once when the first guess is short) read
// exactly as parsed ones; bad documents still get the parser's error.
func TestParseThroughIndexer(t *testing.T) {
	var calls int
	withIndexer(t, nativeIndexer(&calls))
	for i, doc := range indexDocs {
		v, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		want, _ := parse([]byte(doc), nil)
		if !reflect.DeepEqual(v.t.entries, want) {
			t.Fatalf("doc %d: tape through the indexer\n%+v\nwant\n%+v", i, v.t.entries, want)
		}
		if got, wantJSON := string(appendValue(v)), string(appendValue(mustParseLocal(t, doc))); got != wantJSON {
			t.Fatalf("doc %d re-encodes as %s, want %s", i, got, wantJSON)
		}
	}
	if calls < len(indexDocs)+1 { // the long document needs a second call
		t.Fatalf("indexer called %d times for %d documents: Parse did not use it", calls, len(indexDocs))
	}
	calls = 0
	if _, err := Parse([]byte(`{}`)); err != nil || calls != 0 {
		t.Fatalf("a tiny document: err %v, %d indexer calls; want it parsed in place", err, calls)
	}
	bad := `{"name":"long enough to be indexed",]`
	_, errLocal := parse([]byte(bad), nil)
	if _, err := Parse([]byte(bad)); err == nil || err.Error() != errLocal.Error() {
		t.Fatalf("bad document through the indexer: %v, want the parser's %v", err, errLocal)
	}
}

// TestParseIndexerRefuses: an indexer that refuses, or keeps asking for more
// room, leaves the parser to do the work.
func TestParseIndexerRefuses(t *testing.T) {
	for name, f := range map[string]func(data, dst []byte) int{
		"refuses":        func(_, _ []byte) int { return -1 },
		"always too big": func(_, dst []byte) int { return len(dst)/IndexRecordSize + 1 },
	} {
		t.Run(name, func(t *testing.T) {
			withIndexer(t, f)
			doc := indexDocs[0]
			v, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Get("target").Str(); got != "tcp://127.0.0.1:36137" {
				t.Fatalf("target = %q", got)
			}
		})
	}
}

func mustParseLocal(t *testing.T, doc string) Value {
	ents, err := parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	return Value{&tape{src: []byte(doc), entries: ents}, 0}
}

func appendValue(v Value) []byte {
	w := &Writer{}
	w.Any(v)
	return w.Bytes()
}

// TestIndexTooMany: Index takes documents of up to MaxIndexRecords values
// and refuses bigger ones early, so that what a guest hands the host's
// indexer bounds the host's memory: an 8 MB document of 4 million values
// costs no more than the tape of MaxIndexRecords.
func TestIndexTooMany(t *testing.T) {
	values := func(n int) []byte { return []byte("[" + strings.Repeat("0,", n-2) + "0]") } // n values, the array included
	if got, err := Index(values(MaxIndexRecords), nil); err != nil || got != MaxIndexRecords {
		t.Fatalf("Index of %d values = %d, %v", MaxIndexRecords, got, err)
	}
	if _, err := Index(values(MaxIndexRecords+1), nil); !errors.Is(err, ErrTooMany) {
		t.Fatalf("Index of %d values: %v, want ErrTooMany", MaxIndexRecords+1, err)
	}
	big := values(4 << 20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Index(big, nil); !errors.Is(err, ErrTooMany) {
		t.Fatalf("Index of 4M values: %v, want ErrTooMany", err)
	}
	runtime.ReadMemStats(&after)
	if alloc, limit := after.TotalAlloc-before.TotalAlloc, uint64(3*MaxIndexRecords*IndexRecordSize); alloc > limit {
		t.Fatalf("Index of an 8 MB document allocated %d bytes, want at most %d", alloc, limit)
	}
	// Parse itself has no such limit.
	if v, err := Parse(values(MaxIndexRecords + 1)); err != nil || v.Len() != MaxIndexRecords {
		t.Fatalf("Parse of %d values: len %d, %v", MaxIndexRecords+1, v.Len(), err)
	}
}
