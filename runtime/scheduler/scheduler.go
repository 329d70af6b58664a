// Package scheduler fires jobs at their times: fixed intervals with a phase
// and optional jitter, or cron schedules. It is a single goroutine around a
// min-heap of next-run times and one timer, so 10,000 monitors cost a heap
// entry each, not a goroutine or a timer each.
//
// The scheduler only decides *when*; a job's function runs on its own
// goroutine, and bounding how many run at once is the caller's business
// (the daemon's max_threads gate). A job never runs twice at once: while it
// runs, its next time is still scheduled, and a fire that finds it running
// is skipped and counted.
package scheduler

import (
	"container/heap"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Clock is the time source; tests use a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f after d on its own goroutine; Stop cancels it.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a stoppable pending call.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Spec says when a job runs.
type Spec struct {
	// Every is the interval between runs (ignored when Cron is set).
	Every time.Duration
	// Jitter delays each run by a random amount in [0, Jitter).
	Jitter time.Duration
	// Cron, when set, replaces Every.
	Cron cron.Schedule
	// First is the first run; zero means a phase within the first
	// interval derived from the job's id, so that many jobs added at once
	// spread out and keep their phase across restarts.
	First time.Time
}

// Job is what the scheduler runs.
type Job func(scheduled time.Time)

type entry struct {
	id      string
	spec    Spec
	job     Job
	next    time.Time // when it is due (jitter included)
	base    time.Time // next without jitter: the cadence
	index   int       // in the heap; -1 when not queued
	running bool
}

// Stats are counters since the scheduler started.
type Stats struct {
	Fired   uint64 // jobs started
	Skipped uint64 // fires skipped because the job was still running
}

// Scheduler runs jobs at their times. Safe for concurrent use.
type Scheduler struct {
	// Early is how far ahead of its time a job may start (timer slack).
	// Go's timers on Linux sleep in whole milliseconds and a virtual
	// machine adds wake-up delay (measured here: a plain time.AfterFunc
	// fires 0.7 ms late at the median, 1.8 ms at p99), so waking up to this
	// much early, and starting every job due by then, keeps jobs from being
	// late and coalesces wake-ups. Starting a check 2 ms early is harmless.
	// Default 2 ms; set before adding jobs.
	Early   time.Duration
	clock   Clock
	mu      sync.Mutex
	jobs    map[string]*entry
	queue   queue
	timer   Timer
	timerAt time.Time
	stopped bool
	stats   Stats
	active  sync.WaitGroup // jobs running
	// Late, when set, is told how far from its time each job started:
	// positive when late, negative when early (by at most Early). For
	// metrics and benchmarks.
	Late func(id string, offset time.Duration)
}

// New makes a scheduler on clock (nil: the wall clock).
func New(clock Clock) *Scheduler {
	if clock == nil {
		clock = RealClock
	}
	return &Scheduler{clock: clock, jobs: map[string]*entry{}, Early: 2 * time.Millisecond}
}

// Phase returns a stable offset in [0, every) for id.
func Phase(id string, every time.Duration) time.Duration {
	if every <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(every))
}

// Add schedules job under id, replacing a job with the same id (its next
// run is recomputed from spec).
func (s *Scheduler) Add(id string, spec Spec, job Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.jobs[id]; ok {
		s.removeLocked(old)
	}
	e := &entry{id: id, spec: spec, job: job, index: -1}
	now := s.clock.Now()
	switch {
	case !spec.First.IsZero():
		e.base = spec.First
	case spec.Cron != nil:
		e.base = spec.Cron.Next(now)
	default:
		e.base = now.Add(Phase(id, spec.Every))
	}
	e.next = e.base.Add(jitter(spec.Jitter))
	s.jobs[id] = e
	heap.Push(&s.queue, e)
	s.armLocked()
}

// Remove unschedules id; a run in progress finishes.
func (s *Scheduler) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.jobs[id]; ok {
		s.removeLocked(e)
		s.armLocked()
	}
}

// removeLocked takes e out of the jobs and the queue; the caller re-arms.
func (s *Scheduler) removeLocked(e *entry) {
	delete(s.jobs, e.id)
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
}

// RunNow moves id's next run to now (keeping its cadence afterwards from
// this run). It reports whether id exists.
func (s *Scheduler) RunNow(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return false
	}
	now := s.clock.Now()
	e.base, e.next = now, now
	if e.index >= 0 {
		heap.Fix(&s.queue, e.index)
	} else {
		heap.Push(&s.queue, e)
	}
	s.armLocked()
	return true
}

// Next returns when id runs next.
func (s *Scheduler) Next(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return time.Time{}, false
	}
	return e.next, true
}

// Len is the number of scheduled jobs.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Stop cancels every future run. Runs in progress finish.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// armLocked points the timer at the earliest due job.
func (s *Scheduler) armLocked() {
	if s.stopped {
		return
	}
	if len(s.queue) == 0 {
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
		return
	}
	at := s.queue[0].next
	if s.timer != nil && s.timerAt.Equal(at) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = at
	s.timer = s.clock.AfterFunc(at.Sub(s.clock.Now())-s.Early, s.fire)
}

// fire starts every job that is due and re-arms.
func (s *Scheduler) fire() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	now := s.clock.Now()
	type due struct {
		e    *entry
		when time.Time
	}
	var run []due
	horizon := now.Add(s.Early)
	for len(s.queue) > 0 && !s.queue[0].next.After(horizon) {
		e := s.queue[0]
		when := e.next
		s.advance(e, now)
		heap.Fix(&s.queue, 0)
		if e.running {
			s.stats.Skipped++
			continue
		}
		e.running = true
		s.stats.Fired++
		s.active.Add(1)
		run = append(run, due{e, when})
	}
	s.timer = nil
	s.armLocked()
	late := s.Late
	s.mu.Unlock()
	for _, d := range run {
		if late != nil {
			late(d.e.id, now.Sub(d.when))
		}
		go s.execute(d.e, d.when)
	}
}

// advance computes e's next run after a fire at now (which may be up to
// Early before e was due). Missed runs are not replayed: the next run is the
// first cadence point after now.
func (s *Scheduler) advance(e *entry, now time.Time) {
	if e.next.After(now) {
		now = e.next
	}
	if e.spec.Cron != nil {
		e.base = e.spec.Cron.Next(now)
	} else {
		every := e.spec.Every
		if every <= 0 {
			every = time.Minute
		}
		e.base = e.base.Add(every)
		if !e.base.After(now) {
			missed := now.Sub(e.base)/every + 1
			e.base = e.base.Add(missed * every)
		}
	}
	e.next = e.base.Add(jitter(e.spec.Jitter))
}

func (s *Scheduler) execute(e *entry, when time.Time) {
	defer func() {
		s.mu.Lock()
		e.running = false
		s.mu.Unlock()
		s.active.Done()
	}()
	e.job(when)
}

// Wait blocks until no job is running (jobs fired later are not waited
// for unless they start before the running ones finish).
func (s *Scheduler) Wait() { s.active.Wait() }

func jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(max)))
}

// queue is a min-heap of entries by next run.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
