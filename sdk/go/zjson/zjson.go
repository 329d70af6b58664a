// Package zjson is a small JSON reader and writer without reflection.
//
// The zappy guest SDK moves every structured message across the ABI as JSON.
// encoding/json costs ~40 µs to decode a 300-byte check input inside a Go wasm
// guest and adds 1.4 MB to the module; zjson does the same work in a few
// microseconds and keeps the module small. It is deliberately minimal: Parse
// builds a tree of Values, Writer appends JSON to a byte slice.
package zjson

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON kinds. The zero Value is Null and also what Get returns for a
// missing key, so lookups chain without checks.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "bool", "number", "string", "array", "object"}[k]
}

// Value is one parsed JSON value.
type Value struct {
	kind    Kind
	present bool
	b       bool
	s       string // string contents, or the number's literal text
	arr     []Value
	obj     []Member
}

// Member is one key/value pair of an object, in document order.
type Member struct {
	Key   string
	Value Value
}

// Kind returns the JSON type.
func (v Value) Kind() Kind { return v.kind }

// Exists reports whether the value was present in the document (a JSON null
// exists; a missing key does not).
func (v Value) Exists() bool { return v.present }

// IsNull reports whether the value is JSON null or missing.
func (v Value) IsNull() bool { return v.kind == Null }

// Get returns the member key of an object, or a missing Value.
func (v Value) Get(key string) Value {
	for i := range v.obj {
		if v.obj[i].Key == key {
			return v.obj[i].Value
		}
	}
	return Value{}
}

// Path follows keys through nested objects.
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// Index returns element i of an array, or a missing Value.
func (v Value) Index(i int) Value {
	if i < 0 || i >= len(v.arr) {
		return Value{}
	}
	return v.arr[i]
}

// Len is the number of elements of an array or members of an object.
func (v Value) Len() int {
	if v.kind == Object {
		return len(v.obj)
	}
	return len(v.arr)
}

// Array returns the elements of an array (nil for other kinds).
func (v Value) Array() []Value { return v.arr }

// Members returns the members of an object (nil for other kinds).
func (v Value) Members() []Member { return v.obj }

// Str returns a string value; numbers and booleans are rendered as text, so
// YAML authors who wrote `expect: 250` still get "250". Null gives "".
func (v Value) Str() string {
	switch v.kind {
	case String, Number:
		return v.s
	case Bool:
		return strconv.FormatBool(v.b)
	}
	return ""
}

// StrOr returns Str, or def when the value is missing or null.
func (v Value) StrOr(def string) string {
	if v.kind == Null {
		return def
	}
	return v.Str()
}

// Float returns a number (or a numeric string) as float64; 0 otherwise.
func (v Value) Float() float64 {
	if v.kind == Number || v.kind == String {
		f, err := strconv.ParseFloat(v.s, 64)
		if err == nil {
			return f
		}
	}
	if v.kind == Bool && v.b {
		return 1
	}
	return 0
}

// Int returns a number (or a numeric string) as int64, truncating fractions.
func (v Value) Int() int64 {
	if v.kind == Number || v.kind == String {
		if i, err := strconv.ParseInt(v.s, 10, 64); err == nil {
			return i
		}
		f := v.Float()
		if f >= math.MinInt64 && f <= math.MaxInt64 {
			return int64(f)
		}
	}
	if v.kind == Bool && v.b {
		return 1
	}
	return 0
}

// Uint returns a number as uint64, exact for the full range (SNMP Counter64).
func (v Value) Uint() uint64 {
	if v.kind == Number || v.kind == String {
		if u, err := strconv.ParseUint(v.s, 10, 64); err == nil {
			return u
		}
		if i := v.Int(); i > 0 {
			return uint64(i)
		}
	}
	return 0
}

// IntOr returns Int, or def when the value is missing or null.
func (v Value) IntOr(def int64) int64 {
	if v.kind == Null {
		return def
	}
	return v.Int()
}

// Truthy interprets booleans the way APMonitor configs write them:
// true/yes/on/ok/1 (any case) are true; false/no/off/0, null and missing are false.
func (v Value) Truthy() bool {
	switch v.kind {
	case Bool:
		return v.b
	case Number:
		return v.Float() != 0
	case String:
		switch lower(v.s) {
		case "true", "yes", "on", "ok", "1", "y":
			return true
		}
	}
	return false
}

// BoolOr returns Truthy, or def when the value is missing or null.
func (v Value) BoolOr(def bool) bool {
	if v.kind == Null {
		return def
	}
	return v.Truthy()
}

// Strings returns an array of strings (non-strings rendered with Str).
func (v Value) Strings() []string {
	if v.kind != Array {
		return nil
	}
	out := make([]string, len(v.arr))
	for i, e := range v.arr {
		out[i] = e.Str()
	}
	return out
}

// Raw re-encodes the value as compact JSON.
func (v Value) Raw() []byte {
	var w Writer
	w.Value(v)
	return w.Bytes()
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("zjson: syntax error")

type parseError struct {
	msg string
	off int
}

func (e *parseError) Error() string {
	return "zjson: " + e.msg + " at offset " + strconv.Itoa(e.off)
}
func (e *parseError) Unwrap() error { return ErrSyntax }

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// Parse parses one JSON document. Trailing whitespace is allowed, anything
// else after the value is an error.
func Parse(data []byte) (Value, error) {
	p := parser{data: data}
	p.ws()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.ws()
	if p.i != len(p.data) {
		return Value{}, p.fail("unexpected data after value")
	}
	return v, nil
}

type parser struct {
	data []byte
	i    int
}

func (p *parser) fail(msg string) error { return &parseError{msg: msg, off: p.i} }

func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.fail("nesting too deep")
	}
	if p.i >= len(p.data) {
		return Value{}, p.fail("unexpected end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return Value{kind: String, present: true, s: s}, err
	case c == 't':
		return p.lit("true", Value{kind: Bool, present: true, b: true})
	case c == 'f':
		return p.lit("false", Value{kind: Bool, present: true})
	case c == 'n':
		return p.lit("null", Value{kind: Null, present: true})
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return Value{}, p.fail("unexpected character " + strconv.QuoteRune(rune(p.data[p.i])))
}

func (p *parser) lit(word string, v Value) (Value, error) {
	if len(p.data)-p.i < len(word) || string(p.data[p.i:p.i+len(word)]) != word {
		return Value{}, p.fail("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *parser) number() (Value, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.data) && p.data[p.i] == '0' {
		p.i++ // a leading zero stands alone
	} else if digits() == 0 {
		return Value{}, p.fail("invalid number")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return Value{}, p.fail("invalid number")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return Value{}, p.fail("invalid number")
		}
	}
	return Value{kind: Number, present: true, s: string(p.data[start:p.i])}, nil
}

func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes.
	for p.i < len(p.data) {
		c := p.data[p.i]
		if c == '"' {
			s := string(p.data[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	buf := append([]byte(nil), p.data[start:p.i]...)
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c == '\\':
			p.i++
			if p.i >= len(p.data) {
				return "", p.fail("unexpected end of input")
			}
			e := p.data[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
						p.i += 2
						var ok2 bool
						if r2, ok2 = p.hex4(); !ok2 {
							return "", p.fail("invalid \\u escape")
						}
					}
					r = utf16.DecodeRune(r, r2)
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", p.fail("invalid escape")
			}
		default:
			buf = append(buf, c)
			p.i++
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

func (p *parser) object(depth int) (Value, error) {
	p.i++
	v := Value{kind: Object, present: true}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return Value{}, p.fail("expected object key")
		}
		k, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.ws()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return Value{}, p.fail("expected ':'")
		}
		p.i++
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.obj = append(v.obj, Member{Key: k, Value: e})
		p.ws()
		if p.i >= len(p.data) {
			return Value{}, p.fail("unexpected end of input")
		}
		if p.data[p.i] == ',' {
			p.i++
			continue
		}
		if p.data[p.i] == '}' {
			p.i++
			return v, nil
		}
		return Value{}, p.fail("expected ',' or '}'")
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.i++
	v := Value{kind: Array, present: true}
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.ws()
		e, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.arr = append(v.arr, e)
		p.ws()
		if p.i >= len(p.data) {
			return Value{}, p.fail("unexpected end of input")
		}
		if p.data[p.i] == ',' {
			p.i++
			continue
		}
		if p.data[p.i] == ']' {
			p.i++
			return v, nil
		}
		return Value{}, p.fail("expected ',' or ']'")
	}
}
