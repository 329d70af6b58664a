package site

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
	"github.com/zappy-mon/zappy/runtime/runner"
	"github.com/zappy-mon/zappy/runtime/scheduler"
	"github.com/zappy-mon/zappy/runtime/state"
)

var (
	cacheDir   string
	sharedOnce sync.Once
	shared     *runner.Runner
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zappy-site-test")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testRunner is one engine + runner for the whole test binary (the built-in
// module compiles once).
func testRunner(t testing.TB) *runner.Runner {
	t.Helper()
	sharedOnce.Do(func() {
		e, err := engine.New(engine.Options{CacheDir: filepath.Join(cacheDir, "wazero"), Logger: quietLog()})
		if err != nil {
			panic(err)
		}
		shared, err = runner.New(context.Background(), e, quietLog())
		if err != nil {
			panic(err)
		}
	})
	return shared
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// target is an HTTP server whose health the test switches.
type target struct {
	*httptest.Server
	healthy atomic.Bool
	hits    atomic.Int64
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.healthy.Store(true)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if !tg.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "maintenance")
			return
		}
		fmt.Fprint(w, "all good")
	}))
	t.Cleanup(tg.Close)
	return tg
}

// hookReceiver records webhook deliveries with the fake clock's time.
type hookReceiver struct {
	*httptest.Server
	clock *scheduler.FakeClock
	mu    sync.Mutex
	got   []delivery
	down  atomic.Bool
}

type delivery struct {
	At      time.Time
	Key     string // Idempotency-Key
	Message string
}

func newHookReceiver(t *testing.T, clock *scheduler.FakeClock) *hookReceiver {
	h := &hookReceiver{clock: clock}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var body struct{ Message string }
		json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		h.got = append(h.got, delivery{At: h.clock.Now(), Key: r.Header.Get("Idempotency-Key"), Message: body.Message})
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

var epoch = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOutageAndRecovery drives a site through an outage and a recovery on a
// fake clock: the failing monitor's notifications reach a loopback webhook
// receiver and a loopback SMTP server at the paced times, the recovery
// arrives, and the other monitors keep their schedule.
func TestOutageAndRecovery(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web, steady := newTarget(t), newTarget(t)
	hook := newHookReceiver(t, clock)
	smtpd := testutil.StartSMTPD(t, nil)
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  timezone: UTC
  max_retries: 1
  max_try_secs: 5
  check_every_n_secs: 60
  notify_every_n_secs: 600
  after_every_n_notifications: 4
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
monitors:
  - type: http
    name: web
    address: %s/
  - type: http
    name: steady-a
    address: %s/a
  - type: http
    name: steady-b
    address: %s/b
    every: 30s
`, smtpd.Port, hook.URL, web.URL, steady.URL, steady.URL))
	s, _ := openSite(t, path, clock)
	clock.Settle = s.settle
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration) { clock.Advance(d); s.settle() }

	step(5 * time.Minute) // all healthy
	if d := hook.deliveries(); len(d) != 0 {
		t.Fatalf("notifications while healthy: %+v", d)
	}
	web.healthy.Store(false)
	failAt := clock.Now()
	step(40 * time.Minute)
	web.healthy.Store(true)
	recoverAt := clock.Now()
	step(5 * time.Minute)

	// The outage is noticed at web's next check (within 60 s), notified at
	// once, then reminded after 262.5 s, 450 s, 562.5 s and 600 s (X=600,
	// N=4: X·t·(2−t)), then the recovery at the next check.
	d := hook.deliveries()
	for _, x := range d {
		t.Logf("%v %s", x.At.Sub(epoch), x.Message)
	}
	if len(d) < 2 {
		t.Fatalf("deliveries: %+v", d)
	}
	outageAt := d[0].At
	if outageAt.Before(failAt) || outageAt.After(failAt.Add(time.Minute)) {
		t.Fatalf("outage notified at %v, failure began %v", outageAt, failAt)
	}
	gaps := []time.Duration{262500 * time.Millisecond, 450 * time.Second, 562500 * time.Millisecond, 600 * time.Second, 600 * time.Second}
	want := []string{"new outage: HTTP 503 Service Unavailable"}
	at := outageAt
	for _, g := range gaps {
		at = at.Add(g)
		if at.After(recoverAt) {
			break
		}
		want = append(want, "is down: HTTP 503")
	}
	want = append(want, "is UP")
	if len(d) != len(want) {
		t.Fatalf("%d deliveries, want %d: %+v", len(d), len(want), d)
	}
	at = outageAt
	for i, w := range want {
		if !strings.Contains(d[i].Message, w) || !strings.HasPrefix(d[i].Message, "web in Lab ") {
			t.Errorf("delivery %d: %q, want it to contain %q", i, d[i].Message, w)
		}
		if i > 0 && i < len(want)-1 {
			at = at.Add(gaps[i-1])
			if !d[i].At.Equal(at) {
				t.Errorf("reminder %d at %v, want %v (paced)", i, d[i].At, at)
			}
		}
		if d[i].Key == "" {
			t.Errorf("delivery %d without Idempotency-Key", i)
		}
	}
	last := d[len(d)-1].At
	if last.Before(recoverAt) || last.After(recoverAt.Add(time.Minute)) {
		t.Fatalf("recovery at %v, service back at %v", last, recoverAt)
	}
	// The same notifications by email, threaded.
	mails := smtpd.Messages()
	if len(mails) != len(want) {
		t.Fatalf("%d mails, want %d", len(mails), len(want))
	}
	root := mails[0].Header.Get("Message-Id")
	if !strings.HasPrefix(mails[0].Header.Get("Subject"), "NEW OUTAGE: web in Lab") || root == "" {
		t.Fatalf("first mail %v", mails[0].Header)
	}
	for _, m := range mails[1:] {
		if m.Header.Get("In-Reply-To") != root || !strings.Contains(m.Header.Get("References"), root) {
			t.Fatalf("mail %q not threaded on %s: %v", m.Header.Get("Subject"), root, m.Header)
		}
	}
	if !strings.HasPrefix(mails[len(mails)-1].Header.Get("Subject"), "RECOVERY: web in Lab is UP") {
		t.Fatalf("last mail %q", mails[len(mails)-1].Header.Get("Subject"))
	}
	// The other monitors kept their schedules throughout: steady-a every
	// 60 s, steady-b every 30 s, without gaps.
	for name, every := range map[string]time.Duration{"steady-a": time.Minute, "steady-b": 30 * time.Second} {
		rows, err := s.Store().History(context.Background(), name, time.Time{}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < int(50*time.Minute/every)-1 {
			t.Fatalf("%s checked %d times in 50 minutes", name, len(rows))
		}
		for i := 1; i < len(rows); i++ {
			if gap := rows[i-1].At.Sub(rows[i].At); gap != every {
				t.Fatalf("%s: checks %v apart at %v", name, gap, rows[i].At)
			}
			if rows[i].Status != "up" {
				t.Fatalf("%s: %s at %v", name, rows[i].Status, rows[i].At)
			}
		}
	}
	// State after recovery.
	st, _, err := s.Store().Monitor(context.Background(), "web")
	if err != nil || !st.IsUp || st.OutageID != "" || st.NotifiedCount != 0 || st.LastConfigChecksum == "" {
		t.Fatalf("web state %+v %v", st, err)
	}
}

// TestEndpointDownThenBack queues notifications while the webhook endpoint
// is down and delivers them, in order, when it returns.
func TestEndpointDownThenBack(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	hook := newHookReceiver(t, clock)
	hook.down.Store(true)
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  max_retries: 1
  check_every_n_secs: 60
  notify_every_n_secs: 300
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - type: http
    name: web
    address: %s/
`, hook.URL, web.URL))
	s, _ := openSite(t, path, clock)
	clock.Settle = s.settle
	s.Start(context.Background())
	step := func(d time.Duration) { clock.Advance(d); s.settle() }
	step(2 * time.Minute)
	web.healthy.Store(false)
	step(12 * time.Minute) // outage + two reminders, all failing to deliver
	web.healthy.Store(true)
	step(2 * time.Minute) // recovery, also queued
	if n, _ := s.Store().PendingCount(context.Background()); n != 4 || len(hook.deliveries()) != 0 {
		t.Fatalf("pending %d, delivered %d", n, len(hook.deliveries()))
	}
	hook.down.Store(false)
	step(10 * time.Minute) // backoff retries reach the endpoint
	d := hook.deliveries()
	want := []string{"new outage", "is down", "is down", "is UP"}
	if len(d) != len(want) {
		t.Fatalf("delivered %+v", d)
	}
	for i, w := range want {
		if !strings.Contains(d[i].Message, w) {
			t.Fatalf("delivery %d %q, want %q (in order)", i, d[i].Message, w)
		}
	}
	if n, _ := s.Store().PendingCount(context.Background()); n != 0 {
		t.Fatalf("still pending: %d", n)
	}
}

func TestHeartbeatsOnTime(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	var beats []time.Time
	var mu sync.Mutex
	hb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		beats = append(beats, clock.Now())
		mu.Unlock()
	}))
	defer hb.Close()
	path := writeConfig(t, fmt.Sprintf(`
site: {name: Lab, max_retries: 1}
monitors:
  - type: http
    name: web
    address: %s/
    check_every_n_secs: 60
    heartbeat_url: %s/beat
    heartbeat_every_n_secs: 300
`, web.URL, hb.URL))
	s, _ := openSite(t, path, clock)
	clock.Settle = s.settle
	s.Start(context.Background())
	step := func(d time.Duration) { clock.Advance(d); s.settle() }
	step(2 * time.Minute) // first check done, up
	mu.Lock()
	beats = nil
	mu.Unlock()
	step(20 * time.Minute)
	web.healthy.Store(false)
	step(10 * time.Minute) // down: no heartbeats
	mu.Lock()
	defer mu.Unlock()
	if len(beats) != 4 {
		t.Fatalf("heartbeats at %v", beats)
	}
	for i := 1; i < len(beats); i++ {
		if gap := beats[i].Sub(beats[i-1]); gap != 5*time.Minute {
			t.Fatalf("heartbeats %v apart: %v", gap, beats)
		}
	}
	_ = net.IPv4len
}

// TestReloadKeepsStateAndRechecksChanged reloads a running site: a monitor
// whose fields changed is checked at once, an unchanged one keeps its
// cadence, a removed one stops, and outage state survives.
func TestReloadKeepsStateAndRechecksChanged(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	cfgText := func(expect string) string {
		return fmt.Sprintf(`
site: {name: Lab, max_retries: 1}
monitors:
  - {type: http, name: changed, address: "%s/", every: 10m, expect: %q}
  - {type: http, name: same, address: "%s/same", every: 10m}
  - {type: http, name: removed, address: "%s/removed", every: 10m}
`, web.URL, expect, web.URL, web.URL)
	}
	path := writeConfig(t, cfgText("all good"))
	s, _ := openSite(t, path, clock)
	clock.Settle = s.settle
	s.Start(context.Background())
	clock.Advance(11 * time.Minute)
	s.settle()
	sameNext, _ := s.sched.Next("check/same")
	before := web.hits.Load()
	os.WriteFile(path, []byte(cfgText("nope")+"\n"), 0o644)
	cfg2, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg2.Monitors = cfg2.Monitors[:2] // "removed" is gone
	if err := s.Reload(context.Background(), cfg2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(0)
	s.settle()
	if got := web.hits.Load() - before; got != 1 {
		t.Fatalf("%d checks right after the reload, want 1 (the changed monitor)", got)
	}
	st, _, _ := s.Store().Monitor(context.Background(), "changed")
	if st.OutageID == "" || !strings.Contains(st.ErrorReason, `expected "nope" not found`) {
		t.Fatalf("changed monitor not re-checked with its new fields: %+v", st)
	}
	if next, _ := s.sched.Next("check/same"); !next.Equal(sameNext) {
		t.Fatalf("unchanged monitor's next check moved from %v to %v", sameNext, next)
	}
	if _, ok := s.sched.Next("check/removed"); ok {
		t.Fatal("removed monitor still scheduled")
	}
}

func TestHistoryFields(t *testing.T) {
	big := strings.Repeat("x", maxHistoryFields)
	tests := []struct {
		name   string
		status check.Status
		prev   check.Status
		fields map[string]any
		want   string
	}{
		{"steady up: none", check.Up, check.Up, map[string]any{"code": 200}, ""},
		{"first result", check.Up, "", map[string]any{"code": 200}, `{"code":200}`},
		{"recovered", check.Up, check.Down, map[string]any{"code": 200}, `{"code":200}`},
		{"down", check.Down, check.Down, map[string]any{"code": 503}, `{"code":503}`},
		{"degraded", check.Degraded, check.Up, map[string]any{"ms": 900}, `{"ms":900}`},
		{"no fields", check.Down, check.Up, nil, ""},
		{"too big", check.Down, check.Up, map[string]any{"body": big}, fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(big)+11)},
	}
	for _, tt := range tests {
		got := historyFields(check.Result{Status: tt.status, Fields: tt.fields}, tt.prev)
		if string(got) != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestCloseIsGraceful: a check in flight when the site stops finishes, and
// its result and the notification it causes are saved and delivered;
// one that outlasts the grace period is cancelled.
func TestCloseIsGraceful(t *testing.T) {
	inFlight := make(chan struct{}, 4)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight <- struct{}{}
		time.Sleep(700 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	hook := newHookReceiver(t, scheduler.NewFakeClock(epoch))
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  max_retries: 1
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - type: http
    name: slow
    address: %s/
    every: 1h
`, hook.URL, slow.URL))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		grace time.Duration
		saved bool
	}{
		{"finishes within the grace period", 5 * time.Second, true},
		{"cancelled after it", 100 * time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			statePath := filepath.Join(t.TempDir(), "state.db")
			s, err := Open(context.Background(), cfg, Options{Runner: testRunner(t), StatePath: statePath, Log: quietLog(), ShutdownGrace: tt.grace})
			if err != nil {
				t.Fatal(err)
			}
			before := len(hook.deliveries())
			s.Start(context.Background())
			s.sched.RunNow("check/slow")
			<-inFlight
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			st, err := state.Open(statePath)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ms, _, err := st.Monitor(context.Background(), "slow")
			if err != nil {
				t.Fatal(err)
			}
			delivered := len(hook.deliveries()) - before
			if saved := !ms.LastChecked.IsZero(); saved != tt.saved || (delivered == 1) != tt.saved || tt.saved && ms.Status != "down" {
				t.Errorf("saved %v (status %q), %d delivered; want saved %v", saved, ms.Status, delivered, tt.saved)
			}
		})
	}
}

// TestReportSchedule: the report comes every `every` after the last one,
// whatever reloads and restarts happen in between.
func TestReportSchedule(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	web.healthy.Store(false)
	hook := newHookReceiver(t, clock)
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  max_retries: 1
  report: {every: 1h}
  outage_webhooks:
    - {endpoint_url: "%s/hook", request_method: POST, request_encoding: JSON}
monitors:
  - {type: http, name: web, address: "%s/", every: 10m, notify_every: 24h}
`, hook.URL, web.URL))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "state.db")
	open := func() *Site {
		s, err := Open(context.Background(), cfg, Options{Runner: testRunner(t), StatePath: statePath, Clock: clock, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		clock.Settle = s.settle
		s.Start(context.Background())
		return s
	}
	reports := func() []time.Duration {
		var out []time.Duration
		for _, d := range hook.deliveries() {
			if strings.Contains(d.Message, "still failing") {
				out = append(out, d.At.Sub(epoch).Round(time.Second)) // the scheduler may start jobs 2 ms early
			}
		}
		return out
	}
	s := open()
	clock.Advance(90 * time.Minute) // report at 1h
	if err := s.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	clock.Advance(40 * time.Minute) // report at 2h, not 2h30
	s.Close()
	s = open()                      // restarted at 2h10
	clock.Advance(60 * time.Minute) // report at 3h, not 3h10
	s.Close()
	want := []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}
	if got := reports(); !reflect.DeepEqual(got, want) {
		t.Fatalf("reports at %v, want %v", got, want)
	}
}

// TestOncePrunes: cron mode prunes history past its retention itself.
func TestOncePrunes(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	path := writeConfig(t, fmt.Sprintf("site: {name: Lab, history_retention: 1h}\nmonitors:\n  - {type: http, name: web, address: \"%s/\", every: 1m}\n", web.URL))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "state.db")
	for range 2 {
		s, err := Open(context.Background(), cfg, Options{Runner: testRunner(t), StatePath: statePath, Clock: clock, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		clock.Advance(2 * time.Hour)
	}
	st, err := state.Open(statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.History(context.Background(), "web", time.Time{}, 10)
	if err != nil || len(rows) != 1 || !rows[0].At.Equal(epoch.Add(2*time.Hour)) {
		t.Fatalf("history after two runs 2 h apart with 1 h retention: %+v %v", rows, err)
	}
}

// TestEmailPerRecipient: each recipient gets a mail of its own, and one
// address the server rejects holds up nobody else.
func TestEmailPerRecipient(t *testing.T) {
	clock := scheduler.NewFakeClock(epoch)
	web := newTarget(t)
	web.healthy.Store(false)
	smtpd := testutil.StartSMTPD(t, nil)
	smtpd.Reject("gone@lab.test")
	path := writeConfig(t, fmt.Sprintf(`
site:
  name: Lab
  max_retries: 1
  email_server: {smtp_host: 127.0.0.1, smtp_port: %d, from_address: zappy@lab.test, use_tls: false}
  outage_emails:
    - email: gone@lab.test
    - email: ops@lab.test
    - email: boss@lab.test
      email_outages: false
monitors:
  - {type: http, name: web, address: "%s/", every: 1m}
`, smtpd.Port, web.URL))
	s, _ := openSite(t, path, clock)
	if _, err := s.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := smtpd.Messages()
	if len(msgs) != 1 || !reflect.DeepEqual(msgs[0].To, []string{"ops@lab.test"}) || msgs[0].Header.Get("To") != "<ops@lab.test>" ||
		!strings.HasPrefix(msgs[0].Header.Get("Subject"), "NEW OUTAGE: web in Lab") {
		t.Fatalf("mails: %+v", msgs)
	}
	if n, _ := s.Store().PendingCount(context.Background()); n != 1 {
		t.Fatalf("%d pending, want 1 (the rejected address, retried later)", n)
	}
}

// openSite loads the configuration at path and opens its site on clock
// with a fresh state database; the site is closed when the test ends.
func openSite(t *testing.T, path string, clock scheduler.Clock) (*Site, *config.Config) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), cfg, Options{Runner: testRunner(t), StatePath: filepath.Join(t.TempDir(), "state.db"), Clock: clock, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, cfg
}
