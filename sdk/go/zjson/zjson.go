// Package zjson is a small JSON reader and writer without reflection.
//
// The zappy guest SDK moves every structured message across the ABI as JSON.
// Inside a Go wasm guest encoding/json costs ~40 µs to decode a 300-byte
// check input and adds 1.4 MB to the module. zjson parses into a flat tape
// (one allocation per document; strings are views of the input unless they
// hold escapes) and reads values lazily, which keeps parsing to a few
// microseconds even in wasm. Parse keeps a reference to its input: the
// caller must not modify it afterwards.
package zjson

import (
	"errors"
	"iter"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
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

// entry is one value on the tape. Containers are followed by their
// children (for objects: key, value, key, value, ...); next is the index of
// the entry after the whole subtree.
type entry struct {
	kind    Kind
	escaped bool  // string with escapes: decode on access
	truth   bool  // for Bool
	start   int32 // strings: inside the quotes; numbers: the literal
	end     int32
	next    int32
	count   int32 // containers: number of children (pairs for objects)
}

type tape struct {
	src     []byte
	entries []entry
	temp    bool // from ParseTemp: Release recycles it
}

// tape16 and tape32 hold the tape of a small document (an operation's
// result, a check's input) with its entries, no bigger than the two
// allocations they replace: thousands of parked checks keep them.
type tape16 struct {
	t   tape
	buf [16]entry
}

type tape32 struct {
	t   tape
	buf [32]entry
}

// Value is one parsed JSON value: a position on a document's tape. The zero
// Value is a missing value.
type Value struct {
	t *tape
	i int32
}

// Member is one key/value pair of an object, in document order.
type Member struct {
	Key   string
	Value Value
}

func (v Value) e() *entry {
	if v.t == nil {
		return nil
	}
	return &v.t.entries[v.i]
}

// Kind returns the JSON type.
func (v Value) Kind() Kind {
	if e := v.e(); e != nil {
		return e.kind
	}
	return Null
}

// Exists reports whether the value was present in the document (a JSON null
// exists; a missing key does not).
func (v Value) Exists() bool { return v.t != nil }

// IsNull reports whether the value is JSON null or missing.
func (v Value) IsNull() bool { return v.Kind() == Null }

// Get returns the member key of an object, or a missing Value.
func (v Value) Get(key string) Value {
	e := v.e()
	if e == nil || e.kind != Object {
		return Value{}
	}
	for i := v.i + 1; i < e.next; {
		k := &v.t.entries[i]
		if !k.escaped && int(k.end-k.start) == len(key) && string(v.t.src[k.start:k.end]) == key ||
			k.escaped && v.t.str(k) == key {
			return Value{v.t, i + 1}
		}
		i = v.t.entries[i+1].next
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
	e := v.e()
	if e == nil || e.kind != Array || i < 0 || i >= int(e.count) {
		return Value{}
	}
	j := v.i + 1
	for ; i > 0; i-- {
		j = v.t.entries[j].next
	}
	return Value{v.t, j}
}

// Len is the number of elements of an array or members of an object.
func (v Value) Len() int {
	if e := v.e(); e != nil && (e.kind == Array || e.kind == Object) {
		return int(e.count)
	}
	return 0
}

// Array returns the elements of an array (nil for other kinds).
func (v Value) Array() []Value {
	e := v.e()
	if e == nil || e.kind != Array {
		return nil
	}
	out := make([]Value, 0, e.count)
	for j := v.i + 1; j < e.next; j = v.t.entries[j].next {
		out = append(out, Value{v.t, j})
	}
	return out
}

// Members returns the members of an object (nil for other kinds).
func (v Value) Members() []Member {
	e := v.e()
	if e == nil || e.kind != Object {
		return nil
	}
	out := make([]Member, 0, e.count)
	for j := v.i + 1; j < e.next; {
		out = append(out, Member{Key: v.t.str(&v.t.entries[j]), Value: Value{v.t, j + 1}})
		j = v.t.entries[j+1].next
	}
	return out
}

// raw is the literal text of a string (without quotes, escapes undecoded)
// or number.
func (t *tape) raw(e *entry) string {
	if e.end <= e.start {
		return ""
	}
	return unsafe.String(&t.src[e.start], int(e.end-e.start))
}

func (t *tape) str(e *entry) string {
	if !e.escaped {
		return t.raw(e)
	}
	s, _ := unescape(t.src[e.start:e.end])
	return s
}

// Str returns a string value; numbers and booleans are rendered as text, so
// YAML authors who wrote `expect: 250` still get "250". Null gives "".
func (v Value) Str() string {
	e := v.e()
	if e == nil {
		return ""
	}
	switch e.kind {
	case String:
		return v.t.str(e)
	case Number:
		return v.t.raw(e)
	case Bool:
		return strconv.FormatBool(e.truth)
	}
	return ""
}

// StrOr returns Str, or def when the value is missing or null.
func (v Value) StrOr(def string) string {
	if v.Kind() == Null {
		return def
	}
	return v.Str()
}

func (v Value) numText() (string, bool) {
	e := v.e()
	if e == nil {
		return "", false
	}
	switch e.kind {
	case Number:
		return v.t.raw(e), true
	case String:
		return v.t.str(e), true
	}
	return "", false
}

// Float returns a number (or a numeric string) as float64; 0 otherwise.
func (v Value) Float() float64 {
	if s, ok := v.numText(); ok {
		if f, ok := parseFloatFast(s); ok {
			return f
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	if e := v.e(); e != nil && e.kind == Bool && e.truth {
		return 1
	}
	return 0
}

// Int returns a number (or a numeric string) as int64, truncating fractions.
func (v Value) Int() int64 {
	if s, ok := v.numText(); ok {
		if i, ok := parseIntFast(s); ok {
			return i
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f := v.Float(); f >= math.MinInt64 && f <= math.MaxInt64 {
			return int64(f)
		}
	}
	if e := v.e(); e != nil && e.kind == Bool && e.truth {
		return 1
	}
	return 0
}

// Uint returns a number as uint64, exact for the full range (SNMP Counter64).
func (v Value) Uint() uint64 {
	if s, ok := v.numText(); ok {
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
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
	if v.Kind() == Null {
		return def
	}
	return v.Int()
}

// Truthy interprets booleans the way APMonitor configs write them:
// true/yes/on/ok/y/1 (any case) are true; anything else is false.
func (v Value) Truthy() bool {
	e := v.e()
	if e == nil {
		return false
	}
	switch e.kind {
	case Bool:
		return e.truth
	case Number:
		return v.Float() != 0
	case String:
		switch lower(v.t.str(e)) {
		case "true", "yes", "on", "ok", "1", "y":
			return true
		}
	}
	return false
}

// BoolOr returns Truthy, or def when the value is missing or null.
func (v Value) BoolOr(def bool) bool {
	if v.Kind() == Null {
		return def
	}
	return v.Truthy()
}

// Strings returns an array of strings (non-strings rendered with Str).
func (v Value) Strings() []string {
	arr := v.Array()
	if arr == nil {
		return nil
	}
	out := make([]string, len(arr))
	for i, e := range arr {
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

// Source returns the value's text exactly as it appears in the parsed
// document (a view: do not modify it), or nil for a missing value. Strings
// include their quotes.
func (v Value) Source() []byte {
	e := v.e()
	if e == nil {
		return nil
	}
	switch e.kind {
	case Object, Array, Number:
		return v.t.src[e.start:e.end:e.end]
	case String:
		return v.t.src[e.start-1 : e.end+1 : e.end+1]
	case Bool:
		if e.truth {
			return []byte("true")
		}
		return []byte("false")
	}
	return []byte("null")
}

// Interface converts the value to plain Go values the way encoding/json
// does: nil, bool, float64, string, []any and map[string]any.
func (v Value) Interface() any {
	e := v.e()
	if e == nil {
		return nil
	}
	switch e.kind {
	case Bool:
		return e.truth
	case Number:
		return v.Float()
	case String:
		return v.t.str(e)
	case Array:
		out := make([]any, 0, e.count)
		for j := v.i + 1; j < e.next; j = v.t.entries[j].next {
			out = append(out, Value{v.t, j}.Interface())
		}
		return out
	case Object:
		out := make(map[string]any, e.count)
		for j := v.i + 1; j < e.next; {
			out[v.t.str(&v.t.entries[j])] = Value{v.t, j + 1}.Interface()
			j = v.t.entries[j+1].next
		}
		return out
	}
	return nil
}

// All iterates over the members of an object in document order, without
// allocating (nothing for other kinds).
func (v Value) All() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		e := v.e()
		if e == nil || e.kind != Object {
			return
		}
		for j := v.i + 1; j < e.next; {
			if !yield(v.t.str(&v.t.entries[j]), Value{v.t, j + 1}) {
				return
			}
			j = v.t.entries[j+1].next
		}
	}
}

// Iter walks the members of an object in document order, like All but
// without a function call per member, which matters in wasm when a reader
// dispatches on a dozen keys:
//
//	for it := v.Iter(); it.Next(); {
//		switch it.Key() { ... it.Value() ... }
//	}
type Iter struct {
	t      *tape
	j, end int32 // the next key's entry; the object's next
	key    string
	val    Value
}

// Iter returns an iterator over v's members (none unless v is an object).
func (v Value) Iter() Iter {
	e := v.e()
	if e == nil || e.kind != Object {
		return Iter{}
	}
	return Iter{t: v.t, j: v.i + 1, end: e.next}
}

// Next advances to the next member and reports whether there is one.
func (it *Iter) Next() bool {
	if it.j >= it.end {
		return false
	}
	k := &it.t.entries[it.j]
	it.key = it.t.str(k)
	it.val = Value{it.t, it.j + 1}
	it.j = it.t.entries[it.j+1].next
	return true
}

// Key is the current member's key.
func (it *Iter) Key() string { return it.key }

// Value is the current member's value.
func (it *Iter) Value() Value { return it.val }

// Each calls f for every member of an object in document order, without
// allocating; f returns false to stop.
func (v Value) Each(f func(key string, val Value) bool) {
	for key, val := range v.All() {
		if !f(key, val) {
			return
		}
	}
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
// else after the value is an error. The returned Value refers to data.
//
// The parser is one loop with an explicit stack rather than recursive
// descent, and keeps its position and tape in local variables: function
// calls and memory traffic are expensive in Go's wasm code, and a check
// input has a dozen values.
func Parse(data []byte) (Value, error) {
	// Roughly one entry per 6 bytes of typical JSON; append grows it if not.
	// A small document's tape and entries are one allocation.
	var t *tape
	switch n := len(data)/6 + 4; {
	case n <= len(tape16{}.buf):
		st := &tape16{}
		st.t.entries = st.buf[:0]
		t = &st.t
	case n <= len(tape32{}.buf):
		st := &tape32{}
		st.t.entries = st.buf[:0]
		t = &st.t
	case len(data) > math.MaxInt32:
		t = &tape{} // fill refuses it
	default:
		t = &tape{entries: make([]entry, 0, n)}
	}
	return t.fill(data)
}

// copy16, copy32 and copy64 hold a small document's text with its tape:
// the single allocation of ParseCopy and Clone (small), sized for an
// operation's result, a check's input with a short config, and one with a
// longer config.
type copy16 struct {
	t    tape
	buf  [16]entry
	text [128]byte
}

type copy32 struct {
	t    tape
	buf  [32]entry
	text [320]byte
}

type copy64 struct {
	t    tape
	buf  [64]entry
	text [768]byte
}

// ParseCopy is Parse of a copy of data, for a caller that reuses data's
// buffer (a scratch buffer the host writes into): the Value refers to the
// copy. A small document's copy and its tape are one allocation.
func ParseCopy(data []byte) (Value, error) {
	if t, text, ok := small(0, len(data)); ok {
		return t.fill(text[:copy(text, data)])
	}
	return Parse(append([]byte(nil), data...))
}

// small returns a tape of n entries (room for more up to its class) and m
// bytes of text in one allocation, the smallest of copy16, copy32 and
// copy64 that holds both; false when none does.
func small(n, m int) (*tape, []byte, bool) {
	switch {
	case n <= len(copy16{}.buf) && m <= len(copy16{}.text):
		st := &copy16{}
		st.t.entries = st.buf[:n]
		return &st.t, st.text[:m], true
	case n <= len(copy32{}.buf) && m <= len(copy32{}.text):
		st := &copy32{}
		st.t.entries = st.buf[:n]
		return &st.t, st.text[:m], true
	case n <= len(copy64{}.buf) && m <= len(copy64{}.text):
		st := &copy64{}
		st.t.entries = st.buf[:n]
		return &st.t, st.text[:m], true
	}
	return nil, nil, false
}

// Doc is reusable storage for the tapes of documents that are read and
// dropped one after another (a check's input, an operation's result): its
// Parse allocates no tape. A Value from d, and every Value reached from it,
// is valid until d parses again; strings read from them are views of the
// parsed text, so they stay valid as long as that text does (always, with
// ParseCopy). Use Clone to keep a Value longer. A Doc must not be copied
// after use, nor used by two goroutines at once.
type Doc struct {
	t   tape
	buf [64]entry
}

// Parse parses data onto d's tape; the Value refers to data.
func (d *Doc) Parse(data []byte) (Value, error) {
	d.t.entries = d.buf[:0] // a tape grown for a large document is not kept
	return d.t.fill(data)
}

// ParseCopy is Parse of a copy of data, made in one allocation without
// pointers: the caller may reuse data, and strings read from the Values stay
// valid after d parses again.
func (d *Doc) ParseCopy(data []byte) (Value, error) {
	return d.Parse(append(make([]byte, 0, len(data)), data...))
}

// Clone returns a copy of v that shares nothing with v's document: its own
// text and tape (one allocation for small values), so it stays valid when
// the document's storage is reused (a Doc, a buffer the caller overwrites).
// Null, booleans and empty containers cost no allocation.
func (v Value) Clone() Value {
	e := v.e()
	if e == nil {
		return Value{}
	}
	switch {
	case e.kind == Null:
		return literals[0]
	case e.kind == Bool && e.truth:
		return literals[1]
	case e.kind == Bool:
		return literals[2]
	case e.kind == Object && e.count == 0:
		return literals[3]
	case e.kind == Array && e.count == 0:
		return literals[4]
	}
	src := v.Source()
	base := e.start // strings: the text starts at the opening quote
	if e.kind == String {
		base--
	}
	ents := v.t.entries[v.i:e.next]
	t, text, ok := small(len(ents), len(src))
	if !ok {
		t, text = &tape{entries: make([]entry, len(ents))}, make([]byte, len(src))
	}
	copy(text, src)
	t.src = text
	for i, x := range ents {
		x.next -= v.i
		if x.kind != Null && x.kind != Bool { // literals point at no text
			x.start -= base
			x.end -= base
		}
		t.entries[i] = x
	}
	return Value{t, 0}
}

// literals are the Values Clone shares: null, true, false, {} and [].
var literals = func() (vs [5]Value) {
	for i, s := range []string{"null", "true", "false", "{}", "[]"} {
		v, err := Parse([]byte(s))
		if err != nil {
			panic(err)
		}
		vs[i] = v
	}
	return vs
}()

// tempTapes recycles the tapes of ParseTemp.
var tempTapes = sync.Pool{New: func() any { return &tape{temp: true, entries: make([]entry, 0, 64)} }}

// ParseTemp is Parse with a recycled tape, for documents read once and
// dropped (a request decoded into a struct, a result converted to Go
// values): call Release on the returned Value when done with it, after
// which neither it nor any Value reached from it may be used. Strings
// already read from it stay valid: they are views of data or copies, never
// of the tape.
func ParseTemp(data []byte) (Value, error) {
	return tempTapes.Get().(*tape).fill(data)
}

// fill parses data onto t, whose entries are empty; on failure a recycled
// tape goes back to its pool.
func (t *tape) fill(data []byte) (Value, error) {
	var err error
	if len(data) > math.MaxInt32 {
		err = &parseError{msg: "document too large", off: 0}
	} else {
		t.src = data
		if !t.indexInto(data) {
			t.entries, err = parse(data, t.entries[:0])
		}
	}
	if err != nil {
		if t.temp {
			t.release()
		}
		return Value{}, err
	}
	return Value{t, 0}, nil
}

// Release returns the tape of a Value from ParseTemp for reuse; for any
// other Value it does nothing.
func (v Value) Release() {
	if v.t != nil && v.t.temp {
		v.t.release()
	}
}

func (t *tape) release() {
	t.src = nil
	if cap(t.entries) > 1024 {
		return // let an outsized tape go
	}
	t.entries = t.entries[:0] // entries hold no pointers: nothing to clear
	tempTapes.Put(t)
}

func fail(msg string, off int) error { return &parseError{msg: msg, off: off} }

// Parser states.
const (
	stValue      = iota // a value must come
	stKeyOrEnd          // just after '{'
	stKey               // after ',' in an object
	stValueOrEnd        // just after '['
	stAfter             // a value just ended
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parse appends the entries of the document data to ents. A leaf's next is
// the following index; a container's next and end are set when it closes.
func parse(data []byte, ents []entry) ([]entry, error) {
	return parseMax(data, ents, math.MaxInt)
}

// parseMax is parse that gives up with ErrTooMany once ents would hold
// more than max entries.
func parseMax(data []byte, ents []entry, max int) ([]entry, error) {
	var stackBuf [32]int32
	stack := stackBuf[:0]
	n := len(data)
	i := 0
	state := stValue
	for {
		for i < n && isSpace(data[i]) {
			i++
		}
		switch state {
		case stKeyOrEnd, stKey:
			if state == stKeyOrEnd && i < n && data[i] == '}' {
				i++
				closeAt(ents, stack[len(stack)-1], i)
				stack = stack[:len(stack)-1]
				state = stAfter
				continue
			}
			if i >= n || data[i] != '"' {
				return ents, fail("expected object key", i)
			}
			if len(ents) >= max {
				return ents, ErrTooMany
			}
			end, escaped, err := scanString(data, i)
			if err != nil {
				return ents, err
			}
			ents = append(ents, entry{kind: String, escaped: escaped, start: int32(i + 1), end: int32(end), next: int32(len(ents) + 1)})
			i = end + 1
			for i < n && isSpace(data[i]) {
				i++
			}
			if i >= n || data[i] != ':' {
				return ents, fail("expected ':'", i)
			}
			i++
			state = stValue
		case stValueOrEnd:
			if i < n && data[i] == ']' {
				i++
				closeAt(ents, stack[len(stack)-1], i)
				stack = stack[:len(stack)-1]
				state = stAfter
				continue
			}
			state = stValue
		case stValue:
			if i >= n {
				return ents, fail("unexpected end of input", i)
			}
			if len(ents) >= max {
				return ents, ErrTooMany
			}
			switch c := data[i]; {
			case c == '{' || c == '[':
				if len(stack) >= maxDepth {
					return ents, fail("nesting too deep", i)
				}
				kind, next := Object, stKeyOrEnd
				if c == '[' {
					kind, next = Array, stValueOrEnd
				}
				stack = append(stack, int32(len(ents)))
				ents = append(ents, entry{kind: kind, start: int32(i)})
				i++
				state = next
				continue
			case c == '"':
				end, escaped, err := scanString(data, i)
				if err != nil {
					return ents, err
				}
				ents = append(ents, entry{kind: String, escaped: escaped, start: int32(i + 1), end: int32(end), next: int32(len(ents) + 1)})
				i = end + 1
			case c == '-' || (c >= '0' && c <= '9'):
				end, err := scanNumber(data, i)
				if err != nil {
					return ents, err
				}
				ents = append(ents, entry{kind: Number, start: int32(i), end: int32(end), next: int32(len(ents) + 1)})
				i = end
			case c == 't' || c == 'f' || c == 'n':
				e, word := entry{kind: Null}, "null"
				if c == 't' {
					e, word = entry{kind: Bool, truth: true}, "true"
				} else if c == 'f' {
					e, word = entry{kind: Bool}, "false"
				}
				if n-i < len(word) || string(data[i:i+len(word)]) != word {
					return ents, fail("invalid literal", i)
				}
				i += len(word)
				e.next = int32(len(ents) + 1)
				ents = append(ents, e)
			default:
				return ents, fail("unexpected character "+strconv.QuoteRune(rune(c)), i)
			}
			state = stAfter
		case stAfter:
			if len(stack) == 0 {
				if i != n {
					return ents, fail("unexpected data after value", i)
				}
				return ents, nil
			}
			at := stack[len(stack)-1]
			top := &ents[at]
			top.count++
			if i >= n {
				return ents, fail("unexpected end of input", i)
			}
			switch data[i] {
			case ',':
				i++
				if top.kind == Object {
					state = stKey
				} else {
					state = stValue
				}
			case '}', ']':
				if (data[i] == '}') != (top.kind == Object) {
					if top.kind == Object {
						return ents, fail("expected ',' or '}'", i)
					}
					return ents, fail("expected ',' or ']'", i)
				}
				i++
				closeAt(ents, at, i)
				stack = stack[:len(stack)-1]
			default:
				if top.kind == Object {
					return ents, fail("expected ',' or '}'", i)
				}
				return ents, fail("expected ',' or ']'", i)
			}
		}
	}
}

// closeAt ends the container at entry at; its closing bracket ends just
// before end.
func closeAt(ents []entry, at int32, end int) {
	e := &ents[at]
	e.end = int32(end)
	e.next = int32(len(ents))
}

// scanNumber returns the end of the number starting at data[i].
func scanNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	if i < len(data) && data[i] == '0' {
		i++ // a leading zero stands alone
	} else {
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, fail("invalid number", i)
		}
	}
	if i < len(data) && data[i] == '.' {
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, fail("invalid number", i)
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, fail("invalid number", i)
		}
	}
	return i, nil
}

// scanString returns the index of the closing quote of the string whose
// opening quote is data[q], and whether it holds escapes (validated here,
// decoded when the string is read). Runs of plain bytes are skipped a word
// at a time.
func scanString(data []byte, q int) (end int, escaped bool, err error) {
	i := q + 1
	for i < len(data) {
		i += wordRun(data, i, 0)
		for stop := min(i+8, len(data)); i < stop; {
			c := data[i]
			switch {
			case c == '"':
				return i, escaped, nil
			case c < 0x20:
				return i, escaped, fail("control character in string", i)
			case c == '\\':
				escaped = true
				i++
				if i >= len(data) {
					return i, escaped, fail("unexpected end of input", i)
				}
				switch data[i] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i++
				case 'u':
					if _, ok := hex4(data[i+1:]); !ok {
						return i, escaped, fail("invalid \\u escape", i)
					}
					i += 5
				default:
					return i, escaped, fail("invalid escape", i)
				}
			default:
				i++
			}
		}
	}
	return i, escaped, fail("unterminated string", i)
}

// unescape decodes the inside of a validated JSON string.
func unescape(b []byte) (string, bool) {
	buf := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		i++
		if i >= len(b) {
			return string(buf), false
		}
		e := b[i]
		i++
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
			r, ok := hex4(b[i:])
			if !ok {
				return string(buf), false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if x, ok := hex4(b[i+2:]); ok {
						r2 = x
						i += 6
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		}
	}
	return string(buf), true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
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
	return r, true
}
