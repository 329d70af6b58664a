package site

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/scheduler"
)

// portsimModule compiles testdata/guests/portsim (a module reporting switch
// port changes as events) once per test binary and returns its path.
func portsimModule(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portsim.wasm")
	if err := os.WriteFile(path, testutil.BuildGo(t, "./testdata/guests/portsim"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// switches serves the port lists of simulated switches, one per path; a
// path without ports answers 503.
type switches struct {
	*httptest.Server
	mu    sync.Mutex
	ports map[string]string
}

func newSwitches(t *testing.T) *switches {
	sw := &switches{ports: map[string]string{}}
	sw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw.mu.Lock()
		body, ok := sw.ports[r.URL.Path]
		sw.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(sw.Close)
	return sw
}

func (sw *switches) set(path, ports string) {
	sw.mu.Lock()
	sw.ports[path] = ports
	sw.mu.Unlock()
}

const (
	portsUp   = "Gi0/1 oper=up admin=up\nGi0/2 oper=up admin=up\n"
	portsDown = "Gi0/1 oper=up admin=up\nGi0/2 oper=down admin=up\n"
)

// TestModuleChanges runs a site in cron mode (Once) whose monitors run a
// module that reports port changes: each change reaches the webhook and
// the mail server as a "PORT CHANGE" notification while the monitors stay
// up, except where notifications are quiet (alarms off, a dependency down),
// for notifiers with outages off, and by mail for a monitor with email off.
func TestModuleChanges(t *testing.T) {
	module := portsimModule(t)
	clock := scheduler.NewFakeClock(epoch)
	sw := newSwitches(t)
	hook, mute := newHookReceiver(t, clock), newHookReceiver(t, clock)
	smtpd := testutil.StartSMTPD(t, nil)
	for _, p := range []string{"/sw", "/noalarm", "/nomail", "/behind"} {
		sw.set(p, portsUp)
	}
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  timezone: UTC
  max_retries: 1
  check_every_n_secs: 60
  notify_every_n_secs: 300
  after_every_n_notifications: 2
  failures_before_outage: 1
  email_server:
    smtp_host: 127.0.0.1
    smtp_port: %d
    from_address: zappy@lab.test
    use_tls: false
  outage_emails:
    - email: ops@lab.test
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
  notifiers:
    - name: recoveries-only
      type: webhook
      outages: false
      endpoint_url: %s/mute
      request_method: POST
      request_encoding: JSON
monitors:
  - {type: portsim, name: sw, module: %q, address: "%s/sw"}
  - {type: portsim, name: sw-noalarm, module: %q, address: "%s/noalarm", alarms: false}
  - {type: portsim, name: sw-nomail, module: %q, address: "%s/nomail", email: false}
  - {type: portsim, name: router, module: %q, address: "%s/router"}
  - {type: portsim, name: sw-behind, module: %q, address: "%s/behind", depends: [router]}
`, smtpd.Port, hook.URL, mute.URL, module, sw.URL, module, sw.URL, module, sw.URL, module, sw.URL, module, sw.URL))
	s, _ := openSite(t, path, clock)
	ctx := context.Background()

	// First run: the module learns the ports; the router (503) goes down.
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if d := hook.deliveries(); len(d) != 1 || !strings.HasPrefix(d[0].Message, "router in Lab new outage: HTTP 503") {
		t.Fatalf("first run: %+v", d)
	}
	mailsBefore := len(smtpd.Messages())

	// Gi0/2 goes down on every switch; a minute later everything is checked
	// again.
	for _, p := range []string{"/sw", "/noalarm", "/nomail", "/behind"} {
		sw.set(p, portsDown)
	}
	clock.Advance(time.Minute)
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range hook.deliveries()[1:] {
		got = append(got, d.Message)
		if d.Key == "" {
			t.Errorf("change delivered without Idempotency-Key: %q", d.Message)
		}
	}
	want := []string{
		"PORT CHANGE: sw in Lab: Gi0/2 oper=down admin=up (was oper=up admin=up) at 9:01 AM UTC",
		"PORT CHANGE: sw-nomail in Lab: Gi0/2 oper=down admin=up (was oper=up admin=up) at 9:01 AM UTC",
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("webhook got\n%q\nwant\n%q", got, want)
	}
	if d := mute.deliveries(); len(d) != 0 {
		t.Errorf("notifier with outages: false got %+v", d)
	}
	mails := smtpd.Messages()[mailsBefore:]
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1 (sw's change)", len(mails))
	}
	if subj := mails[0].Header.Get("Subject"); subj != "PORT CHANGE: sw in Lab" || strings.Join(mails[0].To, ",") != "ops@lab.test" {
		t.Errorf("mail %q to %v", subj, mails[0].To)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(mails[0].Body)))
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(body), "\r\n"); first != "PORT CHANGE: sw in Lab: Gi0/2 oper=down admin=up (was oper=up admin=up) at 9:01 AM UTC" {
		t.Errorf("mail body %q", body)
	}

	// The monitors stayed up, and their module saw the site's pacing.
	for _, name := range []string{"sw", "sw-noalarm", "sw-nomail", "sw-behind"} {
		st, _, err := s.Store().Monitor(ctx, name)
		if err != nil || !st.IsUp || st.OutageID != "" || st.Status != "up" {
			t.Errorf("%s state %+v %v", name, st, err)
		}
	}
	rows, err := s.Store().History(ctx, "sw", time.Time{}, 100)
	if err != nil || len(rows) != 2 {
		t.Fatalf("history %v %v", rows, err)
	}
	// History keeps the fields of the first result, not of the steady up
	// one after it.
	first, second := rows[1], rows[0]
	if !second.At.After(first.At) || second.Fields != nil {
		t.Errorf("history rows: %+v", rows)
	}
	var fields map[string]any
	if err := json.Unmarshal(first.Fields, &fields); err != nil || fields["notify_every_ms"] != 300000.0 || fields["after_every_n"] != 2.0 {
		t.Errorf("module saw %v (%v), want notify_every_ms 300000 after_every_n 2", fields, err)
	}

	// Nothing changes: nothing more is sent.
	clock.Advance(time.Minute)
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(hook.deliveries()); n != 3 {
		t.Errorf("%d webhook deliveries after a quiet run, want 3", n)
	}
	if n, _ := s.Store().PendingCount(ctx); n != 0 {
		t.Errorf("%d notifications still pending", n)
	}
}

// TestModuleChangesRun is the same change under the daemon (Start and a
// fake clock): delivered once, with the time of the check that saw it.
func TestModuleChangesRun(t *testing.T) {
	module := portsimModule(t)
	clock := scheduler.NewFakeClock(epoch)
	sw := newSwitches(t)
	sw.set("/sw", portsUp)
	hook := newHookReceiver(t, clock)
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  timezone: UTC
  max_retries: 1
  check_every_n_secs: 60
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - {type: portsim, name: sw, module: %q, address: "%s/sw"}
`, hook.URL, module, sw.URL))
	s, _ := openSite(t, path, clock)
	clock.Settle = s.settle
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration) { clock.Advance(d); s.settle() }
	step(2 * time.Minute)
	sw.set("/sw", portsDown)
	step(3 * time.Minute)
	d := hook.deliveries()
	if len(d) != 1 {
		t.Fatalf("deliveries %+v", d)
	}
	// The change is stamped with the first check after the port went down.
	rows, err := s.Store().History(context.Background(), "sw", time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var changedAt time.Time
	for _, r := range rows { // newest first
		if r.At.After(epoch.Add(2 * time.Minute)) {
			changedAt = r.At
		}
	}
	want := fmt.Sprintf("PORT CHANGE: sw in Lab: Gi0/2 oper=down admin=up (was oper=up admin=up) at %s", changedAt.UTC().Format("3:04 PM")+" UTC")
	if changedAt.IsZero() || d[0].Message != want || !d[0].At.Equal(changedAt) {
		t.Errorf("delivered %q at %v\nwant %q at %v", d[0].Message, d[0].At, want, changedAt)
	}
}
