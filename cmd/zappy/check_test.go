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

// TestCheckFlagValues: a flag value that cannot apply is refused with a
// clear message (exit 3) rather than ignored or overridden by another flag.
func TestCheckFlagValues(t *testing.T) {
	cfg, _ := siteFile(t, "monitors:\n  - {type: tcp, name: db, address: \"tcp://127.0.0.1:1\"}\n")
	adHoc := []string{"check", "--type", "tcp", "--address", "tcp://127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		// Attempts below one used to fall back to the site default of 3.
		{"retries zero", append(adHoc, "--retries", "0"), "--retries 0: must be at least 1"},
		{"retries negative", append(adHoc, "--retries", "-2"), "--retries -2: must be at least 1"},
		// A timeout that is not positive used to be ignored.
		{"timeout negative", append(adHoc, "--timeout", "-1s"), "--timeout -1s: must be at least 1ms"},
		{"timeout zero", append(adHoc, "--timeout", "0s"), "--timeout 0s: must be at least 1ms"},
		{"timeout negative with -c", []string{"check", "-c", cfg, "--timeout", "-1s"}, "--timeout -1s: must be at least 1ms"},
		{"timeout too short with -c", []string{"check", "-c", cfg, "db", "--timeout", "1ns"}, "--timeout 1ns: must be at least 1ms"},
		// --set of a field a flag sets used to lose to the flag silently.
		{"set type", append(adHoc, "--set", "type=udp"), "--set type: give it with --type"},
		{"set address", append(adHoc, "--set", "address=tcp://127.0.0.1:2"), "--set address: give it with --address"},
		{"set name and --name", append(adHoc, "--set", "name=a", "--name", "b"), "--set name: --name sets it too; give one of them"},
		{"set expect and --expect", append(adHoc, "--set", "expect=a", "--expect", "b"), "--set expect: --expect sets it too; give one of them"},
		{"set assert and --assert", append(adHoc, "--set", "assert=up", "--assert", "true"), "--set assert: --assert sets it too; give one of them"},
		{"set degraded_if and --degraded-if", append(adHoc, "--set", "degraded_if=false", "--degraded-if", "true"), "--set degraded_if: --degraded-if sets it too; give one of them"},
		{"set timeout and --timeout", append(adHoc, "--set", "timeout=2s", "--timeout", "1s"), "--set timeout: --timeout sets it too; give one of them"},
		{"set max_try_secs and --timeout", append(adHoc, "--set", "max_try_secs=2", "--timeout", "1s"), "--set max_try_secs: --timeout sets it too; give one of them"},
		{"set max_retries and --retries", append(adHoc, "--set", "max_retries=2", "--retries", "3"), "--set max_retries: --retries sets it too; give one of them"},
		{"set module and --module", append(adHoc, "--set", "module=a.wasm", "--module", "b.wasm"), "--set module: --module sets it too; give one of them"},
		// Empty values are checked like any other, not dropped.
		{"empty expect", append(adHoc, "--expect", ""), `expect: must be a non-empty string (got "")`},
		{"empty name", append(adHoc, "--name", ""), `name: must be a non-empty string (got "")`},
		{"empty module", append(adHoc, "--module", ""), "module: must be a file path"},
		// The lines of the YAML built from the flags mean nothing to the user.
		{"aliases", append(adHoc, "--set", "every=5s", "--set", "check_every_n_secs=5"), "every: means the same as check_every_n_secs; give only one of them\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, 3, tt.msg, tt.args...)
		})
	}
}

// TestCheckSetRetries: --set max_retries applies when --retries is not
// given (it used to lose to --retries' default of 1).
func TestCheckSetRetries(t *testing.T) {
	out, errOut, code := zappy(t, "check", "--type", "tcp", "--address", "tcp://"+closedPort(t), "--set", "max_retries=2", "--json")
	if code != 2 || !strings.Contains(out, `"attempts":2,`) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
