package main

import (
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// TestPrintResultEvents prints a result with events the module reported:
// one indented line each under the result line, and "events" in --json.
func TestPrintResultEvents(t *testing.T) {
	r := check.Result{
		Name: "office-switch", Type: "ports", Target: "snmp://10.0.0.2", Status: check.Up, Class: check.Success,
		Message: "24 ports, 1 changed", LatencyMS: 12.5, Attempts: 1, Started: time.Date(2026, 7, 14, 18, 15, 0, 0, time.UTC),
		Events: []check.Event{
			{Title: "PORT CHANGE", Message: "GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)", Key: "if:2"},
			{Title: "PORT MAC CHANGE", Message: "GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]"},
			{Title: "RESTARTED"},
		},
	}
	tests := []struct {
		name   string
		r      check.Result
		asJSON bool
		want   string
	}{
		{"text", r, false, "UP       office-switch (ports) 12.5 ms - 24 ports, 1 changed\n" +
			"  PORT CHANGE: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)\n" +
			"  PORT MAC CHANGE: GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]\n" +
			"  RESTARTED\n"},
		{"json", r, true, `{"name":"office-switch","type":"ports","target":"snmp://10.0.0.2","status":"up","class":"SUCCESS",` +
			`"message":"24 ports, 1 changed","latency_ms":12.5,"attempts":1,"started":"2026-07-14T18:15:00Z","metrics":[],"fields":{},` +
			`"events":[{"title":"PORT CHANGE","message":"GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)","key":"if:2"},` +
			`{"title":"PORT MAC CHANGE","message":"GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]"},` +
			`{"title":"RESTARTED","message":""}]}` + "\n"},
		{"json without events", check.Result{Name: "web", Type: "http", Status: check.Down, Class: check.ApplicationError, Message: "HTTP 503"}, true,
			`{"name":"web","type":"http","target":"","status":"down","class":"APPLICATION_ERROR","message":"HTTP 503","latency_ms":0,` +
				`"attempts":0,"started":"0001-01-01T00:00:00Z","metrics":[],"fields":{}}` + "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := printResult(&b, tt.r, tt.asJSON); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, b.String(), tt.want)
		}
	}
}
