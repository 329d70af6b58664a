package zappy

// Frames (ABI.md, "Frames"): the binary form of a check's input and result.
// The manifest asks for them ("frames": 1); a host that knows them hands
// check inputs as frames, and so is known to take result frames too. A
// frame starts with frameVersion, a byte no JSON text starts with.

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

const frameVersion = 1

// inputFrameHeader is the size of an input frame's fixed part.
const inputFrameHeader = 64

var le = binary.LittleEndian

// emptyObject and null are the config and state most checks get, shared
// rather than parsed for each check (Values are read-only).
var (
	emptyObject = mustParse("{}")
	null        = mustParse("null")
)

func mustParse(s string) zjson.Value {
	v, err := zjson.Parse([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

// checkFromFrame builds a check from an input frame, which may live in
// storage that is reused once it returns: the check's strings are copied
// in one allocation, Config and State parsed onto tapes of their own.
func checkFromFrame(b []byte) (*Check, error) {
	if len(b) < inputFrameHeader {
		return nil, errors.New("input frame shorter than its header")
	}
	lens := [5]int{}
	total := inputFrameHeader
	for i := range lens {
		lens[i] = int(le.Uint32(b[44+4*i:]))
		total += lens[i]
	}
	if total != len(b) || total < inputFrameHeader {
		return nil, errors.New("input frame lengths do not add up to its size")
	}
	box := &checkBox{}
	c := &box.Check
	c.Attempt = int(le.Uint32(b[4:]))
	c.ID = int64(le.Uint64(b[8:]))
	c.Timeout = time.Duration(le.Uint64(b[16:])) * time.Millisecond
	if deadline := int64(le.Uint64(b[24:])); deadline > 0 {
		c.Deadline = time.UnixMilli(deadline)
	} else {
		c.Deadline = time.Now().Add(c.Timeout)
	}
	c.NotifyEvery = time.Duration(le.Uint64(b[32:])) * time.Millisecond
	c.AfterEveryN = int(le.Uint32(b[40:]))
	off := inputFrameHeader
	text := b[off : off+lens[0]+lens[1]+lens[2]]
	off += len(text)
	var all string
	if len(text) > len(box.text) {
		all = string(text)
	} else {
		n := copy(box.text[:], text)
		all = unsafe.String(&box.text[0], n)
	}
	c.Name, c.Type, c.Target = all[:lens[0]], all[lens[0]:lens[0]+lens[1]], all[lens[0]+lens[1]:]
	var err error
	if c.Config, err = frameJSON(b[off:off+lens[3]], emptyObject); err != nil {
		return nil, errors.New("input frame config: " + err.Error())
	}
	off += lens[3]
	if c.State, err = frameJSON(b[off:off+lens[4]], null); err != nil {
		return nil, errors.New("input frame state: " + err.Error())
	}
	return c, nil
}

// frameJSON parses a JSON part of an input frame onto a tape of its own;
// empty, or the same text as def, is def.
func frameJSON(js []byte, def zjson.Value) (zjson.Value, error) {
	if len(js) == 0 || string(js) == string(def.Source()) {
		return def, nil
	}
	return zjson.ParseCopy(js)
}

// A result frame's field value kinds (the host's runtime/engine/frame.go
// reads them).
const (
	kindNull   = 0
	kindFalse  = 1
	kindTrue   = 2
	kindNumber = 3
	kindString = 4
	kindJSON   = 5
)

// frameCodes are the status and class codes of a result frame; ok is false
// for a status or class it has no code for.
func frameCodes(s Status, c Class) (status, class byte, ok bool) {
	switch s {
	case StatusUp:
		status = 1
	case StatusDegraded:
		status = 2
	case StatusDown:
		status = 3
	case StatusError:
		status = 4
	default:
		return 0, 0, false
	}
	switch c {
	case "":
	case ClassSuccess:
		class = 1
	case ClassApplicationError:
		class = 2
	case ClassExceptionError:
		class = 3
	default:
		return 0, 0, false
	}
	return status, class, true
}

// appendFrame appends r as a result frame to b; ok is false when r has a
// status or class a frame has no code for (the JSON form reports it to the
// host as it is).
func (r *Result) appendFrame(b []byte) (_ []byte, ok bool) {
	status, class, ok := frameCodes(r.Status, r.Class)
	if !ok {
		return b, false
	}
	var flags byte
	if r.LatencyMS != 0 {
		flags = 1
	}
	nFields := len(r.more) + len(r.Fields)
	start := len(b)
	b = append(b, frameVersion, status, class, flags)
	b = le.AppendUint32(b, uint32(len(r.Message)))
	b = le.AppendUint64(b, math.Float64bits(r.LatencyMS))
	b = le.AppendUint32(b, uint32(len(r.Metrics)))
	b = le.AppendUint32(b, uint32(nFields))
	b = le.AppendUint32(b, 0) // the JSON part's length, set below
	b = append(b, r.Message...)
	for _, m := range r.Metrics {
		b = appendFrameString(b, m.Name)
		b = le.AppendUint64(b, math.Float64bits(m.Value))
		b = appendFrameString(b, m.Unit)
	}
	// The map's values after the list's: the host keeps the last of a
	// name, and the map wins, as in the JSON form.
	for _, f := range r.more {
		b = appendFrameValue(appendFrameString(b, f.name), f.value)
	}
	for k, v := range r.Fields {
		b = appendFrameValue(appendFrameString(b, k), v)
	}
	if r.State != nil || len(r.Events) > 0 {
		w := getWriter()
		w.ObjectStart()
		r.writeRest(w)
		w.ObjectEnd()
		le.PutUint32(b[start+24:], uint32(len(w.Bytes())))
		b = append(b, w.Bytes()...)
		putWriter(w)
	}
	return b, true
}

// appendFrameJSON appends x as a field value of JSON text.
func appendFrameJSON(b []byte, x any) []byte {
	w := getWriter()
	w.Any(x)
	b = appendFrameString(append(b, kindJSON), unsafe.String(unsafe.SliceData(w.Bytes()), len(w.Bytes())))
	putWriter(w)
	return b
}

func appendFrameString(b []byte, s string) []byte {
	return append(le.AppendUint32(b, uint32(len(s))), s...)
}

// appendFrameValue appends a field value: the kinds Writer.Any writes as a
// JSON scalar in their own encoding, anything else as JSON text.
func appendFrameValue(b []byte, x any) []byte {
	var f float64
	switch v := x.(type) {
	case nil:
		return append(b, kindNull)
	case bool:
		if v {
			return append(b, kindTrue)
		}
		return append(b, kindFalse)
	case string:
		return appendFrameString(append(b, kindString), v)
	case []byte:
		return appendFrameString(append(b, kindString), unsafe.String(unsafe.SliceData(v), len(v)))
	case roomNum:
		f = *v.p
	case zjson.Marshaler: // before error, as in Writer.Any
		return appendFrameJSON(b, x)
	case error:
		return appendFrameString(append(b, kindString), v.Error())
	case float64:
		f = v
	case float32:
		f = float64(v)
	case int:
		f = float64(v)
	case int8:
		f = float64(v)
	case int16:
		f = float64(v)
	case int32:
		f = float64(v)
	case int64:
		f = float64(v)
	case uint:
		f = float64(v)
	case uint8:
		f = float64(v)
	case uint16:
		f = float64(v)
	case uint32:
		f = float64(v)
	case uint64:
		f = float64(v)
	default:
		return appendFrameJSON(b, x)
	}
	// NaN and infinities go as they are: the host reads them as null,
	// which is what the JSON form writes.
	return le.AppendUint64(append(b, kindNumber), math.Float64bits(f))
}
