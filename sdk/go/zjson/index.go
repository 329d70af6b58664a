package zjson

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"

	"github.com/zappy-mon/zappy/sdk/go/internal/hostindex"
)

// A document's index is its tape written out as records, one per value
// (sdk/ABI.md, "json_index"): the zappy host builds it natively for a
// guest, which then reads the document without parsing it. A record is
// IndexRecordSize bytes, little-endian:
//
//	byte 0      kind (0 null, 1 bool, 2 number, 3 string, 4 array, 5 object)
//	byte 1      1 if a string holds escapes
//	byte 2      1 for true
//	byte 3      0
//	bytes 4–7   start: strings, just after the opening quote; numbers, the
//	            literal's first byte; containers, the bracket
//	bytes 8–11  end: strings, the closing quote; numbers, just after the
//	            literal; containers, just after the closing bracket
//	bytes 12–15 next: the record after this value and all it holds
//	bytes 16–19 count: containers, their elements (objects: members)
//
// Values come in document order, an object's members as key, value, key,
// value; offsets are bytes from the start of the document. The layout is
// that of entry, so a guest on a little-endian machine (every WebAssembly
// one) reads records in place.
const IndexRecordSize = 20

// MaxIndexRecords bounds the documents Index takes: one with more values
// (a walk of some 18,000 varbinds) is refused with ErrTooMany after at
// most this many records' work, which bounds what indexing a guest's
// document costs the host (2.6 MB of tape at most) whatever the guest
// hands it.
const MaxIndexRecords = 1 << 17

// ErrTooMany is Index's refusal of a document of more than MaxIndexRecords
// values.
var ErrTooMany = errors.New("zjson: document has too many values")

// Index parses data and, when its records fit in dst, writes them there.
// It returns the number of records either way (nothing is written when
// they do not fit), the parse error, or ErrTooMany.
func Index(data, dst []byte) (int, error) {
	if len(data) > math.MaxInt32 {
		return 0, fail("document too large", 0)
	}
	t := tempTapes.Get().(*tape)
	defer t.release()
	// The tape never grows by append (which would allocate some five
	// times the final size on the way): a parse that runs out of room
	// starts again with twice as much, up to the limit. Typical documents
	// fit the first guess. Never through an indexer: this is one.
	room := min(len(data)/6+4, MaxIndexRecords)
	var ents []entry
	var err error
	for {
		if cap(t.entries) < room {
			t.entries = make([]entry, 0, room)
		}
		ents, err = parseMax(data, t.entries[:0], room)
		if err != ErrTooMany || room == MaxIndexRecords {
			break
		}
		room = min(2*room, MaxIndexRecords)
	}
	t.entries = ents
	if err != nil {
		return 0, err
	}
	if len(ents)*IndexRecordSize > len(dst) {
		return len(ents), nil
	}
	for i := range ents {
		e := &ents[i]
		r := dst[i*IndexRecordSize : (i+1)*IndexRecordSize]
		r[0], r[1], r[2], r[3] = byte(e.kind), b2u(e.escaped), b2u(e.truth), 0
		binary.LittleEndian.PutUint32(r[4:], uint32(e.start))
		binary.LittleEndian.PutUint32(r[8:], uint32(e.end))
		binary.LittleEndian.PutUint32(r[12:], uint32(e.next))
		binary.LittleEndian.PutUint32(r[16:], uint32(e.count))
	}
	return len(ents), nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// minIndexed is the smallest document handed to the host's indexer:
// below it a guest parses faster than it crosses to the host and back.
const minIndexed = 24

// indexInto asks the host to index data into t's entries, growing them once
// if they are too small. It reports false when the host has no indexer or
// refused (data is not JSON): the caller parses, which also words the error.
func (t *tape) indexInto(data []byte) bool {
	f := hostindex.Func
	if f == nil || len(data) < minIndexed {
		return false
	}
	for range 2 {
		ents := t.entries[:cap(t.entries)]
		var dst []byte
		if len(ents) > 0 {
			dst = unsafe.Slice((*byte)(unsafe.Pointer(&ents[0])), len(ents)*IndexRecordSize)
		}
		n := f(data, dst)
		switch {
		case n <= 0:
			return false
		case n <= len(ents):
			t.entries = ents[:n]
			return true
		}
		t.entries = make([]entry, 0, n)
	}
	return false
}
