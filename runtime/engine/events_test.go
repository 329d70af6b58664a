package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// TestEvents runs the guest's events type, which reports the events of its
// config, and checks what the host makes of them: parsed as reported,
// cleaned to one line, capped in length and number, kept on error results,
// and the monitor's notification pacing handed to the module.
func TestEvents(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	ev := func(title, message, key string) map[string]any {
		return map[string]any{"title": title, "message": message, "key": key}
	}
	generated := func(from, to int) []check.Event {
		var out []check.Event
		for i := from; i < to; i++ {
			out = append(out, check.Event{Title: fmt.Sprint("E", i), Message: fmt.Sprint("event ", i), Key: fmt.Sprint("k", i)})
		}
		return out
	}
	tests := []struct {
		name        string
		config      json.RawMessage
		every       time.Duration
		afterN      int
		status      check.Status
		message     string
		events      []check.Event
		everyMS, nN float64
	}{
		{"port changes", cfg("events", []any{
			ev("PORT CHANGE", "GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)", "if:2"),
			ev("PORT MAC CHANGE", "GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]", ""),
		}), 10 * time.Minute, 4, check.Up, "events", []check.Event{
			{Title: "PORT CHANGE", Message: "GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)", Key: "if:2"},
			{Title: "PORT MAC CHANGE", Message: "GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]"},
		}, 600000, 4},
		{"no pacing sent, no events", cfg(), 0, 0, check.Up, "events", nil, 0, 0},
		{"kept on an error result", cfg("status", "error", "events", []any{ev("PORT CHANGE", "Gi0/3 removed", "if:3")}), time.Minute, 1,
			check.Error, "failed after the events", []check.Event{{Title: "PORT CHANGE", Message: "Gi0/3 removed", Key: "if:3"}}, 60000, 1},
		{"control characters become spaces", cfg("events", []any{ev(" PORT\nCHANGE\t", "line 1\r\nline 2\x1b[0m\u2028end\x7f", "if:\x002")}), 0, 0,
			check.Up, "events", []check.Event{{Title: "PORT CHANGE", Message: "line 1  line 2 [0m end", Key: "if: 2"}}, 0, 0},
		{"long strings cut", cfg("events", []any{ev(strings.Repeat("T", 41), strings.Repeat("m", 2500), strings.Repeat("ü", 201))}), 0, 0,
			check.Up, "events", []check.Event{{Title: strings.Repeat("T", 39) + "…", Message: strings.Repeat("m", 1999) + "…", Key: strings.Repeat("ü", 199) + "…"}}, 0, 0},
		{"strings at their caps kept", cfg("events", []any{ev(strings.Repeat("T", 40), strings.Repeat("m", 2000), strings.Repeat("ü", 200))}), 0, 0,
			check.Up, "events", []check.Event{{Title: strings.Repeat("T", 40), Message: strings.Repeat("m", 2000), Key: strings.Repeat("ü", 200)}}, 0, 0},
		{"64 events kept", cfg("count", 64), 0, 0, check.Up, "events", generated(0, 64), 0, 0},
		{"65 events: 63 and a summary", cfg("count", 65), 0, 0, check.Up, "events",
			append(generated(0, 63), check.Event{Title: "E63", Message: "2 more events not shown"}), 0, 0},
		{"500 events: 63 and a summary", cfg("count", 500), 0, 0, check.Up, "events",
			append(generated(0, 63), check.Event{Title: "E63", Message: "437 more events not shown"}), 0, 0},
		{"empty title fails the result", cfg("events", []any{ev("A", "", ""), ev("B", "", ""), ev("C", "", ""), ev("", "no title", "")}), 0, 0,
			check.Error, "module hostile reported an invalid result: events[3]: title is empty", nil, 0, 0},
		{"blank title fails the result", cfg("events", []any{ev(" \n ", "no title", "")}), 0, 0,
			check.Error, "module hostile reported an invalid result: events[0]: title is empty", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Run(context.Background(), check.Request{Name: "sw", Type: "events", Timeout: 5 * time.Second, Config: tt.config,
				NotifyEvery: tt.every, AfterEveryN: tt.afterN})
			if res.Status != tt.status || res.Message != tt.message {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			if !reflect.DeepEqual(res.Events, tt.events) {
				t.Errorf("events:\n got %q\nwant %q", res.Events, tt.events)
			}
			if res.Status == check.Error && tt.message != "failed after the events" {
				return // an invalid result has no fields
			}
			if res.Fields["notify_every_ms"] != tt.everyMS || res.Fields["after_every_n"] != tt.nN {
				t.Errorf("module saw notify every %v ms after %v, want %v %v", res.Fields["notify_every_ms"], res.Fields["after_every_n"], tt.everyMS, tt.nN)
			}
		})
	}
}

// TestEventsInvalid reports hand-written results whose events break the
// ABI: the whole result becomes status error naming the problem.
func TestEventsInvalid(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	const prefix = "module hostile reported an invalid result: "
	tests := []struct {
		raw     string
		status  check.Status
		message string
		events  []check.Event
	}{
		{`{"status":"up","message":"x","events":{"title":"a"}}`, check.Error, prefix + "events must be an array", nil},
		{`{"status":"up","message":"x","events":"PORT CHANGE"}`, check.Error, prefix + "events must be an array", nil},
		{`{"status":"up","message":"x","events":[{"title":"a"},"b"]}`, check.Error, prefix + "events[1] must be an object", nil},
		{`{"status":"up","message":"x","events":[{"title":3}]}`, check.Error, prefix + "events[0]: title must be a string", nil},
		{`{"status":"up","message":"x","events":[{"title":"a","message":["m"]}]}`, check.Error, prefix + "events[0]: message must be a string", nil},
		{`{"status":"up","message":"x","events":[{"title":"a","key":7}]}`, check.Error, prefix + "events[0]: key must be a string", nil},
		{`{"status":"up","message":"x","events":[{"message":"no title"}]}`, check.Error, prefix + "events[0]: title is empty", nil},
		{`{"status":"up","message":"x","events":null}`, check.Up, "x", nil},
		{`{"status":"up","message":"x","events":[]}`, check.Up, "x", nil},
		{`{"status":"down","message":"x","events":[{"title":"a","message":null,"key":null}]}`, check.Down, "x", []check.Event{{Title: "a"}}},
	}
	for _, tt := range tests {
		res := m.Run(context.Background(), check.Request{Name: "raw", Type: "raw", Timeout: 5 * time.Second, Config: cfg("raw", tt.raw)})
		if res.Status != tt.status || res.Message != tt.message || !reflect.DeepEqual(res.Events, tt.events) {
			t.Errorf("%s:\n got %s %q %q\nwant %s %q %q", tt.raw, res.Status, res.Message, res.Events, tt.status, tt.message, tt.events)
		}
	}
}

// TestInputNotify checks the "notify" member of the check input: present
// only when the request carries pacing.
func TestInputNotify(t *testing.T) {
	tests := []struct {
		every  time.Duration
		afterN int
		want   string
	}{
		{10 * time.Minute, 4, `"state":null,"notify":{"every_ms":600000,"after_every_n":4}}`},
		{1500 * time.Millisecond, 0, `"state":null,"notify":{"every_ms":1500,"after_every_n":0}}`},
		{0, 0, `"state":null}`},
	}
	for _, tt := range tests {
		r := &run{id: 1, req: check.Request{Name: "sw", Type: "ports", NotifyEvery: tt.every, AfterEveryN: tt.afterN, State: json.RawMessage("null")}}
		if got := string(buildInput(r)); !strings.HasSuffix(got, tt.want) {
			t.Errorf("input %s\nwant it to end with %s", got, tt.want)
		}
	}
}
