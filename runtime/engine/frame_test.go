package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// frameBuilder writes result frames by hand, for frames no SDK writes
// (the SDK's encoder is tested against ResultFromModule in sdk/go).
type frameBuilder struct {
	status, class, flags byte
	message              string
	latency              float64
	metrics              [][]byte
	fields               [][]byte
	rest                 string
	counts               *[2]uint32 // overrides the metric and field counts
	tail                 []byte     // appended after the frame
}

func (f frameBuilder) bytes() []byte {
	le := binary.LittleEndian
	b := []byte{frameVersion, f.status, f.class, f.flags}
	b = le.AppendUint32(b, uint32(len(f.message)))
	b = le.AppendUint64(b, math.Float64bits(f.latency))
	nm, nf := uint32(len(f.metrics)), uint32(len(f.fields))
	if f.counts != nil {
		nm, nf = f.counts[0], f.counts[1]
	}
	b = le.AppendUint32(b, nm)
	b = le.AppendUint32(b, nf)
	b = le.AppendUint32(b, uint32(len(f.rest)))
	b = append(b, f.message...)
	for _, m := range f.metrics {
		b = append(b, m...)
	}
	for _, x := range f.fields {
		b = append(b, x...)
	}
	b = append(b, f.rest...)
	return append(b, f.tail...)
}

func fstr(s string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func fnum(x float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestResultFrame(t *testing.T) {
	req := check.Request{Name: "m", Type: "tcp", Target: "tcp://h:1"}
	metric := cat(fstr("connect_ms"), fnum(0.25), fstr("ms"))
	tests := []struct {
		name  string
		frame []byte
		want  check.Result // Name, Type, Target and Started are filled in
		err   string       // else: the error result's message contains this
	}{
		{
			name: "everything",
			frame: frameBuilder{
				status: 3, class: 2, flags: 1, message: "refused\nnow", latency: 1.5,
				metrics: [][]byte{metric},
				fields: [][]byte{
					cat(fstr("s"), []byte{kindString}, fstr("x")),
					cat(fstr("n"), []byte{kindNumber}, fnum(200)),
					cat(fstr("t"), []byte{kindTrue}),
					cat(fstr("f"), []byte{kindFalse}),
					cat(fstr("z"), []byte{kindNull}),
					cat(fstr("j"), []byte{kindJSON}, fstr(`{"a":[1,"b"]}`)),
					cat(fstr("nan"), []byte{kindNumber}, fnum(math.NaN())),
					cat(fstr("s"), []byte{kindString}, fstr("last wins")),
				},
				rest: `{"state":{"k":1},"events":[{"title":"T","message":"M","key":"k"}],"other":1}`,
			}.bytes(),
			want: check.Result{
				Status: check.Down, Class: check.ApplicationError, Message: "refused now", LatencyMS: 1.5,
				Metrics: []check.Metric{{Name: "connect_ms", Value: 0.25, Unit: "ms"}},
				Fields: map[string]any{"s": "last wins", "n": 200.0, "t": true, "f": false, "z": nil,
					"j": map[string]any{"a": []any{1.0, "b"}}, "nan": nil},
				State:  json.RawMessage(`{"k":1}`),
				Events: []check.Event{{Title: "T", Message: "M", Key: "k"}},
			},
		},
		{
			name:  "minimal up",
			frame: frameBuilder{status: 1, flags: 1, latency: 2}.bytes(),
			want:  check.Result{Status: check.Up, LatencyMS: 2},
		},
		{
			name:  "invalid UTF-8 becomes U+FFFD",
			frame: frameBuilder{status: 1, flags: 1, message: "a\xffb", fields: [][]byte{cat(fstr("k\xfe"), []byte{kindString}, fstr("\xc3"))}}.bytes(),
			want:  check.Result{Status: check.Up, Message: "a\uFFFDb", Fields: map[string]any{"k\uFFFD": "\uFFFD"}},
		},
		{
			name:  "metric NaN is 0",
			frame: frameBuilder{status: 2, flags: 1, metrics: [][]byte{cat(fstr("x"), fnum(math.Inf(1)), fstr(""))}}.bytes(),
			want:  check.Result{Status: check.Degraded, Metrics: []check.Metric{{Name: "x"}}},
		},
		{name: "short header", frame: []byte{frameVersion, 1, 0}, err: "shorter than its header"},
		{name: "status 0", frame: frameBuilder{status: 0}.bytes(), err: "unknown status code 0"},
		{name: "status 5", frame: frameBuilder{status: 5}.bytes(), err: "unknown status code 5"},
		{name: "class 4", frame: frameBuilder{status: 1, class: 4}.bytes(), err: "unknown class code 4"},
		{name: "message past the end", frame: frameBuilder{status: 1, message: "abc"}.bytes()[:29], err: "a length past its end"},
		{name: "huge metric count", frame: frameBuilder{status: 1, counts: &[2]uint32{1 << 30, 0}}.bytes(), err: "more metrics than it holds"},
		{name: "huge field count", frame: frameBuilder{status: 1, counts: &[2]uint32{0, 1 << 31}}.bytes(), err: "more fields than it holds"},
		{name: "field past the end", frame: frameBuilder{status: 1, counts: &[2]uint32{0, 1}, tail: cat(fstr("k"), []byte{kindString}, []byte{9, 0})}.bytes(), err: "a length past its end"},
		{name: "unknown kind", frame: frameBuilder{status: 1, fields: [][]byte{cat(fstr("k"), []byte{9})}}.bytes(), err: `field "k": unknown value kind 9`},
		{name: "bad field JSON", frame: frameBuilder{status: 1, fields: [][]byte{cat(fstr("k"), []byte{kindJSON}, fstr("{"))}}.bytes(), err: `field "k": invalid JSON`},
		{name: "trailing bytes", frame: frameBuilder{status: 1, tail: []byte{0, 0}}.bytes(), err: "2 bytes after its end"},
		{name: "rest not an object", frame: frameBuilder{status: 1, rest: `[1]`}.bytes(), err: "its JSON part is not an object"},
		{name: "bad events", frame: frameBuilder{status: 1, rest: `{"events":{}}`}.bytes(), err: "invalid result: events must be an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ResultFromModule(req, tt.frame)
			if tt.err != "" {
				if got.Status != check.Error || !strings.Contains(got.Message, tt.err) {
					t.Fatalf("got %s %q, want error containing %q", got.Status, got.Message, tt.err)
				}
				return
			}
			want := tt.want
			want.Name, want.Type, want.Target, want.Started = req.Name, req.Type, req.Target, got.Started
			if want.LatencyMS == 0 {
				want.LatencyMS = got.LatencyMS // the wall time: the frame has none
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %#v\nwant %#v", got, want)
			}
		})
	}
}

// TestResultFrameViolation: a sandbox violation overrides a frame's
// status as it does a JSON result's.
func TestResultFrameViolation(t *testing.T) {
	r := &run{m: &Module{name: "test"}, started: time.Now()}
	r.violate("denied: 10.0.0.1:80 is not allowed")
	got := r.resultFromGuest(frameBuilder{status: 1, message: "fine"}.bytes())
	if got.Status != check.Error || got.Message != `denied: 10.0.0.1:80 is not allowed (the module reported: "fine")` {
		t.Fatalf("got %s %q", got.Status, got.Message)
	}
}

func TestInputFrame(t *testing.T) {
	deadline := time.UnixMilli(1795293533267)
	req := check.Request{Name: "mail", Type: "smtp", Target: "tcp://mx:25", Timeout: 5 * time.Second, Attempt: 2,
		Config: json.RawMessage(`{"port":25}`), State: json.RawMessage(`{"n":1}`), NotifyEvery: time.Minute, AfterEveryN: 3}
	le := binary.LittleEndian
	b := InputFrame(7, req, deadline)
	text := "mailsmtptcp://mx:25" + `{"port":25}` + `{"n":1}`
	if len(b) != inputFrameHeader+len(text) || string(b[inputFrameHeader:]) != text {
		t.Fatalf("frame body %q", b[min(len(b), inputFrameHeader):])
	}
	for _, f := range []struct {
		name string
		got  uint64
		want uint64
	}{
		{"version", uint64(b[0]), frameVersion},
		{"attempt", uint64(le.Uint32(b[4:])), 2},
		{"check_id", le.Uint64(b[8:]), 7},
		{"timeout_ms", le.Uint64(b[16:]), 5000},
		{"deadline", le.Uint64(b[24:]), 1795293533267},
		{"every_ms", le.Uint64(b[32:]), 60000},
		{"after_every_n", uint64(le.Uint32(b[40:])), 3},
		{"len name", uint64(le.Uint32(b[44:])), 4},
		{"len type", uint64(le.Uint32(b[48:])), 4},
		{"len target", uint64(le.Uint32(b[52:])), 11},
		{"len config", uint64(le.Uint32(b[56:])), 11},
		{"len state", uint64(le.Uint32(b[60:])), 7},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	// No config: {}; no state: nothing (null); attempt at least 1.
	b = InputFrame(1, check.Request{Name: "x"}, deadline)
	if string(b[inputFrameHeader:]) != "x{}" || le.Uint32(b[4:]) != 1 || le.Uint32(b[60:]) != 0 {
		t.Fatalf("defaults: attempt %d, body %q", le.Uint32(b[4:]), b[inputFrameHeader:])
	}
}

// FuzzResultFrame: whatever a module reports, the host neither panics nor
// accepts a result with an unknown status.
func FuzzResultFrame(f *testing.F) {
	f.Add(frameBuilder{status: 1, flags: 1, message: "ok", metrics: [][]byte{cat(fstr("a"), fnum(1), fstr("ms"))},
		fields: [][]byte{cat(fstr("k"), []byte{kindJSON}, fstr(`[1,{"x":null}]`))}, rest: `{"state":1}`}.bytes())
	f.Add([]byte{frameVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != frameVersion {
			return
		}
		res := ResultFromModule(check.Request{Name: "m"}, data)
		if !res.Status.Valid() {
			t.Fatalf("status %q", res.Status)
		}
		switch res.Class {
		case "", check.Success, check.ApplicationError, check.ExceptionError:
		default:
			t.Fatalf("class %q", res.Class)
		}
	})
}
