package engine

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
)

// buildC compiles testdata/guests/c/blocking.c.
func buildC(t *testing.T) []byte { return testutil.CompileC(t, "testdata/guests/c/blocking.c") }

// TestBlockingC runs a blocking-mode module written in C: each check gets a
// pooled instance and waits for operations with zappy.await.
func TestBlockingC(t *testing.T) {
	e, _ := testEngine(t)
	m, err := e.Load(context.Background(), "c-blocking", buildC(t), Policy{MemoryLimitPages: 64})
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest().Mode != modeBlocking {
		t.Fatalf("mode %q", m.Manifest().Mode)
	}
	addr := listener(t, "", 0)
	tests := []struct {
		name    string
		req     check.Request
		status  check.Status
		message string
	}{
		{"hello", check.Request{Type: "hello"}, check.Up, "hello from C"},
		{"connect", check.Request{Type: "connect", Target: "tcp://" + addr}, check.Up, addr},
		{"connect refused", check.Request{Type: "connect", Target: "tcp://127.0.0.1:1"}, check.Down, "connection refused"},
		{"endless loop", check.Request{Type: "loop", Timeout: 200 * time.Millisecond}, check.Error, "did not finish within its timeout"},
		{"bad pointer", check.Request{Type: "badptr"}, check.Error, "invalid pointer or length to zappy.op"},
		{"memory past the cap", check.Request{Type: "grow"}, check.Error, "memory cap was reached"},
		{"no result", check.Request{Type: "nodone"}, check.Error, "without reporting a result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Name = tt.name
			if tt.req.Timeout == 0 {
				tt.req.Timeout = 2 * time.Second
			}
			res := m.Run(context.Background(), tt.req)
			t.Logf("%s %q", res.Status, res.Message)
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Message, tt.status, tt.message)
			}
		})
	}
	// Many checks at once: each takes its own pooled instance.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := m.Run(context.Background(), check.Request{Name: "c", Type: "connect", Target: "tcp://" + addr, Timeout: 5 * time.Second}); r.Status != check.Up {
				t.Errorf("%s %q", r.Status, r.Message)
			}
		}()
	}
	wg.Wait()
}

// TestBlockingDefaultMemoryCap: a blocking module without a cap of its own
// gets the blocking default, 512 pages (32 MiB), not the multiplexed one:
// the default depends on the mode, known only once the module is compiled.
func TestBlockingDefaultMemoryCap(t *testing.T) {
	e, _ := testEngine(t)
	m, err := e.Load(context.Background(), "c-blocking", buildC(t), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Policy().MemoryLimitPages; got != 512 {
		t.Fatalf("policy's memory cap %d pages, want 512", got)
	}
	res := m.Run(context.Background(), check.Request{Name: "grow", Type: "grow", Timeout: 5 * time.Second})
	at := regexp.MustCompile(`memory at (\d+) of 512 pages: the memory cap was reached`).FindStringSubmatch(res.Message)
	if res.Status != check.Error || at == nil {
		t.Fatalf("got %s %q, want error at the memory cap", res.Status, res.Message)
	}
	if pages, _ := strconv.Atoi(at[1]); pages > 512 {
		t.Fatalf("the module grew to %d pages, past the 512-page cap", pages)
	}
}

// TestBlockingGo runs the Go SDK in blocking mode (-tags zappy_blocking,
// what TinyGo builds use).
func TestBlockingGo(t *testing.T) {
	e, _ := testEngine(t)
	m, err := e.Load(context.Background(), "hostile-blocking", buildGuest(t, "hostile", "zappy_blocking"), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifest().Mode != modeBlocking {
		t.Fatalf("mode %q", m.Manifest().Mode)
	}
	addr := listener(t, "220 blocking", 0)
	tests := []struct {
		req     check.Request
		status  check.Status
		message string
	}{
		{check.Request{Type: "banner", Target: "tcp://" + addr}, check.Up, "220 blocking"},
		{check.Request{Type: "sleep", Config: cfg("ms", 10)}, check.Up, "slept"},
		{check.Request{Type: "banner-then", Target: "tcp://" + addr}, check.Up, "220 blocking"},
		{check.Request{Type: "banner-then", Target: "tcp://" + addr, Config: cfg("panic_after_done", true)}, check.Up, "220 blocking"},
		{check.Request{Type: "banner-then", Target: "tcp://" + addr, Config: cfg("panic", true)}, check.Error, "check panicked"},
		{check.Request{Type: "then-nodone"}, check.Error, "check returned without calling done"},
		{check.Request{Type: "panic"}, check.Error, "check panicked"},
		{check.Request{Type: "badptr"}, check.Error, "invalid pointer"},
		{check.Request{Type: "loop", Timeout: 200 * time.Millisecond}, check.Error, "did not finish within its timeout"},
		{check.Request{Type: "banner", Target: "tcp://" + addr}, check.Up, "220 blocking"},
	}
	for _, tt := range tests {
		tt.req.Name = tt.req.Type
		if tt.req.Timeout == 0 {
			tt.req.Timeout = 2 * time.Second
		}
		res := m.Run(context.Background(), tt.req)
		if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
			t.Fatalf("%s: got %s %q, want %s containing %q", tt.req.Type, res.Status, res.Message, tt.status, tt.message)
		}
	}
}

// TestBlockingAwaitIsNotBusy: a blocking check waiting in zappy.await is in
// host code, not stuck in module code (section 7): canceling it past the
// grace period does not stop its instance. And await ends with the check's
// operations: an operation that never completes is completed as canceled
// once the check ended, or as timed out at its deadline (the module can
// still report), so that it cannot hold the instance. Either way the
// instance serves the next check.
func TestBlockingAwaitIsNotBusy(t *testing.T) {
	// The instance's first check awaits a sleep of 10 s (logging
	// "awaiting" first, and the operation's result JSON after); later
	// checks report at once. Each reports how many checks its instance
	// has served.
	body := `(global.set $served (i64.add (global.get $served) (i64.const 1)))
    (call $num (global.get $served))
    (if (i64.eq (global.get $served) (i64.const 1))
      (then
        (call $log (local.get $id) (i32.const 0) (i32.const 2048) (i32.const 8))
        (local.set $a (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 12) (i32.const 0) (i32.const 0)))
        (drop (call $await (local.get $a)))
        (local.set $c (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))
        (call $log (i64.const 0) (i32.const 0) (i32.const 8192) (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 32))))))
    (drop (call $finish (local.get $id)))`
	data := `(global $served (mut i64) (i64.const 0))
  (data (i32.const 1024) "{\"ms\":10000}")
  (data (i32.const 2048) "awaiting")`
	tests := []struct {
		name    string
		never   bool // the operation never completes
		cancel  bool // cancel the check once it has awaited past its grace period
		timeout time.Duration
		status  check.Status
		message string
		code    string // the operation's error code, as the module took it
	}{
		{name: "canceled while awaiting", cancel: true, timeout: 10 * time.Second,
			status: check.Error, message: "check canceled", code: "canceled"},
		{name: "canceled while awaiting an operation that never completes", never: true, cancel: true, timeout: 10 * time.Second,
			status: check.Error, message: "check canceled", code: "canceled"},
		{name: "deadline while awaiting an operation that never completes", never: true, timeout: 300 * time.Millisecond,
			status: check.Up, message: "1", code: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.never {
				neverCompletes(t)
			}
			e, logs := testEngine(t)
			// One instance: the second check gets it once the first has
			// returned it, or a new one if it was stopped. The grace
			// period leaves the module time to report after the
			// deadline.
			const grace = 300 * time.Millisecond
			m, err := e.Load(context.Background(), "probe", probeModule(t, modeBlocking, body, data), Policy{MaxInstances: 1, Grace: grace})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := make(chan check.Result, 1)
			m.Start(ctx, check.Request{Name: "first", Type: "probe", Timeout: tt.timeout}, func(r check.Result) { first <- r })
			if tt.cancel {
				for !strings.Contains(logs.String(), "msg=awaiting") {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(grace + 100*time.Millisecond) // awaiting all along
				cancel()
			}
			res := <-first
			if res.Status != tt.status || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("first check: got %s %q, want %s containing %q", res.Status, res.Message, tt.status, tt.message)
			}
			res = m.Run(context.Background(), check.Request{Name: "second", Type: "probe", Timeout: 5 * time.Second})
			if res.Status != check.Up || res.Message != "2" {
				t.Fatalf("second check: got %s %q, want up %q (the first check's instance)", res.Status, res.Message, "2")
			}
			if want := `\"code\":\"` + tt.code + `\"`; !strings.Contains(logs.String(), want) {
				t.Errorf("the operation did not end with %s:\n%s", want, logs.String())
			}
		})
	}
}
