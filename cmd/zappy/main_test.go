package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zappy-cli-test")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// refused runs zappy with args and fails t unless it exits with code,
// says msg on stderr and prints nothing on stdout.
func refused(t *testing.T, code int, msg string, args ...string) {
	t.Helper()
	out, errOut, got := zappy(t, args...)
	if got != code || !strings.Contains(errOut, msg) || out != "" {
		t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant: %s", got, code, out, errOut, msg)
	}
}

func zappy(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--cache-dir", cacheDir}, args...)
	code := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestCheckAdHoc(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(503)
		}
		fmt.Fprint(w, "hello zappy")
	}))
	defer srv.Close()
	closed := closedPort(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"http up", []string{"check", "--type", "http", "--address", srv.URL, "--expect", "zappy"}, 0, "UP       http " + srv.URL + " (http)"},
		{"assert fails", []string{"check", "--type", "http", "--address", srv.URL, "--assert", "code == 201"}, 2, "assert failed: code == 201 (code=200)"},
		{"degraded", []string{"check", "--type", "http", "--address", srv.URL, "--degraded-if", "latency_ms >= 0"}, 1, "DEGRADED"},
		{"http down", []string{"check", "--type", "http", "--address", srv.URL + "/down"}, 2, "HTTP 503 Service Unavailable"},
		{"tcp refused", []string{"check", "--type", "tcp", "--address", "tcp://" + closed, "--name", "db"}, 2, "DOWN     db (tcp)"},
		{"set field", []string{"check", "--type", "http", "--address", srv.URL + "/down", "--set", "expect_status=[503]"}, 0, "UP"},
		{"unknown type", []string{"check", "--type", "gopher", "--address", "x"}, 3, ""},
		{"bad assert", []string{"check", "--type", "http", "--address", srv.URL, "--assert", "code =="}, 3, ""},
		{"no target", []string{"check"}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := zappy(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
		})
	}
}

func TestCheckErrorsAreClear(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"check", "--type", "gopher", "--address", "x"}, `command line: monitor "gopher x": type: unknown type "gopher" (built-in types: ping, http, quic, tcp, udp, cert, ports, port, host; a custom type needs module:)`},
		{[]string{"check", "--type", "snmp", "--address", "snmp://x"}, "type 'snmp' is not valid. Did you mean type: ports?"},
		{[]string{"check", "--type", "http", "--address", "http://x", "--assert", "code =="}, `assert[0]: "code ==": unexpected token EOF`},
		{[]string{"check"}, "give --type and --address for an ad-hoc check, or -c CONFIG"},
		{[]string{"check", "--set", "novalue", "--type", "http", "--address", "x"}, `--set "novalue": want KEY=VALUE`},
		{[]string{"--log-format", "xml", "check", "--type", "http", "--address", "http://x"}, `--log-format "xml": want text or json`},
		{[]string{"check", "-c", "site.yaml", "--expect", "x", "--set", "a=b"}, "--expect, --set: only for an ad-hoc check (--type and --address); with -c the monitors' own fields apply"},
		{[]string{"check", "-c", "site.yaml", "web", "--retries", "2"}, "--retries: only for an ad-hoc check"},
	}
	for _, tt := range tests {
		_, errOut, code := zappy(t, tt.args...)
		if code != 3 || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.msg)
		}
	}
}

// TestExitCodeBadFlags: bad flags of zappy check exit 3 (Nagios UNKNOWN)
// wherever they stand; other commands exit 1. An unknown flag before the
// command name used to exit 1 even for check, since cobra then takes the
// command name for the flag's value and blames the root command.
func TestExitCodeBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"check, unknown flag after", []string{"check", "--bogus", "--type", "tcp", "--address", "tcp://127.0.0.1:1"}, 3, "unknown flag: --bogus"},
		{"check, unknown flag before", []string{"--bogus", "check", "--type", "tcp", "--address", "tcp://127.0.0.1:1"}, 3, "unknown flag: --bogus"},
		{"check, unknown shorthand before", []string{"-x", "check", "--type", "tcp", "--address", "tcp://127.0.0.1:1"}, 3, "unknown shorthand flag: 'x' in -x"},
		{"check, after a global flag", []string{"-v", "--bogus", "check"}, 3, "unknown flag: --bogus"},
		{"validate, unknown flag before", []string{"--bogus", "validate", "check"}, 1, "unknown flag: --bogus"},
		{"run, unknown flag before", []string{"--bogus", "run", "check"}, 1, "unknown flag: --bogus"},
		{"unknown command", []string{"checks"}, 1, `unknown command "checks"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, tt.code, tt.msg, tt.args...)
		})
	}
}

func TestCheckConfigJSON(t *testing.T) {
	srv := okServer(t)
	cfg, _ := siteFile(t, fmt.Sprintf(`site:
  name: test
  max_try_secs: 2
monitors:
  - type: http
    name: web
    address: %q
    assert:
      - code == 200
      - body == "ok"
  - type: tcp
    name: port
    address: "tcp://%s"
  - type: http
    name: not-run
    address: "http://127.0.0.1:1/"
`, srv.URL, strings.TrimPrefix(srv.URL, "http://")))
	out, errOut, code := zappy(t, "check", "-c", cfg, "web", "port", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), out)
	}
	var r struct {
		Name, Type, Status, Class, Message string
		LatencyMS                          float64 `json:"latency_ms"`
		Fields                             map[string]any
		Metrics                            []map[string]any
		Attempts                           int
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Name != "web" || r.Type != "http" || r.Status != "up" || r.Class != "SUCCESS" || r.Fields["code"] != float64(200) || r.Attempts != 1 || r.LatencyMS <= 0 {
		t.Fatalf("%+v", r)
	}
	_, errOut, code = zappy(t, "check", "-c", cfg, "missing")
	if code != 3 || !strings.Contains(errOut, `has no monitor named "missing"`) {
		t.Fatalf("exit %d %q", code, errOut)
	}
}

// TestCheckConfigTimeout: --timeout bounds every attempt of the monitors
// -c runs, named or not, over their max_try_secs.
func TestCheckConfigTimeout(t *testing.T) {
	silent := testutil.ServeTCP(t, testutil.HoldOpen)
	cfg, _ := siteFile(t, fmt.Sprintf(`monitors:
  - type: tcp
    name: silent
    address: "tcp://%s"
    expect: READY
    max_try_secs: 30
`, silent))
	for _, args := range [][]string{{"check", "-c", cfg, "--timeout", "300ms"}, {"check", "-c", cfg, "silent", "--timeout", "300ms"}} {
		start := time.Now()
		out, errOut, code := zappy(t, args...)
		if took := time.Since(start); code != 2 || !strings.Contains(out, "stayed silent") || took > 10*time.Second {
			t.Fatalf("%v: exit %d after %s\nstdout: %s\nstderr: %s", args, code, took.Round(time.Millisecond), out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := zappy(t, "version")
	if code != 0 || !strings.Contains(out, "ABI v1") || !strings.Contains(out, "built-in module 1.") {
		t.Fatalf("%d %q", code, out)
	}
}

// BenchmarkCheckHTTP measures `zappy check` of one http monitor as a user
// runs it: a fresh process, cold (empty compilation cache) and warm.
func BenchmarkCheckHTTP(b *testing.B) {
	bin := zappyBin(b)
	srv := okServer(b)
	runOnce := func(b *testing.B, cache string) time.Duration {
		start := time.Now()
		out, err := exec.Command(bin, "--cache-dir", cache, "check", "--type", "http", "--address", srv.URL).CombinedOutput()
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
		return time.Since(start)
	}
	b.Run("cold", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += runOnce(b, filepath.Join(b.TempDir(), fmt.Sprint("cache", i)))
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "wall-ms/op")
	})
	b.Run("warm", func(b *testing.B) {
		cache := filepath.Join(b.TempDir(), "cache")
		runOnce(b, cache)
		b.ResetTimer()
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += runOnce(b, cache)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "wall-ms/op")
	})
}
