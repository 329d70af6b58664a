package engine

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timeouts ends the engine's checks at their deadlines with one runtime
// timer for all of them. A timer of each check's own (context.WithDeadline
// for its operations, time.AfterFunc for the module's grace period) cost
// ~4.5 µs of CPU per check at 64 in flight: timer allocation, the
// runtime's per-P timer heaps and their locks, the timer context's child
// bookkeeping (docs/PERFORMANCE.md, eleventh session). Here a check is one
// entry in a min-heap ordered by its next due time, added when it starts
// and removed when it ends; the timer is re-armed only when a check is due
// before everything queued, which for checks of equal timeouts started in
// order is almost never.
//
// A check is due twice: at its deadline its operations' context ends
// (expire), and at its hard deadline (deadline + grace) the host gives up on
// the module (onHardDeadline).
type timeouts struct {
	mu    sync.Mutex
	heap  runHeap
	timer *time.Timer
	next  time.Time // when timer fires; zero when it is not armed
}

// add queues r for its deadline.
func (t *timeouts) add(r *run) {
	t.mu.Lock()
	r.due, r.expired = r.deadline, false
	heap.Push(&t.heap, r)
	t.arm(r.due)
	t.mu.Unlock()
}

// remove takes r out of the queue, wherever it is.
func (t *timeouts) remove(r *run) {
	t.mu.Lock()
	if r.slot >= 0 {
		heap.Remove(&t.heap, r.slot)
	}
	t.mu.Unlock()
}

// arm makes the timer fire by due. t.mu is held.
func (t *timeouts) arm(due time.Time) {
	if !t.next.IsZero() && !due.Before(t.next) {
		return
	}
	t.next = due
	d := time.Until(due)
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.fire)
		return
	}
	t.timer.Reset(d)
}

// fire ends what is due: operations first, then the checks whose module
// has had its grace period.
func (t *timeouts) fire() {
	var expired, abandoned []*run
	t.mu.Lock()
	now := time.Now()
	for len(t.heap) > 0 && !t.heap[0].due.After(now) {
		r := t.heap[0]
		if r.expired {
			heap.Pop(&t.heap)
			abandoned = append(abandoned, r)
			continue
		}
		r.expired, r.due = true, r.hard
		heap.Fix(&t.heap, 0)
		expired = append(expired, r)
	}
	t.next = time.Time{}
	if len(t.heap) > 0 {
		t.arm(t.heap[0].due)
	}
	t.mu.Unlock()
	for _, r := range expired {
		r.octx.cancel(context.DeadlineExceeded)
	}
	for _, r := range abandoned {
		r.onHardDeadline()
	}
}

// runHeap orders checks by due time for container/heap, keeping each
// one's slot (its index) for heap.Remove, as the scheduler's queue does.
type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h runHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}
func (h *runHeap) Push(x any) {
	r := x.(*run)
	r.slot = len(*h)
	*h = append(*h, r)
}
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.slot = -1
	*h = old[:len(old)-1]
	return r
}

// opContext is the context of a check's operations: it ends when the check
// ends or its deadline passes, whichever is first. It is not
// context.WithDeadline's so that it needs no timer (timeouts ends it); it
// implements the context package's AfterFunc hook, so contexts derived from
// it (a dial's, context.AfterFunc's) register a function here rather than
// start a goroutine to watch Done.
type opContext struct {
	deadline time.Time
	mu       sync.Mutex
	done     chan struct{} // made by the first Done
	err      error
	after    []func() // AfterFunc's; a stopped one is nil
}

var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *opContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *opContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *opContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *opContext) Value(any) any { return nil }

// AfterFunc arranges for f to run once c ends: on the goroutine that ends
// it, or on a goroutine of its own if c has ended already. The context
// package hands it only functions that cancel a derived context, which do
// not block. stop reports whether it kept f from running.
func (c *opContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	i := len(c.after)
	c.after = append(c.after, f)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil || c.after[i] == nil {
			return false
		}
		c.after[i] = nil
		return true
	}
}

// cancel ends c with err (context.Canceled or context.DeadlineExceeded);
// only the first call counts.
func (c *opContext) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for _, f := range after {
		if f != nil {
			f()
		}
	}
}
