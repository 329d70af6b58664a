package zjson

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer appends compact JSON to a buffer, inserting commas itself. The zero
// Writer is ready to use:
//
//	var w zjson.Writer
//	w.ObjectStart()
//	w.Key("status"); w.String("up")
//	w.Key("latency_ms"); w.Float(1.25)
//	w.ObjectEnd()
//	data := w.Bytes()
type Writer struct {
	buf   []byte
	comma bool
}

// Reset empties the writer, keeping its buffer.
func (w *Writer) Reset() { w.buf = w.buf[:0]; w.comma = false }

// Bytes returns the JSON written so far.
func (w *Writer) Bytes() []byte { return w.buf }

func (w *Writer) sep() {
	if w.comma {
		w.buf = append(w.buf, ',')
	}
	w.comma = true
}

// ObjectStart opens an object.
func (w *Writer) ObjectStart() { w.sep(); w.buf = append(w.buf, '{'); w.comma = false }

// ObjectEnd closes an object.
func (w *Writer) ObjectEnd() { w.buf = append(w.buf, '}'); w.comma = true }

// ArrayStart opens an array.
func (w *Writer) ArrayStart() { w.sep(); w.buf = append(w.buf, '['); w.comma = false }

// ArrayEnd closes an array.
func (w *Writer) ArrayEnd() { w.buf = append(w.buf, ']'); w.comma = true }

// Key writes an object key; the next call writes its value.
func (w *Writer) Key(k string) {
	w.sep()
	w.buf = AppendString(w.buf, k)
	w.buf = append(w.buf, ':')
	w.comma = false
}

// String writes a string value.
func (w *Writer) String(s string) { w.sep(); w.buf = AppendString(w.buf, s) }

// Int writes an integer.
func (w *Writer) Int(i int64) { w.sep(); w.buf = strconv.AppendInt(w.buf, i, 10) }

// Uint writes an unsigned integer.
func (w *Writer) Uint(u uint64) { w.sep(); w.buf = strconv.AppendUint(w.buf, u, 10) }

// Float writes a number; NaN and infinities, which JSON cannot hold, are
// written as null.
func (w *Writer) Float(f float64) {
	w.sep()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = strconv.AppendFloat(w.buf, f, 'g', -1, 64)
}

// Bool writes true or false.
func (w *Writer) Bool(b bool) { w.sep(); w.buf = strconv.AppendBool(w.buf, b) }

// Null writes null.
func (w *Writer) Null() { w.sep(); w.buf = append(w.buf, "null"...) }

// Raw writes pre-encoded JSON as one value. The caller guarantees validity;
// an empty raw value is written as null.
func (w *Writer) Raw(js []byte) {
	w.sep()
	if len(js) == 0 {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = append(w.buf, js...)
}

// Value writes a parsed Value.
func (w *Writer) Value(v Value) {
	switch v.kind {
	case Null:
		w.Null()
	case Bool:
		w.Bool(v.b)
	case Number:
		w.sep()
		w.buf = append(w.buf, v.s...)
	case String:
		w.String(v.s)
	case Array:
		w.ArrayStart()
		for _, e := range v.arr {
			w.Value(e)
		}
		w.ArrayEnd()
	case Object:
		w.ObjectStart()
		for _, m := range v.obj {
			w.Key(m.Key)
			w.Value(m.Value)
		}
		w.ObjectEnd()
	}
}

// Any writes common Go values: nil, bool, string, the integer and float
// kinds, []byte (as a string), Value, []any, []string, []float64,
// map[string]any and map[string]string (keys in sorted
// order) and Marshaler. Anything else is written as the string
// "<unsupported type>", never a panic.
func (w *Writer) Any(x any) {
	switch v := x.(type) {
	case nil:
		w.Null()
	case bool:
		w.Bool(v)
	case string:
		w.String(v)
	case []byte:
		w.String(string(v))
	case int:
		w.Int(int64(v))
	case int8:
		w.Int(int64(v))
	case int16:
		w.Int(int64(v))
	case int32:
		w.Int(int64(v))
	case int64:
		w.Int(v)
	case uint:
		w.Uint(uint64(v))
	case uint8:
		w.Uint(uint64(v))
	case uint16:
		w.Uint(uint64(v))
	case uint32:
		w.Uint(uint64(v))
	case uint64:
		w.Uint(v)
	case float32:
		w.Float(float64(v))
	case float64:
		w.Float(v)
	case Value:
		w.Value(v)
	case Marshaler:
		v.MarshalZJSON(w)
	case []any:
		w.ArrayStart()
		for _, e := range v {
			w.Any(e)
		}
		w.ArrayEnd()
	case []string:
		w.ArrayStart()
		for _, e := range v {
			w.String(e)
		}
		w.ArrayEnd()
	case []float64:
		w.ArrayStart()
		for _, e := range v {
			w.Float(e)
		}
		w.ArrayEnd()
	case map[string]any:
		w.ObjectStart()
		for _, k := range sortedKeys(v) {
			w.Key(k)
			w.Any(v[k])
		}
		w.ObjectEnd()
	case map[string]string:
		w.ObjectStart()
		for _, k := range sortedKeys(v) {
			w.Key(k)
			w.String(v[k])
		}
		w.ObjectEnd()
	default:
		w.String("<unsupported type>")
	}
}

// Marshaler is implemented by types that write themselves with a Writer.
type Marshaler interface {
	MarshalZJSON(w *Writer)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// insertion sort: maps here are small and this avoids importing sort.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD so the output is always valid JSON.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
