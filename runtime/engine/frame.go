package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// Frames (sdk/ABI.md, "Frames") are the binary form of a check's input and
// result, for modules whose manifest asks for them: fixed-width numbers and
// length-prefixed strings that neither side has to format, escape, scan or
// index. A frame starts with frameVersion, a byte no JSON text starts with,
// so zappy.done takes either form.
const frameVersion = 1

// inputFrameHeader is the size of an input frame's fixed part.
const inputFrameHeader = 64

// InputFrame is the input frame of check id (sdk/ABI.md, "Frames"), for
// tools that stand in for the host (internal/tools/wasmbench).
func InputFrame(id int64, req check.Request, deadline time.Time) []byte {
	config := []byte(req.Config)
	if len(config) == 0 {
		config = []byte("{}")
	}
	var notifyEvery int64
	var afterEveryN uint32
	if req.NotifyEvery > 0 || req.AfterEveryN > 0 {
		notifyEvery = max(req.NotifyEvery.Milliseconds(), 0)
		afterEveryN = uint32(max(req.AfterEveryN, 0))
	}
	name, typ, target, state := req.Name, req.Type, req.Target, req.State
	b := make([]byte, inputFrameHeader, inputFrameHeader+len(name)+len(typ)+len(target)+len(config)+len(state))
	le := binary.LittleEndian
	b[0] = frameVersion
	le.PutUint32(b[4:], uint32(max(req.Attempt, 1)))
	le.PutUint64(b[8:], uint64(id))
	le.PutUint64(b[16:], uint64(req.Timeout.Milliseconds()))
	le.PutUint64(b[24:], uint64(deadline.UnixMilli()))
	le.PutUint64(b[32:], uint64(notifyEvery))
	le.PutUint32(b[40:], afterEveryN)
	le.PutUint32(b[44:], uint32(len(name)))
	le.PutUint32(b[48:], uint32(len(typ)))
	le.PutUint32(b[52:], uint32(len(target)))
	le.PutUint32(b[56:], uint32(len(config)))
	le.PutUint32(b[60:], uint32(len(state)))
	b = append(b, name...)
	b = append(b, typ...)
	b = append(b, target...)
	b = append(b, config...)
	return append(b, state...)
}

// A result frame's field value kinds, and its status and class codes.
const (
	kindNull   = 0
	kindFalse  = 1
	kindTrue   = 2
	kindNumber = 3
	kindString = 4
	kindJSON   = 5
)

var (
	frameStatuses = [...]check.Status{1: check.Up, 2: check.Degraded, 3: check.Down, 4: check.Error}
	frameClasses  = [...]check.Class{0: "", 1: check.Success, 2: check.ApplicationError, 3: check.ExceptionError}
)

// frameReader reads a result frame front to back; the first read past its
// end sets bad, after which every read returns zero values.
type frameReader struct {
	b   []byte
	off int
	bad bool
}

func (f *frameReader) take(n int) []byte {
	if f.bad || n < 0 || n > len(f.b)-f.off {
		f.bad = true
		return nil
	}
	s := f.b[f.off : f.off+n]
	f.off += n
	return s
}

func (f *frameReader) u8() byte {
	if b := f.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (f *frameReader) u32() int {
	if b := f.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

func (f *frameReader) f64() float64 {
	if b := f.take(8); b != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return 0
}

// str reads a length-prefixed string.
func (f *frameReader) str() string { return f.strN(f.u32()) }

// strN reads a string of n bytes, made valid UTF-8 as a JSON result's
// strings are by the module's encoder (each invalid byte becomes U+FFFD).
// The frame is the host's copy of guest memory, kept by no one else, so
// the string may share it.
func (f *frameReader) strN(n int) string {
	b := f.take(n)
	if !utf8.Valid(b) {
		return string([]rune(string(b)))
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// resultFromFrame is resultFromGuest for a result frame.
func (r *run) resultFromFrame(data []byte) check.Result {
	f := frameReader{b: data, off: 1}
	status, class, flags := f.u8(), f.u8(), f.u8()
	msgLen := f.u32()
	latency := f.f64()
	nMetrics, nFields, restLen := f.u32(), f.u32(), f.u32()
	if f.bad {
		return r.badFrame("shorter than its header")
	}
	if int(status) >= len(frameStatuses) || frameStatuses[status] == "" {
		return r.badFrame(fmt.Sprintf("unknown status code %d", status))
	}
	if int(class) >= len(frameClasses) {
		return r.badFrame(fmt.Sprintf("unknown class code %d", class))
	}
	res := r.newResult()
	res.Status, res.Class = frameStatuses[status], frameClasses[class]
	if flags&1 != 0 && latency >= 0 && !math.IsInf(latency, 0) {
		res.LatencyMS = latency
	}
	res.Message = oneLine(f.strN(msgLen))
	// A count sizes an allocation: no more items than the rest of the
	// frame can hold, at their smallest (an empty metric, a null field).
	const minMetric, minField = 16, 5
	if nMetrics > (len(data)-f.off)/minMetric {
		return r.badFrame("more metrics than it holds")
	}
	if nMetrics > 0 {
		res.Metrics = make([]check.Metric, 0, nMetrics)
	}
	for range nMetrics {
		m := check.Metric{Name: f.str(), Value: f.f64(), Unit: f.str()}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			m.Value = 0 // a JSON result has null there, read as 0
		}
		res.Metrics = append(res.Metrics, m)
	}
	if nFields > (len(data)-f.off)/minField {
		return r.badFrame("more fields than it holds")
	}
	if nFields > 0 {
		res.Fields = make(map[string]any, min(nFields, 64)) // the count may name one key many times
	}
	for range nFields {
		key := f.str()
		v, err := f.value()
		if err != nil {
			return r.badFrame(fmt.Sprintf("field %q: %v", capText(key, 64), err))
		}
		res.Fields[key] = v
	}
	rest := f.take(restLen)
	if f.bad {
		return r.badFrame("a length past its end")
	}
	if f.off != len(data) {
		return r.badFrame(fmt.Sprintf("%d bytes after its end", len(data)-f.off))
	}
	var bad string
	if restLen > 0 {
		v, err := zjson.ParseTemp(rest)
		defer v.Release()
		if err != nil || v.Kind() != zjson.Object {
			return r.badFrame("its JSON part is not an object")
		}
		for it := v.Iter(); it.Next() && bad == ""; {
			switch it.Key() {
			case "state", "events":
				bad = r.resultMember(&res, it.Key(), it.Value())
			}
		}
	}
	return r.checkedResult(res, bad)
}

// value reads a field value.
func (f *frameReader) value() (any, error) {
	switch k := f.u8(); k {
	case kindNull:
		return nil, nil
	case kindFalse:
		return false, nil
	case kindTrue:
		return true, nil
	case kindNumber:
		x := f.f64()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil // null in a JSON result
		}
		return x, nil
	case kindString:
		return f.str(), nil
	case kindJSON:
		b := f.take(f.u32())
		if f.bad {
			return nil, nil // reported as the frame's
		}
		v, err := zjson.ParseTemp(b)
		defer v.Release()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		return v.Interface(), nil
	default:
		return nil, fmt.Errorf("unknown value kind %d", k)
	}
}

func (r *run) badFrame(why string) check.Result {
	return errorResult(r, fmt.Sprintf("module %s reported an invalid result frame: %s", r.m.name, why))
}

// ResultFromModule converts what a module reported to zappy.done, a JSON
// result or a result frame, as the engine does for a check of req (without
// a sandbox violation to report): for tests of encoders, and tools.
func ResultFromModule(req check.Request, data []byte) check.Result {
	r := &run{m: &Module{name: "test"}, req: req, started: time.Now()}
	return r.resultFromGuest(data)
}
