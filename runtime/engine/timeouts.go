package engine

import (
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
	heap  []*run
	timer *time.Timer
	next  time.Time // when timer fires; zero when it is not armed
}

// add queues r for its deadline.
func (t *timeouts) add(r *run) {
	t.mu.Lock()
	r.due, r.expired = r.deadline, false
	t.push(r)
	t.arm(r.due)
	t.mu.Unlock()
}

// remove takes r out of the queue, wherever it is.
func (t *timeouts) remove(r *run) {
	t.mu.Lock()
	if r.slot >= 0 {
		t.removeAt(r.slot)
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
		t.removeAt(0)
		if r.expired {
			abandoned = append(abandoned, r)
			continue
		}
		r.expired, r.due = true, r.hard
		t.push(r)
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

func (t *timeouts) push(r *run) {
	r.slot = len(t.heap)
	t.heap = append(t.heap, r)
	t.up(r.slot)
}

func (t *timeouts) removeAt(i int) {
	last := len(t.heap) - 1
	r := t.heap[i]
	if i != last {
		t.swap(i, last)
	}
	t.heap[last] = nil
	t.heap = t.heap[:last]
	r.slot = -1
	if i != last {
		t.down(i)
		t.up(i)
	}
}

func (t *timeouts) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].slot, t.heap[j].slot = i, j
}

func (t *timeouts) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !t.heap[i].due.Before(t.heap[parent].due) {
			return
		}
		t.swap(i, parent)
		i = parent
	}
}

func (t *timeouts) down(i int) {
	for {
		least, l := i, 2*i+1
		if l >= len(t.heap) {
			return
		}
		if t.heap[l].due.Before(t.heap[least].due) {
			least = l
		}
		if r := l + 1; r < len(t.heap) && t.heap[r].due.Before(t.heap[least].due) {
			least = r
		}
		if least == i {
			return
		}
		t.swap(i, least)
		i = least
	}
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
