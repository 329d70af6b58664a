package zjson

import (
	"math"
	"reflect"
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

// Grow makes room for n more bytes, saving reallocations.
func (w *Writer) Grow(n int) {
	if cap(w.buf)-len(w.buf) < n {
		nb := make([]byte, len(w.buf), len(w.buf)+n)
		copy(nb, w.buf)
		w.buf = nb
	}
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

// Reopen continues the object that was just closed, so more members can be
// appended to JSON written by someone else (a Marshaler, Raw).
func (w *Writer) Reopen() {
	n := len(w.buf)
	if n == 0 || w.buf[n-1] != '}' {
		return
	}
	w.buf = w.buf[:n-1]
	w.comma = n >= 2 && w.buf[n-2] != '{'
}

// RawObjectPrefix writes a pre-encoded JSON object and reopens it.
func (w *Writer) RawObjectPrefix(obj []byte) {
	w.Raw(obj)
	w.Reopen()
}

// Key writes an object key; the next call writes its value.
func (w *Writer) Key(k string) {
	w.sep()
	w.buf = AppendString(w.buf, k)
	w.buf = append(w.buf, ':')
	w.comma = false
}

// EncodedKey is an object key escaped and quoted once (NewKey), for keys
// written over and over: inside wasm Key spends most of its ~90 ns
// checking the key's bytes, PutKey ~25 ns copying them.
type EncodedKey struct{ quoted string }

// NewKey encodes name for PutKey.
func NewKey(name string) EncodedKey {
	return EncodedKey{string(append(AppendString(nil, name), ':'))}
}

// PutKey writes an object key encoded by NewKey; the next call writes its
// value. It writes what Key(name) writes.
func (w *Writer) PutKey(k EncodedKey) {
	w.sep()
	w.buf = append(w.buf, k.quoted...)
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
	// Below 1e6 in magnitude 'g' writes whole thousandths as plain
	// decimals too, so the fast path changes no output.
	if f > -1e6 && f < 1e6 {
		if b, ok := appendMilli(w.buf, f); ok {
			w.buf = b
			return
		}
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

// Value writes a parsed Value (copying string and number literals as they
// were in the source).
func (w *Writer) Value(v Value) {
	e := v.e()
	if e == nil {
		w.Null()
		return
	}
	switch e.kind {
	case Null:
		w.Null()
	case Bool:
		w.Bool(e.truth)
	case Number:
		w.sep()
		w.buf = append(w.buf, v.t.src[e.start:e.end]...)
	case String:
		w.sep()
		w.buf = append(w.buf, '"')
		w.buf = append(w.buf, v.t.src[e.start:e.end]...)
		w.buf = append(w.buf, '"')
	case Array:
		w.ArrayStart()
		for j := v.i + 1; j < e.next; j = v.t.entries[j].next {
			w.Value(Value{v.t, j})
		}
		w.ArrayEnd()
	case Object:
		w.ObjectStart()
		for j := v.i + 1; j < e.next; {
			k := &v.t.entries[j]
			w.sep()
			w.buf = append(w.buf, '"')
			w.buf = append(w.buf, v.t.src[k.start:k.end]...)
			w.buf = append(w.buf, '"', ':')
			w.comma = false
			w.Value(Value{v.t, j + 1})
			j = v.t.entries[j+1].next
		}
		w.ObjectEnd()
	}
}

// Any writes Go values: common types through fast paths (nil, bool,
// string, numbers, []byte as a string, Value, Marshaler, error, slices and
// string-keyed maps of these), anything else through reflection (other
// slices, arrays, string-keyed maps, pointers, structs by json tag). Map keys
// come out sorted. Values JSON cannot hold (channels, functions, maps with
// non-string keys) are written as a string saying so, never a panic.
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
		writeSlice(w, v, (*Writer).Any)
	case []string:
		writeSlice(w, v, (*Writer).String)
	case []float64:
		writeSlice(w, v, (*Writer).Float)
	case []map[string]any:
		writeSlice(w, v, func(w *Writer, m map[string]any) { w.Any(m) })
	case []int:
		writeSlice(w, v, func(w *Writer, n int) { w.Int(int64(n)) })
	case []int64:
		writeSlice(w, v, (*Writer).Int)
	case []bool:
		writeSlice(w, v, (*Writer).Bool)
	case map[string]any:
		writeMap(w, v, (*Writer).Any)
	case map[string]string:
		writeMap(w, v, (*Writer).String)
	case map[string]float64:
		writeMap(w, v, (*Writer).Float)
	case map[string]int:
		writeMap(w, v, func(w *Writer, n int) { w.Int(int64(n)) })
	case map[string]bool:
		writeMap(w, v, (*Writer).Bool)
	case error:
		w.String(v.Error())
	default:
		w.reflectValue(reflect.ValueOf(x))
	}
}

// writeSlice and writeMap are Any's fast paths for common element types
// (no reflection, which matters inside a module). A nil slice or map is
// written empty.
func writeSlice[T any](w *Writer, s []T, elem func(*Writer, T)) {
	w.ArrayStart()
	for _, e := range s {
		elem(w, e)
	}
	w.ArrayEnd()
}

func writeMap[T any](w *Writer, m map[string]T, val func(*Writer, T)) {
	w.ObjectStart()
	if len(m) <= 16 {
		// A small map's members are sorted in an array on the stack,
		// values with their keys: no allocation, no second lookup.
		type member struct {
			k string
			v T
		}
		var small [16]member
		ms := small[:0]
		for k, v := range m {
			ms = append(ms, member{k, v})
		}
		for i := 1; i < len(ms); i++ {
			for j := i; j > 0 && ms[j].k < ms[j-1].k; j-- {
				ms[j], ms[j-1] = ms[j-1], ms[j]
			}
		}
		for _, e := range ms {
			w.Key(e.k)
			val(w, e.v)
		}
	} else {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			w.Key(k)
			val(w, m[k])
		}
	}
	w.ObjectEnd()
}

// reflectValue covers the kinds Any has no fast case for: other maps with
// string keys, slices and arrays, pointers, and structs (exported fields,
// named by their json tag when there is one).
func (w *Writer) reflectValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Invalid:
		w.Null()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.Null()
			return
		}
		w.Any(v.Elem().Interface())
	case reflect.Bool:
		w.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.Int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.Uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.Float(v.Float())
	case reflect.String:
		w.String(v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			w.Null()
			return
		}
		w.ArrayStart()
		for i := 0; i < v.Len(); i++ {
			w.Any(v.Index(i).Interface())
		}
		w.ArrayEnd()
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			w.String("<map with non-string keys>")
			return
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sortStrings(keys)
		w.ObjectStart()
		for _, k := range keys {
			w.Key(k)
			w.Any(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())).Interface())
		}
		w.ObjectEnd()
	case reflect.Struct:
		w.ObjectStart()
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("json"); tag != "" {
				if tag == "-" {
					continue
				}
				if j := indexByte(tag, ','); j >= 0 {
					tag = tag[:j]
				}
				if tag != "" {
					name = tag
				}
			}
			w.Key(name)
			w.Any(v.Field(i).Interface())
		}
		w.ObjectEnd()
	default:
		w.String("<unsupported type " + v.Type().String() + ">")
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Marshaler is implemented by types that write themselves with a Writer.
type Marshaler interface {
	MarshalZJSON(w *Writer)
}

// sortStrings is an insertion sort: maps here are small.
func sortStrings(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string literal holds as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD so the output is always valid JSON. Runs of plain ASCII are copied
// a word at a time.
func AppendString(buf []byte, s string) []byte {
	// Most strings written are short plain ASCII (keys, statuses,
	// addresses): checked a word, then a byte, at a time, and copied
	// with the quotes in one step when buf has room.
	i := wordRun(s, 0, msb)
	for i < len(s) && plainASCII[s[i]] {
		i++
	}
	if i == len(s) {
		n := len(buf)
		if cap(buf)-n < len(s)+2 {
			buf = append(buf, '"')
			buf = append(buf, s...)
			return append(buf, '"')
		}
		buf = buf[:n+len(s)+2]
		buf[n] = '"'
		copy(buf[n+1:], s)
		buf[n+1+len(s)] = '"'
		return buf
	}
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		i += wordRun(s, i, msb)
		for end := min(i+8, len(s)); i < end; {
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
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
