//go:build !wasip1

package zappy

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// TestResultFrameMatchesJSON: the host makes the same result of a result
// frame as of the JSON form, for every kind of value a result may hold.
func TestResultFrameMatchesJSON(t *testing.T) {
	nested, _ := zjson.Parse([]byte(`{"a":[1,"x",null]}`))
	tests := []struct {
		name string
		r    Result
	}{
		{"tcp connect", func() Result {
			r := Up("connected to 127.0.0.1:80 in 0.216 ms").With("remote", "127.0.0.1:80").WithFloat("connect_ms", 0.216)
			r = r.Metric("connect_ms", 0.216, "ms")
			r.LatencyMS = 0.216
			return r
		}()},
		{"field kinds", Result{Status: StatusDown, Class: ClassApplicationError, Message: "bad\nanswer \xff", LatencyMS: 3,
			Fields: map[string]any{
				"int": 200, "i64": int64(-1 << 60), "u64": uint64(math.MaxUint64), "u8": uint8(7), "f32": float32(0.1),
				"nan": math.NaN(), "inf": math.Inf(-1), "nil": nil, "yes": true, "no": false, "bytes": []byte("b\x00"),
				"err": errors.New("boom"), "list": []string{"a", "b"}, "map": map[string]any{"k": []any{1, "v"}},
				"value": nested, "str": "tab\there \xfe",
			}}},
		{"list and map, the map winning", Result{Status: StatusDegraded, Fields: map[string]any{"a": 1, "b": "map"}}.
			With("b", "list").With("c", 3).WithFloat("d", 0.5)},
		{"same name twice in the list", Up("x").With("k", 1).With("k", 2)},
		{"a value both error and Marshaler", Up("x").With("e", errMarshaler{}).With("d", 90*time.Second).With("p", new(float64))},
		{"odd values", Result{Status: StatusUp, LatencyMS: math.Inf(1), State: map[string]any(nil), Events: []Event{},
			Fields: map[string]any{"neg0": math.Copysign(0, -1), "big": int64(1<<53 + 1), "sep": "a\u2028b"}}.With("k\xff", "v")},
		{"state and events", Result{Status: StatusUp, State: map[string]any{"seen": []int{1, 2}},
			Events: []Event{{Title: "port 3 down", Message: "m", Key: "if:3"}, {Title: "t", Message: ""}}}},
		{"metrics", Result{Status: StatusError, Class: ClassExceptionError, Metrics: []Metric{
			{Name: "a", Value: 1.5, Unit: "ms"}, {Name: "b", Value: math.NaN()}, {Name: "c\xff", Value: -2}}}},
		{"latency not a number", Result{Status: StatusUp, LatencyMS: math.NaN()}},
		{"latency negative", Result{Status: StatusUp, LatencyMS: -1}},
		{"empty", Result{Status: StatusUp}},
		{"empty fields map", Result{Status: StatusUp, Fields: map[string]any{}}},
	}
	req := check.Request{Name: "m", Type: "t", Target: "tcp://h:1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w zjson.Writer
			tt.r.MarshalZJSON(&w)
			fromJSON := engine.ResultFromModule(req, w.Bytes())
			frame, ok := tt.r.appendFrame(nil)
			if !ok {
				t.Fatal("appendFrame refused the result")
			}
			fromFrame := engine.ResultFromModule(req, frame)
			if fromJSON.Status == check.Error && strings.Contains(fromJSON.Message, "reported") {
				t.Fatalf("the JSON form is refused: %s", fromJSON.Message)
			}
			if !(tt.r.LatencyMS > 0) || math.IsInf(tt.r.LatencyMS, 0) {
				// The check's wall time, measured at each conversion.
				fromFrame.LatencyMS = fromJSON.LatencyMS
			}
			fromFrame.Started = fromJSON.Started
			if !reflect.DeepEqual(fromFrame, fromJSON) {
				t.Fatalf("frame %#v\njson  %#v", fromFrame, fromJSON)
			}
		})
	}
}

// errMarshaler is an error that writes itself as JSON: Writer.Any takes it
// as a Marshaler, so the frame must too.
type errMarshaler struct{}

func (errMarshaler) Error() string                { return "as error" }
func (errMarshaler) MarshalZJSON(w *zjson.Writer) { w.Int(42) }

// TestResultFrameRefuses: a status or class a frame has no code for goes
// to the host in JSON, which reports it as it is.
func TestResultFrameRefuses(t *testing.T) {
	for _, r := range []Result{{Status: "sideways"}, {Status: StatusUp, Class: "MAYBE"}} {
		if b, ok := r.appendFrame([]byte("x")); ok || string(b) != "x" {
			t.Errorf("%q/%q: ok %v, wrote %q", r.Status, r.Class, ok, b)
		}
	}
}

func TestCheckFromFrame(t *testing.T) {
	deadline := time.UnixMilli(1795293533267)
	long := strings.Repeat("n", 60) // past checkBox's room
	tests := []struct {
		name string
		req  check.Request
	}{
		{"full", check.Request{Name: "mail", Type: "smtp", Target: "tcp://mx:25", Timeout: 5 * time.Second, Attempt: 2,
			Config: json.RawMessage(`{"port":25,"expect":"220"}`), State: json.RawMessage(`{"n":1}`),
			NotifyEvery: time.Minute, AfterEveryN: 3}},
		{"defaults", check.Request{Name: "x", Type: "tcp"}},
		{"long strings", check.Request{Name: long, Type: "tcp", Target: "tcp://" + long + ":1"}},
		{"empty config and null state", check.Request{Name: "x", Config: json.RawMessage(`{}`), State: json.RawMessage(`null`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := engine.InputFrame(9, tt.req, deadline)
			c, err := checkFromFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				b[i] = 'X' // the input buffer is reused: nothing may share it
			}
			wantConfig, wantState := string(tt.req.Config), string(tt.req.State)
			if wantConfig == "" {
				wantConfig = "{}"
			}
			if wantState == "" {
				wantState = "null"
			}
			got := []any{c.ID, c.Name, c.Type, c.Target, c.Timeout, c.Deadline, c.Attempt, c.NotifyEvery, c.AfterEveryN,
				string(c.Config.Source()), string(c.State.Source())}
			want := []any{int64(9), tt.req.Name, tt.req.Type, tt.req.Target, tt.req.Timeout, deadline, max(tt.req.Attempt, 1),
				tt.req.NotifyEvery, tt.req.AfterEveryN, wantConfig, wantState}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestCheckFromFrameRefuses(t *testing.T) {
	good := engine.InputFrame(1, check.Request{Name: "x", Config: json.RawMessage(`{"a":1}`)}, time.Now())
	badJSON := append([]byte(nil), good...)
	copy(badJSON[len(badJSON)-7:], `{"a":1`) // same length, not JSON
	badJSON[len(badJSON)-1] = ','
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:63], "shorter than its header"},
		{"truncated", good[:len(good)-1], "do not add up"},
		{"longer", append(append([]byte(nil), good...), 0), "do not add up"},
		{"bad config", badJSON, "input frame config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := checkFromFrame(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
