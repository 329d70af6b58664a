// Package hooktest holds what the notification providers' tests share: a
// set of sample events, an HTTP receiver on loopback that records every
// request, golden files, and checks of error texts.
package hooktest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
)

// Zone is the sample events' zone: New York, so that tests show the zone
// abbreviation and a daylight-saving offset.
func Zone(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Since is the start of the sample outage: 2026-07-14 14:15:00 EDT.
var Since = time.Date(2026, 7, 14, 18, 15, 0, 0, time.UTC)

// Events returns one sample event of each kind, all for the same outage of
// monitor "web" in site "HomeLab", except the change: a port of monitor
// "office-switch" going down.
func Events(t testing.TB) map[notify.Kind]notify.Event {
	loc := Zone(t)
	base := notify.Event{
		Site: "HomeLab", Monitor: "web", Type: "http", Address: "https://intranet.example/login",
		Since: Since, OutageID: "out-7", Location: loc,
	}
	outage := base
	outage.ID, outage.Kind, outage.Seq = "evt-1", notify.KindOutage, 1
	outage.Message, outage.At = `connect 10.0.0.5:443: connection refused`, Since
	reminder := base
	reminder.ID, reminder.Kind, reminder.Seq = "evt-2", notify.KindReminder, 2
	reminder.Message, reminder.At = `503 Service Unavailable, "maintenance"`, Since.Add(10*time.Minute+5*time.Second)
	recovery := base
	recovery.ID, recovery.Kind, recovery.Seq = "evt-3", notify.KindRecovery, 3
	recovery.Message, recovery.At = "200 OK in 48.2 ms", Since.Add(time.Hour+2*time.Minute+3*time.Second)
	report := notify.Event{
		ID: "evt-4", Kind: notify.KindReport, Site: "HomeLab", At: Since.Add(2 * time.Hour), Location: loc,
		Failing: []notify.Failing{
			{Monitor: "web", Type: "http", Address: "https://intranet.example/login", Message: "503 Service Unavailable", Since: Since},
			{Monitor: "db", Type: "tcp", Address: "tcp://10.0.0.9:5432", Message: "connection refused", Since: Since.Add(90 * time.Minute)},
		},
	}
	test := notify.Event{ID: "evt-5", Kind: notify.KindTest, Site: "HomeLab", At: Since, Location: loc}
	change := notify.Event{
		ID: "evt-6", Kind: notify.KindChange, Site: "HomeLab", Monitor: "office-switch", Type: "ports", Address: "snmp://10.0.0.2",
		Title: "PORT CHANGE", Message: "GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)", Key: "if:2",
		At: Since.Add(7 * time.Minute), Location: loc,
	}
	return map[notify.Kind]notify.Event{
		notify.KindOutage: outage, notify.KindReminder: reminder, notify.KindRecovery: recovery,
		notify.KindReport: report, notify.KindTest: test, notify.KindChange: change,
	}
}

// Request is what the receiver saw of one request.
type Request struct {
	Method string
	URI    string // path and query as sent
	Header http.Header
	Body   string
}

// Dump renders the request for golden files: the request line, every
// header sorted by name, a blank line and the body.
func (r Request) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URI)
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.WriteString(r.Body)
	if !strings.HasSuffix(r.Body, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// Receiver is an HTTP server on loopback that records requests and answers
// each with Status and Body.
type Receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	status   int
	body     string
}

// NewReceiver starts a receiver answering status and body; it is closed when
// the test ends.
func NewReceiver(t testing.TB, status int, body string) *Receiver {
	t.Helper()
	r := &Receiver{status: status, body: body}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, Request{Method: req.Method, URI: req.RequestURI, Header: req.Header.Clone(), Body: string(b)})
	status, body := r.status, r.body
	r.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Requests returns the requests received so far, and forgets them.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs := r.requests
	r.requests = nil
	return reqs
}

// Only returns the single request received since the last call, failing the
// test if there was not exactly one.
func (r *Receiver) Only(t testing.TB) Request {
	t.Helper()
	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// New builds a notifier with a provider's New, failing the test if that
// fails.
func New[C, P any](t testing.TB, newFn func(name string, cfg C) (P, error), name string, cfg C) P {
	t.Helper()
	p, err := newFn(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Deliver sends e with p, failing the test if Send fails, and returns the
// single request the receiver got for it.
func (r *Receiver) Deliver(t testing.TB, p notify.Provider, e notify.Event) Request {
	t.Helper()
	if err := p.Send(context.Background(), e); err != nil {
		t.Fatalf("%s: %v", e.Kind, err)
	}
	return r.Only(t)
}

// SendGolden delivers the sample event (see Events) of each kind with p and
// compares each request's Dump with testdata/<prefix><kind>.txt.
func (r *Receiver) SendGolden(t testing.TB, p notify.Provider, prefix string, kinds ...notify.Kind) {
	t.Helper()
	events := Events(t)
	for _, kind := range kinds {
		Golden(t, prefix+string(kind)+".txt", r.Deliver(t, p, events[kind]).Dump())
	}
}

// Errors calls f with the input of each case and checks the text of the
// error it returns ("" for none), as "name(input) = got, want want".
func Errors(t testing.TB, name string, f func(in string) error, cases []Case) {
	t.Helper()
	for _, c := range cases {
		if got := errText(f(c.In)); got != c.Want {
			t.Errorf("%s(%q) = %q, want %q", name, c.In, got, c.Want)
		}
	}
}

// Case is one row of an Errors table: an input and the error text it must
// give, "" for none. It is an alias of an unnamed struct type, so that the
// providers' tables can list their rows without field names.
type Case = struct{ In, Want string }

// Edit is one row of a Validate table: a change to a valid configuration
// and the error text Validate must then give, "" for none. Like Case, an
// alias, so that rows need no field names.
type Edit[C any] = struct {
	Name string
	Edit func(*C)
	Want string
}

// Validate applies each edit to a copy of ok and checks the text of the
// error its Validate returns.
func Validate[C interface{ Validate() error }](t testing.TB, ok C, edits []Edit[C]) {
	t.Helper()
	for _, e := range edits {
		c := ok
		e.Edit(&c)
		if got := errText(c.Validate()); got != e.Want {
			t.Errorf("%s: Validate() = %q, want %q", e.Name, got, e.Want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Golden compares got with testdata/name, or rewrites the file when the test
// runs with -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}
