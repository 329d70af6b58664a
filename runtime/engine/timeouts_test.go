package engine

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// checkHeap fails unless t's heap is ordered and every run knows its slot.
func checkHeap(tb testing.TB, t *timeouts) {
	tb.Helper()
	for i, r := range t.heap {
		if r.slot != i {
			tb.Fatalf("run at %d says slot %d", i, r.slot)
		}
		if i > 0 && r.due.Before(t.heap[(i-1)/2].due) {
			tb.Fatalf("run at %d is due before its parent", i)
		}
	}
}

// TestTimeoutsHeap adds and removes runs at random and checks the heap
// after every step, then that it yields them in order of due time.
func TestTimeoutsHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().Add(time.Hour) // never fires during the test
	var tq timeouts
	defer func() {
		if tq.timer != nil {
			tq.timer.Stop()
		}
	}()
	queued := map[*run]bool{}
	for step := range 2000 {
		if len(queued) == 0 || rng.IntN(3) > 0 {
			r := &run{slot: -1, deadline: base.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)}
			tq.add(r)
			queued[r] = true
		} else {
			for r := range queued {
				tq.remove(r)
				tq.remove(r) // a second remove does nothing
				if r.slot != -1 {
					t.Fatalf("step %d: removed run has slot %d", step, r.slot)
				}
				delete(queued, r)
				break
			}
		}
		checkHeap(t, &tq)
		if len(tq.heap) != len(queued) {
			t.Fatalf("step %d: heap has %d runs, want %d", step, len(tq.heap), len(queued))
		}
	}
	if tq.next.After(minDue(queued)) {
		t.Fatalf("timer armed for %v, after the first due %v", tq.next, minDue(queued))
	}
	var last time.Time
	for len(tq.heap) > 0 {
		r := heap.Pop(&tq.heap).(*run)
		if r.due.Before(last) {
			t.Fatalf("run due %v came after one due %v", r.due, last)
		}
		last = r.due
		checkHeap(t, &tq)
	}
}

func minDue(runs map[*run]bool) time.Time {
	var m time.Time
	for r := range runs {
		if m.IsZero() || r.due.Before(m) {
			m = r.due
		}
	}
	return m
}

// TestTimeoutsFire runs checks' deadlines through the real timer: the
// operations' context ends at the deadline, the check ends with error at
// the hard deadline, and a check that ended first is never touched.
func TestTimeoutsFire(t *testing.T) {
	e := &Engine{}
	m := &Module{e: e, name: "m"}
	type got struct {
		res    check.Result
		opsErr error // the operations' context when the result came
	}
	start := func(name string, deadline, grace time.Duration) (*run, chan got) {
		ch := make(chan got, 1)
		r := &run{m: m, slot: -1, req: check.Request{Name: name, Timeout: deadline}, started: time.Now()}
		r.deadline = r.started.Add(deadline)
		r.hard = r.deadline.Add(grace)
		r.octx.deadline = r.deadline
		r.done = func(res check.Result) {
			ch <- got{res: res, opsErr: r.octx.Err()}
		}
		e.timeouts.add(r)
		return r, ch
	}
	// Added out of order, so that the timer is re-armed earlier.
	late, lateCh := start("late", 80*time.Millisecond, 20*time.Millisecond)
	early, earlyCh := start("early", 20*time.Millisecond, 40*time.Millisecond)
	noGrace, noGraceCh := start("no grace", 30*time.Millisecond, 0)
	ended, endedCh := start("ended", 10*time.Millisecond, 10*time.Millisecond)
	ended.finish(check.Result{Status: check.Up})
	if g := <-endedCh; g.res.Status != check.Up || !errors.Is(g.opsErr, context.Canceled) {
		t.Fatalf("ended: %s, operations %v", g.res.Status, g.opsErr)
	}

	// The deadline passes before the hard deadline: operations end first.
	select {
	case <-early.octx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("early: operations' context did not end")
	}
	if err := early.octx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("early: operations' context ended with %v", err)
	}
	for _, c := range []struct {
		name string
		ch   chan got
	}{{"early", earlyCh}, {"no grace", noGraceCh}, {"late", lateCh}} {
		select {
		case g := <-c.ch:
			if g.res.Status != check.Error || !strings.Contains(g.res.Message, "did not finish within its timeout") {
				t.Errorf("%s: %s %q", c.name, g.res.Status, g.res.Message)
			}
			if !errors.Is(g.opsErr, context.DeadlineExceeded) {
				t.Errorf("%s: operations' context %v at the hard deadline", c.name, g.opsErr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no result", c.name)
		}
	}
	if time.Since(late.started) < 100*time.Millisecond {
		t.Errorf("late ended %v after it started, before its hard deadline", time.Since(late.started))
	}
	e.timeouts.mu.Lock()
	defer e.timeouts.mu.Unlock()
	if n := len(e.timeouts.heap); n != 0 {
		t.Errorf("%d runs still queued", n)
	}
	for _, r := range []*run{late, early, noGrace, ended} {
		if r.slot != -1 {
			t.Errorf("%s: slot %d after it ended", r.req.Name, r.slot)
		}
	}
}

// TestOpContext checks opContext against what the context package promises
// of a context, and that contexts derived from it end with it.
func TestOpContext(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		run  func(t *testing.T, c *opContext)
	}{
		{"Done before the end", func(t *testing.T, c *opContext) {
			done := c.Done()
			if c.Done() != done {
				t.Fatal("Done returned two channels")
			}
			select {
			case <-done:
				t.Fatal("done before the end")
			default:
			}
			c.cancel(context.DeadlineExceeded)
			<-done
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				t.Fatalf("Err %v", c.Err())
			}
		}},
		{"Done after the end", func(t *testing.T, c *opContext) {
			c.cancel(context.Canceled)
			<-c.Done()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("Err %v", c.Err())
			}
		}},
		{"first end counts", func(t *testing.T, c *opContext) {
			c.cancel(context.DeadlineExceeded)
			c.cancel(context.Canceled)
			if !errors.Is(c.Err(), context.DeadlineExceeded) {
				t.Fatalf("Err %v", c.Err())
			}
		}},
		{"deadline and values", func(t *testing.T, c *opContext) {
			if d, ok := c.Deadline(); !ok || !d.Equal(deadline) {
				t.Fatalf("Deadline %v %v", d, ok)
			}
			if c.Err() != nil || c.Value("k") != nil {
				t.Fatalf("Err %v, Value %v", c.Err(), c.Value("k"))
			}
		}},
		{"derived contexts end with it", func(t *testing.T, c *opContext) {
			child, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			grandchild, cancel2 := context.WithCancel(child)
			defer cancel2()
			if d, _ := child.Deadline(); !d.Equal(deadline) {
				t.Fatalf("child deadline %v, want the parent's", d)
			}
			c.cancel(context.DeadlineExceeded)
			<-grandchild.Done()
			if !errors.Is(child.Err(), context.DeadlineExceeded) {
				t.Fatalf("child Err %v", child.Err())
			}
		}},
		{"derived after the end", func(t *testing.T, c *opContext) {
			c.cancel(context.Canceled)
			child, cancel := context.WithCancel(c)
			defer cancel()
			<-child.Done()
			if !errors.Is(child.Err(), context.Canceled) {
				t.Fatalf("child Err %v", child.Err())
			}
		}},
		{"AfterFunc runs, stop keeps one from running", func(t *testing.T, c *opContext) {
			ran := make(chan string, 3)
			context.AfterFunc(c, func() { ran <- "a" })
			stopB := context.AfterFunc(c, func() { ran <- "b" })
			context.AfterFunc(c, func() { ran <- "c" })
			if !stopB() {
				t.Fatal("stop before the end returned false")
			}
			c.cancel(context.Canceled)
			got := map[string]bool{<-ran: true, <-ran: true}
			if !got["a"] || !got["c"] {
				t.Fatalf("ran %v", got)
			}
			select {
			case s := <-ran:
				t.Fatalf("%s ran after its stop", s)
			case <-time.After(20 * time.Millisecond):
			}
		}},
		{"hook stop after the end", func(t *testing.T, c *opContext) {
			ran := make(chan struct{}, 1)
			stop := c.AfterFunc(func() { ran <- struct{}{} })
			c.cancel(context.Canceled)
			<-ran
			if stop() {
				t.Fatal("stop after the end returned true")
			}
			late := make(chan struct{})
			if c.AfterFunc(func() { close(late) })() {
				t.Fatal("stop of a hook added after the end returned true")
			}
			<-late // runs anyway, on a goroutine of its own
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, &opContext{deadline: deadline})
		})
	}
}
