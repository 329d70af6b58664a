package site

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/state"
)

// Delivery: notifications are written to the outbox in the same
// transaction as the state change that caused them, then delivered here.
// Each channel is a FIFO: an item is not sent before the older items of its
// channel, so a recovery never overtakes the outage notice it closes. A
// failed delivery is retried with exponential backoff (1 s doubling to
// Options.RetryMax, 5 min by default), for as long as the channel exists in the configuration: nothing
// is dropped while an endpoint is down. An item is marked "sending" before
// the attempt and "sent" after it; a crash in between makes the next run
// send it again with the same id, which receivers use as an idempotency key
// (Idempotency-Key header, Message-ID, PagerDuty dedup key).

const (
	retryFirst  = time.Second
	retryMax    = 5 * time.Minute
	sendTimeout = 30 * time.Second
	// scanLimit bounds how many undelivered items one pass looks at.
	scanLimit = 5000
)

type deliverer struct {
	s        *Site
	wake     chan struct{}
	mu       sync.Mutex
	inflight map[string]bool // channels with a delivery in progress
	done     chan struct{}
	wg       sync.WaitGroup // the loop
	drains   sync.WaitGroup // deliveries in progress
	timer    interface{ Stop() bool }
	started  bool
}

func newDeliverer(s *Site) *deliverer {
	return &deliverer{s: s, wake: make(chan struct{}, 1), inflight: map[string]bool{}, done: make(chan struct{})}
}

func (d *deliverer) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) start() {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return
	}
	d.started = true
	d.mu.Unlock()
	d.wg.Add(1)
	go d.loop()
	d.kick()
}

func (d *deliverer) stop() {
	d.mu.Lock()
	started := d.started
	d.mu.Unlock()
	if !started {
		return
	}
	close(d.done)
	d.wg.Wait()
	d.drains.Wait()
}

func (d *deliverer) loop() {
	defer d.wg.Done()
	for {
		select {
		case <-d.done:
			return
		case <-d.wake:
		}
		next := d.pass(d.s.ctx)
		d.arm(next)
	}
}

// arm wakes the loop when the earliest retry falls due.
func (d *deliverer) arm(next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if next.IsZero() {
		return
	}
	wait := max(next.Sub(d.s.now()), 10*time.Millisecond)
	d.timer = d.s.clock.AfterFunc(wait, d.kick)
}

// pass starts a delivery for every channel whose oldest undelivered item is
// due and that is not busy. It returns when the next retry is due (zero:
// nothing waits).
func (d *deliverer) pass(ctx context.Context) time.Time {
	now := d.s.now()
	// Everything undelivered, oldest first, to keep each channel in order.
	items, err := d.s.store.DueOutbox(ctx, now.Add(100*365*24*time.Hour), scanLimit)
	if err != nil {
		if ctx.Err() == nil {
			d.s.log.Error("reading the outbox", "err", err)
		}
		return now.Add(retryFirst)
	}
	queues := map[string][]state.OutboxItem{}
	var order []string
	for _, it := range items {
		if _, ok := queues[it.Channel]; !ok {
			order = append(order, it.Channel)
		}
		queues[it.Channel] = append(queues[it.Channel], it)
	}
	var next time.Time
	for _, name := range order {
		q := queues[name]
		if q[0].NextAttempt.After(now) {
			if next.IsZero() || q[0].NextAttempt.Before(next) {
				next = q[0].NextAttempt
			}
			continue
		}
		d.mu.Lock()
		busy := d.inflight[name]
		if !busy {
			d.inflight[name] = true
		}
		d.mu.Unlock()
		if busy {
			continue
		}
		d.drains.Add(1)
		go d.drain(ctx, name, q)
	}
	return next
}

// drain delivers a channel's due items in order, stopping at the first
// failure.
func (d *deliverer) drain(ctx context.Context, name string, q []state.OutboxItem) {
	defer func() {
		d.mu.Lock()
		delete(d.inflight, name)
		d.mu.Unlock()
		d.drains.Done()
		d.kick()
	}()
	d.s.mu.Lock()
	ch, ok := d.s.channels[name]
	d.s.mu.Unlock()
	for _, it := range q {
		if ctx.Err() != nil {
			return
		}
		if it.NextAttempt.After(d.s.now()) {
			return
		}
		if !ok {
			d.s.store.MarkDead(ctx, it.ID, "channel "+name+" is no longer in the configuration")
			continue
		}
		if err := d.s.store.MarkSending(ctx, it.ID); err != nil {
			d.s.log.Error("outbox", "id", it.ID, "err", err)
			return
		}
		err := deliver(ctx, ch, it)
		if err == nil {
			if err := d.s.store.MarkSent(ctx, it.ID, d.s.now()); err != nil {
				d.s.log.Error("outbox", "id", it.ID, "err", err)
			}
			d.s.log.Info("notification sent", "channel", name, "kind", it.Kind, "monitor", it.Monitor, "id", it.ID)
			continue
		}
		backoff := retryFirst << min(it.Attempts, 30) // 2^30 s is far above any RetryMax
		backoff = min(backoff, d.s.opts.RetryMax)
		d.s.log.Warn("notification failed; will retry", "channel", name, "kind", it.Kind, "monitor", it.Monitor,
			"id", it.ID, "attempt", it.Attempts+1, "retry_in", backoff, "err", err)
		if err := d.s.store.MarkRetry(ctx, it.ID, d.s.now().Add(backoff), err.Error()); err != nil {
			d.s.log.Error("outbox", "id", it.ID, "err", err)
		}
		return
	}
}

// deliver sends one outbox item through its channel.
func deliver(ctx context.Context, ch Channel, it state.OutboxItem) error {
	var ev notify.Event
	if err := json.Unmarshal(it.Payload, &ev); err != nil {
		return err
	}
	ev.ID = it.ID
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return ch.Provider.Send(ctx, ev)
}

// flushOutbox delivers what is due, once, waiting for the attempts to end
// (zappy once).
func (d *deliverer) flushOutbox(ctx context.Context) {
	d.pass(ctx)
	d.drains.Wait()
}
