// Package check holds the types every part of the host shares about one
// check run: what to run (Request) and what came out (Result), plus the expr
// assertions applied to results.
package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Status is the outcome of a check.
type Status string

// Statuses, in order of severity for the purposes of exit codes.
const (
	Up       Status = "up"
	Degraded Status = "degraded"
	Down     Status = "down"
	Error    Status = "error"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Up, Degraded, Down, Error:
		return true
	}
	return false
}

// Good reports whether s counts as working: up or degraded.
func (s Status) Good() bool { return s == Up || s == Degraded }

// ExitCode maps a status to the Nagios plugin convention: 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN.
func (s Status) ExitCode() int {
	switch s {
	case Up:
		return 0
	case Degraded:
		return 1
	case Down:
		return 2
	}
	return 3
}

// Class is pmon's result class.
type Class string

// The result classes.
const (
	Success          Class = "SUCCESS"
	ApplicationError Class = "APPLICATION_ERROR" // the service answered, wrongly
	ExceptionError   Class = "EXCEPTION_ERROR"   // the service could not be reached, or the check could not run
)

// DefaultClass is the class of a result whose module did not set one.
func DefaultClass(s Status) Class {
	switch s {
	case Up, Degraded:
		return Success
	case Down:
		return ApplicationError
	}
	return ExceptionError
}

// Metric is one Nagios-perfdata-style measurement.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
}

// Request is one check to run.
type Request struct {
	Name    string // monitor name
	Type    string // check type, e.g. "http"
	Target  string // the monitor's address
	Timeout time.Duration
	// Config is the monitor's fields as a JSON object; the module reads it.
	Config json.RawMessage
	// State is what the previous run of this monitor returned as State.
	State   json.RawMessage
	Attempt int
	// Allow lists extra destinations this check may reach besides its
	// target (granted in the user's YAML).
	Allow []string
	// NotifyEvery and AfterEveryN are the monitor's effective notification
	// pacing, handed to the module (input "notify") so that it can pace the
	// Events it reports the way the daemon paces reminders. Zero: not sent.
	NotifyEvery time.Duration
	AfterEveryN int
}

// Event is a notification a module asks the host to send now, beside the
// check's status: a state change it detected (a switch port going down).
// The daemon queues each as a "change" notification.
type Event struct {
	Title   string `json:"title"`
	Message string `json:"message"`
	Key     string `json:"key,omitempty"` // what changed, stable across runs ("if:3")
}

// Result is what a check produced.
type Result struct {
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Target    string          `json:"target,omitempty"`
	Status    Status          `json:"status"`
	Class     Class           `json:"class"`
	Message   string          `json:"message"`
	LatencyMS float64         `json:"latency_ms"`
	Metrics   []Metric        `json:"metrics,omitempty"`
	Fields    map[string]any  `json:"fields,omitempty"`
	State     json.RawMessage `json:"-"`
	Started   time.Time       `json:"started"`
	Attempts  int             `json:"attempts,omitempty"`
	Events    []Event         `json:"events,omitempty"`
}

// Perfdata renders the metrics Nagios-style: 'name'=value[unit] ...
func (r Result) Perfdata() string {
	out := ""
	for i, m := range r.Metrics {
		if i > 0 {
			out += " "
		}
		unit := m.Unit
		switch unit {
		case "ms", "s", "us", "%", "B", "KB", "MB", "TB", "c":
		default:
			unit = ""
		}
		out += fmt.Sprintf("'%s'=%g%s", m.Name, m.Value, unit)
	}
	return out
}

// Errorf builds an error-status result for req.
func Errorf(req Request, format string, args ...any) Result {
	return Result{
		Name: req.Name, Type: req.Type, Target: req.Target,
		Status: Error, Class: ExceptionError,
		Message: fmt.Sprintf(format, args...),
		Started: time.Now(),
	}
}

// Summary is a one-line, Nagios-plugin-like rendering of r:
// "UP web (http) 12.3 ms - 200 OK in 12.3 ms | 'total_ms'=12.3ms".
func (r Result) Summary() string {
	s := fmt.Sprintf("%-8s %s (%s) %.1f ms - %s", strings.ToUpper(string(r.Status)), r.Name, r.Type, r.LatencyMS, r.Message)
	if pd := r.Perfdata(); pd != "" {
		s += " | " + pd
	}
	return s
}
