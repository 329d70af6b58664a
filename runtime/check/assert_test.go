package check

import (
	"errors"
	"strings"
	"testing"
)

func TestAssertions(t *testing.T) {
	base := func() Result {
		return Result{
			Status: Up, Class: Success, Message: "200 OK in 3 ms", LatencyMS: 3,
			Fields: map[string]any{
				"code":    float64(503),
				"headers": map[string]any{"Content-Type": "application/json"},
				"body":    `{"ok":true}`,
				"cert":    map[string]any{"days_left": 9.5},
				"timings": map[string]any{"total_ms": 250.0},
			},
			Metrics: []Metric{{Name: "total_ms", Value: 250}},
		}
	}
	tests := []struct {
		name       string
		asserts    []string
		degradedIf []string
		status     Status
		message    string
	}{
		{"passes", []string{`code == 503`, `headers["Content-Type"] contains "json"`}, nil, Up, "200 OK in 3 ms"},
		{"fails with values", []string{`code == 200`}, nil, Down, "assert failed: code == 200 (code=503)"},
		{"member path value", []string{`cert.days_left > 14`}, nil, Down, "assert failed: cert.days_left > 14 (cert.days_left=9.5)"},
		{"index value", []string{`headers["Content-Type"] == "text/html"`}, nil, Down, `assert failed: headers["Content-Type"] == "text/html" (headers["Content-Type"]="application/json")`},
		{"first failure reported", []string{`code == 503`, `latency_ms < 1`, `code == 1`}, nil, Down, "assert failed: latency_ms < 1 (latency_ms=3)"},
		{"metrics and status", []string{`metrics.total_ms < 100 && status == "up"`}, nil, Down, `assert failed: metrics.total_ms < 100 && status == "up" (metrics.total_ms=250, status="up")`},
		{"missing field errors", []string{`tls.version == "TLS 1.3"`}, nil, Down, "assert error: tls.version == \"TLS 1.3\": cannot fetch version from <nil>"},
		{"optional chaining", []string{`tls?.version == nil`}, nil, Up, "200 OK in 3 ms"},
		{"non-boolean", []string{`code`}, nil, Down, "assert error: code: expression gave float64, not a boolean (code=503)"},
		{"degraded_if", nil, []string{`timings.total_ms > 200`}, Degraded, "degraded: timings.total_ms > 200 (timings.total_ms=250); 200 OK in 3 ms"},
		{"degraded_if false", nil, []string{`timings.total_ms > 900`}, Up, "200 OK in 3 ms"},
		{"assert beats degraded_if", []string{`code == 1`}, []string{`true`}, Down, "assert failed: code == 1 (code=503)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := CompileAssertions(tt.asserts, tt.degradedIf)
			if err != nil {
				t.Fatal(err)
			}
			r := base()
			a.Apply(&r)
			if r.Status != tt.status || !strings.HasPrefix(r.Message, tt.message) {
				t.Fatalf("got %s %q\nwant %s %q", r.Status, r.Message, tt.status, tt.message)
			}
			if r.Status == Down && r.Class != ApplicationError {
				t.Fatalf("class %s", r.Class)
			}
		})
	}
}

func TestAssertionsLeaveFailuresAlone(t *testing.T) {
	a, _ := CompileAssertions([]string{"code == 200"}, nil)
	r := Result{Status: Down, Message: "connection refused"}
	a.Apply(&r)
	if r.Status != Down || r.Message != "connection refused" {
		t.Fatalf("%+v", r)
	}
}

func TestAssertCompileErrors(t *testing.T) {
	_, err := CompileAssertions([]string{"code == 200", "code =="}, nil)
	var ae *AssertError
	if !errors.As(err, &ae) || ae.Field != "assert" || ae.Index != 1 || !strings.Contains(err.Error(), `assert[1] "code ==": unexpected token EOF`) {
		t.Fatalf("error %v", err)
	}
	_, err = CompileAssertions(nil, []string{" "})
	if !errors.As(err, &ae) || ae.Field != "degraded_if" || !strings.Contains(err.Error(), "empty expression") {
		t.Fatalf("error %v", err)
	}
}

func TestExitCodeAndPerfdata(t *testing.T) {
	for s, want := range map[Status]int{Up: 0, Degraded: 1, Down: 2, Error: 3, "weird": 3} {
		if s.ExitCode() != want {
			t.Errorf("%s exit %d", s, s.ExitCode())
		}
	}
	r := Result{Metrics: []Metric{{Name: "rtt", Value: 1.5, Unit: "ms"}, {Name: "size", Value: 10, Unit: "B"}, {Name: "x", Value: 2, Unit: "weird"}}}
	if got := r.Perfdata(); got != "'rtt'=1.5ms 'size'=10B 'x'=2" {
		t.Fatalf("perfdata %q", got)
	}
}
