package zjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseAccessors(t *testing.T) {
	doc := `{"check_id": 42, "name": "web \"1\"", "big": 18446744073709551615, "neg": -3,
	 "f": 1.5e2, "ok": true, "no": "No", "yes": "YES", "one": 1, "nil": null,
	 "list": ["a", 2, false], "nested": {"deep": {"x": "\u00e9\ud83d\ude00\n"}}}`
	v, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"int", v.Get("check_id").Int(), int64(42)},
		{"string escape", v.Get("name").Str(), `web "1"`},
		{"uint64 max exact", v.Get("big").Uint(), uint64(math.MaxUint64)},
		{"negative", v.Get("neg").Int(), int64(-3)},
		{"float exp", v.Get("f").Float(), 150.0},
		{"int of float", v.Get("f").Int(), int64(150)},
		{"bool", v.Get("ok").Truthy(), true},
		{"No is false", v.Get("no").Truthy(), false},
		{"YES is true", v.Get("yes").Truthy(), true},
		{"1 is true", v.Get("one").Truthy(), true},
		{"null exists", v.Get("nil").Exists(), true},
		{"null is null", v.Get("nil").IsNull(), true},
		{"missing", v.Get("missing").Exists(), false},
		{"missing default", v.Get("missing").StrOr("d"), "d"},
		{"missing int default", v.Get("missing").IntOr(7), int64(7)},
		{"array len", v.Get("list").Len(), 3},
		{"array strings", v.Get("list").Strings(), []string{"a", "2", "false"}},
		{"index out of range", v.Get("list").Index(9).Exists(), false},
		{"path", v.Path("nested", "deep", "x").Str(), "é😀\n"},
		{"number as string", v.Get("check_id").Str(), "42"},
		{"kind", v.Get("list").Kind().String(), "array"},
		{"bool default when missing", v.Get("missing").BoolOr(true), true},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `tru`, `"abc`, `01x`, `-`, `1.`, `1e`, `{"a":1}x`,
		"\"a\x01\"", `"\x"`, `"\u12"`, `{1:2}`, strings.Repeat("[", 1000) + strings.Repeat("]", 1000)} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	var w Writer
	w.ObjectStart()
	w.Key("status")
	w.String("up")
	w.Key("latency_ms")
	w.Float(1.25)
	w.Key("nan")
	w.Float(math.NaN())
	w.Key("metrics")
	w.ArrayStart()
	w.ObjectStart()
	w.Key("name")
	w.String("rtt")
	w.Key("value")
	w.Int(-7)
	w.ObjectEnd()
	w.Uint(math.MaxUint64)
	w.ArrayEnd()
	w.Key("fields")
	w.Any(map[string]any{"b": []string{"x"}, "a": nil, "c": map[string]string{"k": "v"}, "d": true, "e": 3})
	w.Key("raw")
	w.Raw([]byte(`{"x":[1,2]}`))
	w.Key("esc")
	w.String("q\"\\\n\t\x01é\u2028\xff")
	w.ObjectEnd()
	want := `{"status":"up","latency_ms":1.25,"nan":null,"metrics":[{"name":"rtt","value":-7},18446744073709551615],` +
		`"fields":{"a":null,"b":["x"],"c":{"k":"v"},"d":true,"e":3},"raw":{"x":[1,2]},"esc":"q\"\\\n\t\u0001é\u2028` + "\ufffd\"}"
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if !json.Valid(w.Bytes()) {
		t.Fatal("writer output is not valid JSON")
	}
	v, err := Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(v.Raw()); got != want {
		t.Fatalf("re-encode differs:\n%s\n%s", got, want)
	}
}

// FuzzParse checks that Parse never panics, agrees with encoding/json on
// validity, and that what it parses re-encodes to an equivalent document.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"\u00e9"}`, `-1.5e-3`, `"\ud83d\ude00"`, `[true,false,null]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		valid := json.Valid(data)
		if (err == nil) != valid {
			// zjson caps nesting depth; encoding/json allows deeper documents.
			if !(valid && err != nil && strings.Contains(err.Error(), "too deep")) {
				t.Fatalf("Parse err=%v but json.Valid=%v for %q", err, valid, data)
			}
		}
		// The host's index of the document agrees with the parse: an
		// error for the same documents, else the same tape.
		buf := make([]byte, (len(data)+2)*IndexRecordSize)
		n, ierr := Index(data, buf)
		if (ierr == nil) != (err == nil) {
			t.Fatalf("Index err=%v, Parse err=%v for %q", ierr, err, data)
		}
		if err != nil {
			return
		}
		if got := decodeRecords(buf[:n*IndexRecordSize]); !reflect.DeepEqual(got, v.t.entries) {
			t.Fatalf("index of %q\n%+v\nwant the tape\n%+v", data, got, v.t.entries)
		}
		decode := func(in []byte) (any, error) {
			d := json.NewDecoder(bytes.NewReader(in))
			d.UseNumber()
			var x any
			return x, d.Decode(&x)
		}
		a, err := decode(data)
		if err != nil {
			t.Fatal(err)
		}
		out := v.Raw()
		b, err := decode(out)
		if err != nil {
			t.Fatalf("re-encoded output invalid: %q from %q", out, data)
		}
		if !reflect.DeepEqual(a, b) && !bytes.Contains(data, []byte(`\u`)) {
			t.Fatalf("round trip differs: %q -> %q", data, out)
		}
		// Clone, of the document and of each value (and key) in it, gives
		// the same value with the same text, but for the blanks inside an
		// empty container.
		for i := range v.t.entries {
			x := Value{v.t, int32(i)}
			c := x.Clone()
			same := bytes.Equal(c.Source(), x.Source()) || x.Len() == 0 && (x.Kind() == Object || x.Kind() == Array)
			if !same || !reflect.DeepEqual(c.Interface(), x.Interface()) {
				t.Fatalf("Clone of entry %d of %q: %q, want %q", i, data, c.Source(), x.Source())
			}
		}
	})
}

func BenchmarkParseCheckInput(b *testing.B) {
	in := []byte(`{"check_id":12345,"name":"mysql-db","type":"tcp","target":"tcp://192.168.1.100:3306","timeout_ms":20000,"config":{"type":"tcp","name":"mysql-db","address":"tcp://192.168.1.100:3306","check_every_n_secs":30},"attempt":1}`)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSourceInterfaceEach(t *testing.T) {
	v, err := Parse([]byte(` {"a": [1, "x\n", {"b": null}], "s": "q\"", "n": -1.5e3, "t": true} `))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": `[1, "x\n", {"b": null}]`, "s": `"q\""`, "n": `-1.5e3`, "t": "true"} {
		if got := string(v.Get(key).Source()); got != want {
			t.Errorf("Source(%s) = %s, want %s", key, got, want)
		}
	}
	want := map[string]any{"a": []any{1.0, "x\n", map[string]any{"b": nil}}, "s": `q"`, "n": -1500.0, "t": true}
	if got := v.Interface(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Interface = %#v", got)
	}
	var keys []string
	v.Each(func(k string, _ Value) bool { keys = append(keys, k); return k != "n" })
	if strings.Join(keys, ",") != "a,s,n" {
		t.Fatalf("Each keys %v", keys)
	}
}

func TestWriterAnyKinds(t *testing.T) {
	type inner struct {
		A int    `json:"a"`
		B string `json:"-"`
		C []int
		d int
	}
	n := 5
	var w Writer
	w.Any(map[string]any{
		"ints": []int{1, 2}, "i64": []int64{3}, "bools": []bool{true}, "mf": map[string]float64{"x": 1.5},
		"mi": map[string]int{"y": 2}, "mb": map[string]bool{"z": false}, "maps": []map[string]any{{"k": "v"}},
		"err": errors.New("boom"), "struct": inner{A: 1, B: "hidden", C: []int{7}, d: 9}, "ptr": &n, "nilptr": (*int)(nil),
		"u16": []uint16{4}, "mstr": map[string][]string{"l": {"a"}}, "chan": make(chan int),
	})
	want := `{"bools":[true],"chan":"<unsupported type chan int>","err":"boom","i64":[3],"ints":[1,2],"maps":[{"k":"v"}],"mb":{"z":false},"mf":{"x":1.5},"mi":{"y":2},"mstr":{"l":["a"]},"nilptr":null,"ptr":5,"struct":{"a":1,"C":[7]},"u16":[4]}`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestParseTemp reuses tapes: strings read before Release stay valid after
// the tape parses another document, and values read afterwards are the
// new document's.
func TestParseTemp(t *testing.T) {
	a := []byte(`{"s":"first","esc":"a\nb","n":[1,2,3]}`)
	v, err := ParseTemp(a)
	if err != nil {
		t.Fatal(err)
	}
	s, esc := v.Get("s").Str(), v.Get("esc").Str()
	v.Release()
	for i := range 50 {
		w, err := ParseTemp([]byte(`{"s":"second","x":[{"y":` + strconv.Itoa(i) + `}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Path("x").Index(0).Get("y").Int(); got != int64(i) || w.Get("s").Str() != "second" {
			t.Fatalf("reused tape read %d, %q", got, w.Get("s").Str())
		}
		w.Release()
	}
	if s != "first" || esc != "a\nb" {
		t.Fatalf("strings read before Release changed: %q %q", s, esc)
	}
	if _, err := ParseTemp([]byte(`{"bad"`)); err == nil {
		t.Fatal("ParseTemp accepted a broken document")
	}
	p, _ := Parse([]byte(`{"k":"v"}`))
	p.Release() // not from ParseTemp: nothing happens
	if p.Get("k").Str() != "v" {
		t.Fatal("Release changed a Value from Parse")
	}
}

// TestParseCopy holds ParseCopy to Parse at every size it stores
// differently (each inline class, either side of its limits, and the heap),
// and checks that the Value no longer depends on the caller's buffer.
func TestParseCopy(t *testing.T) {
	doc := func(n int) []byte { // a valid object of exactly n bytes (n >= 8)
		return []byte(`{"s":"` + strings.Repeat("x", n-8) + `"}`)
	}
	many := `[` + strings.Repeat(`1,`, 99) + `1]` // 100 values in 201 bytes: more than a class's tape holds
	tests := []struct {
		name string
		in   []byte
	}{
		{"tiny", []byte(`{"a":1}`)},
		{"first class, full", doc(128)},
		{"second class, smallest", doc(129)},
		{"second class, full", doc(320)},
		{"third class, smallest", doc(321)},
		{"third class, full", doc(768)},
		{"heap", doc(769)},
		{"more values than the class's tape", []byte(many)},
		{"escapes and nesting", []byte(`{"e":"a\nb\u00e9","o":{"l":[true,null,-1.5e3]}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := append([]byte(nil), tt.in...)
			got, err := ParseCopy(buf)
			if err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				buf[i] = ' ' // the caller reuses its buffer
			}
			want, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := got.Interface(), want.Interface(); !reflect.DeepEqual(g, w) {
				t.Fatalf("ParseCopy gave %v, Parse %v", g, w)
			}
			if !bytes.Equal(got.Source(), tt.in) {
				t.Fatalf("source %q, want %q", got.Source(), tt.in)
			}
		})
	}
	for _, bad := range []string{`{"bad"`, strings.Repeat(" ", 400) + `[`, `{"x":1}` + strings.Repeat(" ", 900) + `x`} {
		if _, err := ParseCopy([]byte(bad)); err == nil {
			t.Errorf("ParseCopy accepted %.20q", bad)
		}
	}
}

func TestAll(t *testing.T) {
	v, err := Parse([]byte(`{"a":1,"b":{"x":true},"c":"s","d":null}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, val := range v.All() {
		got = append(got, k+"="+string(val.Source()))
		if k == "c" {
			break
		}
	}
	if want := `a=1 b={"x":true} c="s"`; strings.Join(got, " ") != want {
		t.Fatalf("All = %v, want %s", got, want)
	}
	for range v.Get("a").All() {
		t.Fatal("All of a number yielded a member")
	}
}

// TestIter: Iter walks what All walks, escaped keys decoded, and nothing
// of a value that is not an object.
func TestIter(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"b":{"x":[1,2]},"c\n":"s","d":null}`, `a=1 b={"x":[1,2]} c` + "\n" + `="s" d=null`},
		{`{}`, ``},
		{`[1,2]`, ``},
		{`"s"`, ``},
	}
	for _, tt := range tests {
		v, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		var got, all []string
		for it := v.Iter(); it.Next(); {
			got = append(got, it.Key()+"="+string(it.Value().Source()))
		}
		for k, val := range v.All() {
			all = append(all, k+"="+string(val.Source()))
		}
		if g := strings.Join(got, " "); g != tt.want || g != strings.Join(all, " ") {
			t.Errorf("Iter of %s = %q, want %q (All: %q)", tt.in, g, tt.want, all)
		}
	}
	var missing Value
	if it := missing.Iter(); it.Next() {
		t.Error("Iter of a missing value yielded a member")
	}
}

// TestPutKey: a key encoded once with NewKey writes what Key writes, comma
// and escapes included.
func TestPutKey(t *testing.T) {
	for _, k := range []string{"status", "", `q"uote`, "back\\slash", "ctl\x01", "é\u2028", "bad\xff"} {
		var a, b Writer
		for _, w := range []*Writer{&a, &b} {
			w.ObjectStart()
			w.Key("first")
			w.Int(1)
		}
		a.Key(k)
		b.PutKey(NewKey(k))
		a.Int(2)
		b.Int(2)
		a.ObjectEnd()
		b.ObjectEnd()
		if string(a.Bytes()) != string(b.Bytes()) {
			t.Errorf("PutKey(NewKey(%q)) wrote %s, Key %s", k, b.Bytes(), a.Bytes())
		}
	}
}

func TestClone(t *testing.T) {
	const doc = `{"s":"a\"b","n":-1.5e3,"t":true,"f":false,"z":null,"e":{},"a":[],` +
		`"o":{"k":[1,{"x":"y"},null,true],"u":"\u00e9"},"l":[` + `"` + "0123456789abcdefghij" + `",2,3]}`
	tests := []struct {
		name, path string
		allocs     float64 // Clone's allocations
	}{
		{"whole document", "", 1},
		{"escaped string", "s", 1},
		{"number", "n", 1},
		{"true", "t", 0},
		{"false", "f", 0},
		{"null", "z", 0},
		{"empty object", "e", 0},
		{"empty array", "a", 0},
		{"nested object", "o", 1},
		{"array", "l", 1},
		{"missing", "nope", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(doc)
			var d Doc
			root, err := d.Parse(buf)
			if err != nil {
				t.Fatal(err)
			}
			v := root
			if tt.path != "" {
				v = root.Get(tt.path)
			}
			ref, err := Parse([]byte(doc)) // the oracle, in text nobody reuses
			if err != nil {
				t.Fatal(err)
			}
			if tt.path != "" {
				ref = ref.Get(tt.path)
			}
			want, wantSrc, wantExists := ref.Interface(), string(ref.Source()), ref.Exists()
			got := v.Clone()
			if a := testing.AllocsPerRun(20, func() { v.Clone() }); a != tt.allocs {
				t.Errorf("Clone made %v allocations, want %v", a, tt.allocs)
			}
			for i := range buf { // the document's text and tape are reused
				buf[i] = ' '
			}
			if _, err := d.Parse([]byte(`[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]`)); err != nil {
				t.Fatal(err)
			}
			if g := got.Interface(); !reflect.DeepEqual(g, want) {
				t.Fatalf("clone is %#v, want %#v", g, want)
			}
			if g := string(got.Source()); g != wantSrc || got.Exists() != wantExists {
				t.Fatalf("clone's source %q (exists %v), want %q (%v)", g, got.Exists(), wantSrc, wantExists)
			}
		})
	}
	// A value larger than the one-allocation classes.
	big := `{"k":[` + strings.Repeat(`"abcdefgh",`, 60) + `1]}`
	v, err := Parse([]byte(big))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Get("k").Clone(); got.Len() != 61 || got.Index(59).Str() != "abcdefgh" || got.Index(60).Int() != 1 {
		t.Fatalf("large clone: len %d, [59] %q, [60] %d", got.Len(), got.Index(59).Str(), got.Index(60).Int())
	}
}

func TestDoc(t *testing.T) {
	var d Doc
	buf := []byte(`{"name":"web","port":443}`)
	v, err := d.ParseCopy(buf)
	if err != nil {
		t.Fatal(err)
	}
	name := v.Get("name").Str()
	copy(buf, `{"name":"xxx","port":111}`)
	// A document larger than the Doc's own tape, then a small one again.
	if _, err := d.Parse([]byte(`[` + strings.Repeat(`1,`, 99) + `1]`)); err != nil {
		t.Fatal(err)
	}
	if name != "web" {
		t.Fatalf("string from ParseCopy changed to %q when the caller reused its buffer", name)
	}
	v, err = d.Parse([]byte(`{"a":[1,2]}`))
	if err != nil || v.Get("a").Index(1).Int() != 2 {
		t.Fatalf("after a large document: %v, %v", v.Get("a").Interface(), err)
	}
	if _, err := d.Parse([]byte(`{"a":`)); err == nil {
		t.Fatal("Parse accepted a truncated document")
	}
	if a := testing.AllocsPerRun(20, func() { d.Parse(buf) }); a != 0 {
		t.Errorf("Doc.Parse made %v allocations", a)
	}
}

// BenchmarkAppendString writes the strings of a typical check result: most
// are short plain ASCII.
func BenchmarkAppendString(b *testing.B) {
	strs := []string{"up", "connected to 127.0.0.1:36137 in 0.216 ms", "connect_ms", "ms", "remote", "127.0.0.1:36137", "tcp://127.0.0.1:36137"}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, s := range strs {
			buf = AppendString(buf, s)
		}
	}
}
