package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
)

var guestDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zappy-engine-test")
	if err != nil {
		panic(err)
	}
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildGuest compiles testdata/guests/<name> for wasip1 once per test binary.
func buildGuest(t testing.TB, name string, tags ...string) []byte {
	t.Helper()
	return testutil.BuildGo(t, "./testdata/guests/"+name, tags...)
}

// testEngine makes an engine with a per-test compile cache and a log buffer.
func testEngine(t testing.TB) (*Engine, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	e, err := New(Options{CacheDir: filepath.Join(guestDir, "cache"), Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, logs
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func load(t testing.TB, e *Engine, name string, p Policy) *Module {
	t.Helper()
	m, err := e.Load(context.Background(), name, buildGuest(t, "hostile"), p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// listener accepts connections; each gets banner after delay, then is closed.
func listener(t testing.TB, banner string, delay time.Duration) string {
	t.Helper()
	return testutil.Accept(t, func(c net.Conn) {
		go func() {
			defer c.Close()
			if banner == "" {
				return
			}
			time.Sleep(delay)
			c.Write([]byte(banner + "\r\n"))
			bufio.NewReader(c).ReadString('\n')
		}()
	})
}

func cfg(kv ...any) json.RawMessage {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func TestManifest(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	man := m.Manifest()
	if man.Name != "hostile" || man.Version != "1.0.0" || man.Mode != modeMultiplexed || man.ABI != 1 {
		t.Fatalf("manifest %+v", man)
	}
	if ti, ok := man.Type("connect"); !ok || len(ti.Capabilities) != 1 || ti.Capabilities[0] != "tcp" {
		t.Fatalf("connect type %+v", ti)
	}
	if !m.caps["tcp"] || m.caps["udp"] {
		t.Fatalf("granted capabilities %v", m.caps)
	}
}

func TestRunBasics(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	addr := listener(t, "220 hello", 0)
	closed := testutil.ClosedPort(t, "tcp")
	tests := []struct {
		name    string
		req     check.Request
		status  check.Status
		class   check.Class
		message string
	}{
		{"connect up", check.Request{Type: "connect", Target: "tcp://" + addr}, check.Up, check.Success, "connected to " + addr},
		{"connect refused", check.Request{Type: "connect", Target: "tcp://" + closed}, check.Down, check.ExceptionError, "connection refused"},
		{"banner", check.Request{Type: "banner", Target: "tcp://" + addr}, check.Up, check.Success, "220 hello"},
		{"sleep", check.Request{Type: "sleep", Config: cfg("ms", 20)}, check.Up, check.Success, "slept"},
		{"banner with callbacks", check.Request{Type: "banner-then", Target: "tcp://" + addr}, check.Up, check.Success, "220 hello"},
		{"banner with callbacks refused", check.Request{Type: "banner-then", Target: "tcp://" + closed}, check.Down, check.ExceptionError, "connection refused"},
		{"panic after done", check.Request{Type: "banner-then", Target: "tcp://" + addr, Config: cfg("panic_after_done", true)}, check.Up, check.Success, "220 hello"},
		{"panic in a callback", check.Request{Type: "banner-then", Target: "tcp://" + addr, Config: cfg("panic", true)}, check.Error, check.ExceptionError, "check panicked: assignment to entry in nil map"},
		{"blocking call in a callback", check.Request{Type: "then-blocks", Target: "tcp://" + addr}, check.Error, check.ExceptionError, "tcp.read would block a check registered with RegisterThen"},
		{"callbacks never call done", check.Request{Type: "then-nodone"}, check.Error, check.ExceptionError, "did not finish within its timeout"},
		{"unknown type", check.Request{Type: "nope"}, check.Error, check.ExceptionError, `has no check type "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Name = tt.name
			tt.req.Timeout = 2 * time.Second
			res := m.Run(context.Background(), tt.req)
			if res.Status != tt.status || res.Class != tt.class || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s/%s %q, want %s/%s containing %q", res.Status, res.Class, res.Message, tt.status, tt.class, tt.message)
			}
			if res.Name != tt.name || (res.Status != check.Error && res.LatencyMS <= 0) {
				t.Fatalf("result name %q latency %v", res.Name, res.LatencyMS)
			}
		})
	}
}

func TestStateKeptBetweenRuns(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	var state json.RawMessage
	for want := 1; want <= 3; want++ {
		res := m.Run(context.Background(), check.Request{Name: "s", Type: "state", Timeout: time.Second, State: state})
		if res.Status != check.Up || res.Fields["n"] != float64(want) {
			t.Fatalf("run %d: %+v", want, res)
		}
		state = res.State
	}
	if string(state) != `{"n":3}` {
		t.Fatalf("state %s", state)
	}
}

// TestManyInFlight runs many checks at once through one instance: every
// check parks on the host while its listener waits before answering.
func TestManyInFlight(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	const n = 500
	addr := listener(t, "220 slow", 200*time.Millisecond)
	results := make(chan check.Result, n)
	for i := 0; i < n; i++ {
		m.Start(context.Background(), check.Request{Name: fmt.Sprint(i), Type: "banner", Target: "tcp://" + addr, Timeout: 5 * time.Second},
			func(r check.Result) { results <- r })
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.Status != check.Up || r.Fields["banner"] != "220 slow" {
			t.Fatalf("check %s: %s %q", r.Name, r.Status, r.Message)
		}
		seen[r.Name] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct results, want %d", len(seen), n)
	}
}

func TestPanicFailsOnlyItsCheck(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	addr := listener(t, "220 ok", 150*time.Millisecond)
	var wg sync.WaitGroup
	results := make([]check.Result, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = m.Run(context.Background(), check.Request{Name: fmt.Sprint(i), Type: "banner", Target: "tcp://" + addr, Timeout: 3 * time.Second})
		}()
	}
	// One more check of the same type, in the same instance, panics after
	// reading its banner while the others are parked waiting for theirs.
	time.Sleep(20 * time.Millisecond)
	p := m.Run(context.Background(), check.Request{Name: "p", Type: "banner", Target: "tcp://" + addr, Timeout: 3 * time.Second, Config: cfg("panic", true)})
	wg.Wait()
	if p.Status != check.Error || !strings.Contains(p.Message, "check panicked") || !strings.Contains(p.Message, "nil map") {
		t.Fatalf("panic check: %s %q", p.Status, p.Message)
	}
	for _, r := range results {
		if r.Status != check.Up {
			t.Fatalf("check %s next to the panic: %s %q", r.Name, r.Status, r.Message)
		}
	}
	// The instance survived the panic (it was recovered) and keeps serving.
	if r := m.Run(context.Background(), check.Request{Name: "after", Type: "banner", Target: "tcp://" + addr, Timeout: 3 * time.Second}); r.Status != check.Up {
		t.Fatalf("check after the panic: %s %q", r.Status, r.Message)
	}
}

// TestGCUnderLoad runs thousands of allocating checks at once, so the guest's
// garbage collector runs (and parks goroutines to assist it) while checks are
// between SDK calls: the SDK's shared state must survive goroutine switches in
// the middle of its updates.
func TestGCUnderLoad(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	const n = 3000
	addr := listener(t, "220 gc", 50*time.Millisecond)
	results := make(chan check.Result, n)
	for i := 0; i < n; i++ {
		m.Start(context.Background(), check.Request{Name: fmt.Sprint(i), Type: "banner", Target: "tcp://" + addr,
			Timeout: 20 * time.Second, Config: cfg("garbage_kb", 64)}, func(r check.Result) { results <- r })
	}
	for i := 0; i < n; i++ {
		if r := <-results; r.Status != check.Up || r.Fields["banner"] != "220 gc" {
			t.Fatalf("check %s: %s %q", r.Name, r.Status, r.Message)
		}
	}
}

// TestGuestTimeSleep: a goroutine asleep in Go's time.Sleep wakes once the
// module runs again after the sleep ended, even when what makes it run are
// callback checks that leave nothing runnable, so that zappy_run has no
// reason of its own to yield.
func TestGuestTimeSleep(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	woke := make(chan check.Result, 1)
	m.Start(context.Background(), check.Request{Name: "sleeper", Type: "then-sleep", Config: cfg("ms", 1), Timeout: 10 * time.Second},
		func(r check.Result) { woke <- r })
	// By now the sleeper's 1 ms are long over, but only a yield lets the
	// module's scheduler notice. Poke it with callback checks: every
	// eighth idle zappy_run yields. Without that the sleeper would wait
	// for something else to yield (the guest's garbage collector, say,
	// thousands of checks later).
	time.Sleep(100 * time.Millisecond)
	const maxPokes = 64
	for pokes := 1; pokes <= maxPokes; pokes++ {
		if r := m.Run(context.Background(), check.Request{Name: "poke", Type: "then-sleep", Timeout: time.Second}); r.Status != check.Up {
			t.Fatalf("then-sleep without ms: %s %q", r.Status, r.Message)
		}
		select {
		case r := <-woke:
			if r.Status != check.Up || r.Message != "woke" {
				t.Fatalf("sleeper: %s %q", r.Status, r.Message)
			}
			t.Logf("the sleeper reported after %d other checks", pokes)
			return
		case <-time.After(time.Millisecond):
		}
	}
	t.Fatalf("the sleeper did not wake during %d callback checks run after its sleep ended", maxPokes)
}
