package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

func newRunner(t *testing.T) *Runner {
	t.Helper()
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	r, err := New(context.Background(), e, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// recordingGate is a Gate of one slot that records what happened.
type recordingGate struct {
	mu     sync.Mutex
	held   bool
	events []string
	fail   error
}

func (g *recordingGate) Acquire(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return g.fail
	}
	if g.held {
		g.events = append(g.events, "double-acquire")
	}
	g.held = true
	g.events = append(g.events, "acquire")
	return nil
}

func (g *recordingGate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = false
	g.events = append(g.events, "release")
}

func TestRunGated(t *testing.T) {
	r := newRunner(t)
	up := "tcp://" + testutil.AcceptAndClose(t)
	tests := []struct {
		name     string
		address  string
		attempts int
		gateErr  error
		status   check.Status
		tries    int
		events   string
		message  string
	}{
		{"up at once", up, 3, nil, check.Up, 1, "acquire release", "connected"},
		{"retries a refused port, releasing between attempts", "tcp://" + testutil.ClosedPort(t, "tcp"), 3, nil, check.Down, 3,
			"acquire release acquire release acquire release", "connection refused"},
		{"one attempt", "tcp://" + testutil.ClosedPort(t, "tcp"), 1, nil, check.Down, 1, "acquire release", "connection refused"},
		{"gate refused", up, 3, errors.New("site stopping"), check.Error, 0, "", "not started: site stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := config.AdHoc("tcp", tt.address, nil, nil, nil, time.Second, tt.attempts)
			if err != nil {
				t.Fatal(err)
			}
			c, err := r.Prepare(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			c.RetryDelay = 20 * time.Millisecond
			g := &recordingGate{fail: tt.gateErr}
			res := c.RunGated(context.Background(), nil, g)
			if res.Status != tt.status || res.Attempts != tt.tries || !strings.Contains(res.Message, tt.message) {
				t.Errorf("got %s after %d attempt(s): %q; want %s after %d containing %q", res.Status, res.Attempts, res.Message, tt.status, tt.tries, tt.message)
			}
			if got := strings.Join(g.events, " "); got != tt.events {
				t.Errorf("gate events %q, want %q", got, tt.events)
			}
		})
	}
}

func TestRunAppliesAssertionsPerAttempt(t *testing.T) {
	r := newRunner(t)
	up := "tcp://" + testutil.AcceptAndClose(t)
	m, err := config.AdHoc("tcp", up, nil, []string{"connect_ms < 0"}, nil, time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Prepare(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	c.RetryDelay = time.Millisecond
	res := c.Run(context.Background(), nil)
	if res.Status != check.Down || res.Attempts != 2 || !strings.HasPrefix(res.Message, "assert failed: connect_ms < 0 (connect_ms=") {
		t.Fatalf("got %s after %d attempts: %q", res.Status, res.Attempts, res.Message)
	}
}

func TestPrepareUnknownType(t *testing.T) {
	r := newRunner(t)
	m, err := config.AdHoc("tcp", "tcp://127.0.0.1:1", nil, nil, nil, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.Type = "gopher"
	_, err = r.Prepare(context.Background(), m)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Field != "type" || !strings.Contains(ce.Msg, `unknown type "gopher"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestPrepareNotifyPacing: a check carries its monitor's effective
// notification pacing (site defaults, monitor overrides) to the module.
func TestPrepareNotifyPacing(t *testing.T) {
	r := newRunner(t)
	cfg, err := config.Parse("site.yaml", []byte(`
site:
  name: Lab
  notify_every_n_secs: 900
  after_every_n_notifications: 4
monitors:
  - {type: tcp, name: site-pacing, address: "tcp://127.0.0.1:1"}
  - {type: tcp, name: own-pacing, address: "tcp://127.0.0.1:1", notify_every_n_secs: 120, after_every_n_notifications: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		every time.Duration
		n     int
	}{"site-pacing": {15 * time.Minute, 4}, "own-pacing": {2 * time.Minute, 2}}
	for _, m := range cfg.Monitors {
		c, err := r.Prepare(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[m.Name]; c.req.NotifyEvery != w.every || c.req.AfterEveryN != w.n {
			t.Errorf("%s: NotifyEvery %v AfterEveryN %d, want %v %d", m.Name, c.req.NotifyEvery, c.req.AfterEveryN, w.every, w.n)
		}
	}
}
