package state

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errWriterClosed is what done receives for a Submit after Close.
var errWriterClosed = errors.New("state: writer is closed")

// Writer batches updates from many goroutines into few transactions (group
// commit): one fsync'd commit costs milliseconds however many updates it
// carries, so a daemon finishing ~1,000 checks a second must not pay one per
// check. While a batch commits, the next one gathers.
type Writer struct {
	s        *Store
	maxBatch int
	maxDelay time.Duration

	// closed is set under mu, which Submit holds while it sends, so that
	// nothing is sent on ch once Close has closed it; loop reads it alone.
	mu     sync.RWMutex
	closed atomic.Bool
	ch     chan submission

	finished chan struct{}
	closeErr error
}

type submission struct {
	u    Update
	done func(error)
}

// NewWriter starts a writer that commits a batch once it holds maxBatch
// updates or maxDelay after its first update arrived, whichever comes
// first (maxDelay 0: as soon as the previous commit is done). Close it
// before closing the Store.
func (s *Store) NewWriter(maxBatch int, maxDelay time.Duration) *Writer {
	if maxBatch < 1 {
		maxBatch = 1
	}
	if maxDelay < 0 {
		maxDelay = 0
	}
	w := &Writer{
		s:        s,
		maxBatch: maxBatch,
		maxDelay: maxDelay,
		ch:       make(chan submission, 4*maxBatch),
		finished: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Submit queues u. done, if not nil, is called once the batch holding u is
// durable (nil) or has failed (the error); it runs on the writer's
// goroutine, so it must be quick and must not call Submit. Submit blocks
// while 4×maxBatch updates are already queued, which slows producers down
// to the disk's pace. Apply's in-place defaults (outbox IDs) are filled in
// u's Outbox slice before done is called.
func (w *Writer) Submit(u Update, done func(error)) {
	w.mu.RLock()
	if w.closed.Load() {
		w.mu.RUnlock()
		if done != nil {
			done(errWriterClosed)
		}
		return
	}
	w.ch <- submission{u, done}
	w.mu.RUnlock()
}

// Close stops accepting updates, commits those queued and waits for them.
// It returns the errors of the batches committed after Close was called
// (their submitters were told too). Closing twice is harmless.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed.Load() {
		w.mu.Unlock()
		<-w.finished
		return nil
	}
	w.closed.Store(true)
	close(w.ch)
	w.mu.Unlock()
	<-w.finished
	return w.closeErr
}

func (w *Writer) loop() {
	defer close(w.finished)
	var errs []error
	batch := make([]submission, 0, w.maxBatch)
	var timer *time.Timer
	for {
		first, ok := <-w.ch
		if !ok {
			w.closeErr = errors.Join(errs...)
			return
		}
		batch = append(batch[:0], first)
		open := w.gather(&batch, &timer)
		// Close reports the failures of what it had to flush: batches
		// gathered once it was called (their submitters may be gone).
		closing := w.closed.Load()
		if err := w.flush(batch); err != nil && closing {
			errs = append(errs, err)
		}
		clear(batch) // drop references to flushed updates
		if !open {
			w.closeErr = errors.Join(errs...)
			return
		}
	}
}

// gather adds queued submissions to batch until it is full, the delay since
// its first one is over, or the channel is closed (then it returns false).
func (w *Writer) gather(batch *[]submission, timer **time.Timer) bool {
	// Take what is already queued without waiting.
queued:
	for len(*batch) < w.maxBatch {
		select {
		case sub, ok := <-w.ch:
			if !ok {
				return false
			}
			*batch = append(*batch, sub)
		default:
			break queued
		}
	}
	if len(*batch) >= w.maxBatch || w.maxDelay == 0 {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(w.maxDelay)
	} else {
		(*timer).Reset(w.maxDelay)
	}
	defer (*timer).Stop()
	for len(*batch) < w.maxBatch {
		select {
		case sub, ok := <-w.ch:
			if !ok {
				return false
			}
			*batch = append(*batch, sub)
		case <-(*timer).C:
			return true
		}
	}
	return true
}

// flush commits batch in one transaction. If that fails and the batch
// holds more than one update, each is retried alone, so that one bad update
// (say, a duplicate outbox ID) fails only its own submitter.
func (w *Writer) flush(batch []submission) error {
	ctx := context.Background()
	updates := make([]Update, len(batch))
	for i, sub := range batch {
		updates[i] = sub.u
	}
	err := w.s.Apply(ctx, updates)
	if err == nil || len(batch) == 1 {
		for _, sub := range batch {
			if sub.done != nil {
				sub.done(err)
			}
		}
		return err
	}
	var errs []error
	for i, sub := range batch {
		e := w.s.Apply(ctx, updates[i:i+1])
		if e != nil {
			errs = append(errs, e)
		}
		if sub.done != nil {
			sub.done(e)
		}
	}
	return errors.Join(errs...)
}
