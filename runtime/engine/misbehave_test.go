package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
)

// TestMisbehaviourAroundResults runs a multiplexed C module whose checks
// misbehave after, or instead of, reporting: nothing of the check bounds
// the module then, so the engine must.
func TestMisbehaviourAroundResults(t *testing.T) {
	e, logs := testEngine(t)
	m, err := e.Load(context.Background(), "c-multiplexed", testutil.CompileC(t, "testdata/guests/c/multiplexed.c"), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, typ string) (check.Result, time.Duration) {
		start := time.Now()
		res := m.Run(ctx, check.Request{Name: typ, Type: typ, Timeout: time.Second})
		return res, time.Since(start)
	}

	t.Run("loops after done", func(t *testing.T) {
		// The caller's goroutine runs the module (it drives the instance)
		// and gets the reported result once the watchdog stops the loop.
		defer maxCall.Store(maxCall.Swap(int64(time.Second)))
		res, took := run(context.Background(), "spin_after_done")
		if res.Status != check.Up || took > time.Second+3*watchEvery {
			t.Fatalf("got %s %q after %s", res.Status, res.Message, took)
		}
		if !strings.Contains(logs.String(), "a call into the module has run for") {
			t.Errorf("no watchdog in the log:\n%s", logs.String())
		}
		// A new instance serves the next check.
		if res, _ := run(context.Background(), "hello"); res.Status != check.Up {
			t.Fatalf("after the loop: %s %q", res.Status, res.Message)
		}
	})

	t.Run("cancel loops", func(t *testing.T) {
		// Canceling a check runs zappy_cancel, which loops: the caller who
		// canceled returns at once all the same.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		res, took := run(ctx, "spin_in_cancel")
		if res.Status != check.Error || !strings.Contains(res.Message, "canceled") || took > time.Second {
			t.Fatalf("got %s %q after %s", res.Status, res.Message, took)
		}
	})

	t.Run("results never taken", func(t *testing.T) {
		res, _ := run(context.Background(), "token_flood")
		want := "left more than 256 operation results of a check untaken"
		if res.Status != check.Error || !strings.Contains(res.Message, want) {
			t.Fatalf("got %s %q, want error containing %q", res.Status, res.Message, want)
		}
		for _, in := range m.liveInstances() {
			if n := len(in.tokens); n > 0 && !in.dead.Load() {
				t.Errorf("the instance still holds %d results of ended checks", n)
			}
		}
	})

	t.Run("log flood", func(t *testing.T) {
		line := strings.Repeat("x", 1024)
		before := strings.Count(logs.String(), line)
		res, _ := run(context.Background(), "log_flood")
		if res.Status != check.Up {
			t.Fatalf("got %s %q", res.Status, res.Message)
		}
		// 10 MB logged; 64 KiB a minute pass.
		if lines := strings.Count(logs.String(), line) - before; lines > 64 {
			t.Errorf("%d log lines of 1 KiB passed the output cap", lines)
		}
		if !strings.Contains(logs.String(), "module output cap reached") {
			t.Error("no warning that output was dropped")
		}
	})

	t.Run("messy message", func(t *testing.T) {
		res, _ := run(context.Background(), "messy_message")
		if want := "line1 level=ERROR fake  [31mred \uFFFD end"; res.Message != want {
			t.Fatalf("message %q, want %q", res.Message, want)
		}
	})
}

// TestBlockingLoopAfterDone: a blocking module that loops after reporting
// holds its pool slot until the watchdog stops it, not for ever.
func TestBlockingLoopAfterDone(t *testing.T) {
	e, _ := testEngine(t)
	m, err := e.Load(context.Background(), "c-blocking", buildC(t), Policy{MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	res := m.Run(context.Background(), check.Request{Name: "spin", Type: "spin_after_done", Timeout: 200 * time.Millisecond})
	if res.Status != check.Up {
		t.Fatalf("got %s %q", res.Status, res.Message)
	}
	// The one slot frees once the watchdog has stopped the loop: a second
	// after the check's deadline and grace, give or take its tick.
	start := time.Now()
	res = m.Run(context.Background(), check.Request{Name: "hello", Type: "hello", Timeout: 10 * time.Second})
	if res.Status != check.Up || time.Since(start) > 4*time.Second {
		t.Fatalf("next check: %s %q after %s", res.Status, res.Message, time.Since(start))
	}
}

// TestMemoryCapFitsUint32: a 4 GiB memory's size does not fit the 32 bits
// wazero reports it in (it reads as 0, and ranges ending at 2^32 panic),
// so a policy may not allow it.
func TestMemoryCapFitsUint32(t *testing.T) {
	e, _ := testEngine(t)
	_, err := e.Load(context.Background(), "c-blocking", buildC(t), Policy{MemoryLimitPages: 65536})
	if want := "a memory cap of 65536 pages is above the 65535 a module can have"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}
