package alertmanager

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

// now is the notifiers' clock in these tests: 2026-07-14 18:30:00 UTC.
var now = time.Date(2026, 7, 14, 18, 30, 0, 0, time.UTC)

func newNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n := hooktest.New(t, New, "am", cfg)
	n.now = func() time.Time { return now }
	return n
}

func TestSend(t *testing.T) {
	events := hooktest.Events(t)
	recv := hooktest.NewReceiver(t, http.StatusOK, "")
	n := newNotifier(t, Config{URL: recv.URL + "/", Labels: map[string]string{"team": "ops", "env": "prod"}})
	steps := []struct {
		kind   notify.Kind
		firing string
	}{
		{notify.KindOutage, "web"},
		{notify.KindReminder, "web"},
		{notify.KindRecovery, ""},
		{notify.KindTest, ""},
	}
	for _, s := range steps {
		if err := n.Send(context.Background(), events[s.kind]); err != nil {
			t.Fatalf("%s: %v", s.kind, err)
		}
		hooktest.Golden(t, string(s.kind)+".txt", recv.Only(t).Dump())
		if got := strings.Join(n.Firing(), ","); got != s.firing {
			t.Errorf("after %s firing = %q, want %q", s.kind, got, s.firing)
		}
	}

	// Reports are not posted: the firing alerts are the report.
	if err := n.Send(context.Background(), events[notify.KindReport]); err != nil {
		t.Fatal(err)
	}
	if reqs := recv.Requests(); len(reqs) != 0 {
		t.Errorf("report posted %d request(s)", len(reqs))
	}

	// A reminder of the recovered outage retried late does not fire again.
	if err := n.Send(context.Background(), events[notify.KindReminder]); err != nil {
		t.Fatal(err)
	}
	if reqs := recv.Requests(); len(reqs) != 0 || len(n.Firing()) != 0 {
		t.Errorf("late reminder posted %d request(s), firing %v", len(reqs), n.Firing())
	}
}

// TestRun starts Run with a short repeat_every against a loopback receiver:
// the firing set given by SetFiring is posted at once and again every
// period, and a recovery drops its alert from later posts.
func TestRun(t *testing.T) {
	events := hooktest.Events(t)
	recv := hooktest.NewReceiver(t, http.StatusOK, "")
	n := newNotifier(t, Config{URL: recv.URL, RepeatEvery: 20 * time.Millisecond})

	db := events[notify.KindOutage]
	db.ID, db.Monitor, db.Type, db.Address, db.OutageID, db.Message = "evt-9", "db", "tcp", "tcp://10.0.0.9:5432", "out-9", "connection refused"
	n.SetFiring([]notify.Event{events[notify.KindReminder], db, events[notify.KindReport]})
	if got := strings.Join(n.Firing(), ","); got != "db,web" {
		t.Fatalf("firing = %q, want db,web", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	both := waitPosts(t, recv, 3)
	for i, r := range both {
		if r.Method != "POST" || r.URI != "/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("User-Agent") != "zappy/1" || r.Header.Get("Idempotency-Key") != "" {
			t.Errorf("re-post %d: %s %s %v", i, r.Method, r.URI, r.Header)
		}
		hooktest.Golden(t, "repost_both.json", r.Body+"\n")
	}

	if err := n.Send(context.Background(), events[notify.KindRecovery]); err != nil {
		t.Fatal(err)
	}
	// The recovery's own post, and a re-post that took its snapshot before
	// the recovery, still name web; after the first post with db alone, no
	// post has web.
	var dbOnly int
	for dbOnly < 2 {
		for _, r := range waitPosts(t, recv, 1) {
			if dbOnly == 0 && strings.Contains(r.Body, `"monitor":"web"`) {
				continue
			}
			hooktest.Golden(t, "repost_db.json", r.Body+"\n")
			dbOnly++
		}
	}
	cancel()
	<-done
}

// waitPosts waits until the receiver has at least n new requests and
// returns them.
func waitPosts(t *testing.T, recv *hooktest.Receiver, n int) []hooktest.Request {
	t.Helper()
	var got []hooktest.Request
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d re-posts, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
		got = append(got, recv.Requests()...)
	}
	return got
}

// TestRepostNothing checks that an empty firing set posts nothing.
func TestRepostNothing(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "")
	n := newNotifier(t, Config{URL: recv.URL})
	if err := n.Repost(context.Background()); err != nil {
		t.Fatal(err)
	}
	if reqs := recv.Requests(); len(reqs) != 0 {
		t.Errorf("posted %d request(s)", len(reqs))
	}
}

func TestSendError(t *testing.T) {
	events := hooktest.Events(t)
	recv := hooktest.NewReceiver(t, http.StatusBadRequest, `{"code":400,"message":"start time must be before end time"}`)
	n := newNotifier(t, Config{URL: recv.URL})
	err := n.Send(context.Background(), events[notify.KindOutage])
	want := `alertmanager "am": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 400 Bad Request: {"code":400,"message":"start time must be before end time"}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	// The alert stays in the firing set, so Run keeps posting it.
	if got := strings.Join(n.Firing(), ","); got != "web" {
		t.Errorf("firing = %q, want web", got)
	}
	err = n.Repost(context.Background())
	want = `alertmanager "am": re-posting 1 alert(s): POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 400 Bad Request: {"code":400,"message":"start time must be before end time"}`
	if err == nil || err.Error() != want {
		t.Errorf("Repost err = %v\nwant %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:9093"}
	hooktest.Validate(t, ok, []hooktest.Edit[Config]{
		{"ok", func(*Config) {}, ""},
		{"labels", func(c *Config) { c.Labels = map[string]string{"team": "ops", "_x1": "y"} }, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url is required"},
		{"reserved", func(c *Config) { c.Labels = map[string]string{"site": "x"} }, `labels: "site" is set by zappy`},
		{"reserved for changes", func(c *Config) { c.Labels = map[string]string{"key": "x"} }, `labels: "key" is set by zappy`},
		{"bad name", func(c *Config) { c.Labels = map[string]string{"1team": "x"} }, `labels: "1team" is not a valid label name`},
		{"empty value", func(c *Config) { c.Labels = map[string]string{"team": ""} }, `labels: "team" has an empty value`},
		{"negative", func(c *Config) { c.RepeatEvery = -time.Second }, "repeat_every must be positive, not -1s"},
	})
	n := hooktest.New(t, New, "am", ok)
	if n.cfg.RepeatEvery != time.Minute || n.endpoint != "http://127.0.0.1:9093/api/v2/alerts" {
		t.Errorf("defaults: repeat_every %v, endpoint %q", n.cfg.RepeatEvery, n.endpoint)
	}
}

// TestSendChange posts a change a module reported: a ZappyChange alert with
// change and key labels that fires for five minutes from the change and is
// not kept firing.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "")
	n := newNotifier(t, Config{URL: recv.URL + "/", Labels: map[string]string{"team": "ops"}})
	e := hooktest.Events(t)[notify.KindChange]
	r := recv.Deliver(t, n, e)
	want := `[{"labels":{"alertname":"ZappyChange","change":"PORT CHANGE","key":"if:2","monitor":"office-switch","site":"HomeLab","team":"ops","type":"ports"},` +
		`"annotations":{"description":"GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)",` +
		`"summary":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT"},` +
		`"startsAt":"2026-07-14T18:22:00Z","endsAt":"2026-07-14T18:27:00Z"}]`
	if r.Method != "POST" || r.URI != "/api/v2/alerts" || r.Body != want || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s %s key %q\n%s\nwant POST /api/v2/alerts key evt-6\n%s", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, want)
	}
	if f := n.Firing(); len(f) != 0 {
		t.Errorf("firing after a change: %v", f)
	}
	if err := n.Repost(context.Background()); err != nil {
		t.Fatal(err)
	}
	if reqs := recv.Requests(); len(reqs) != 0 {
		t.Errorf("change re-posted: %+v", reqs)
	}

	// Without a key there is no key label.
	e.Key = ""
	if err := n.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if body := recv.Only(t).Body; !strings.HasPrefix(body, `[{"labels":{"alertname":"ZappyChange","change":"PORT CHANGE","monitor":"office-switch",`) {
		t.Errorf("change without key: %s", body)
	}
}
