// Package site runs one monitored site: the monitors of one configuration
// file, on their schedules, with their state in the site's own database,
// their outages paced into notifications, an outbox that delivers them, and
// heartbeats. Several sites can run in one process, sharing one runner.
//
// Data flow: scheduler → runner (a check module) → assertions → pacing (the
// check state machine) → one state transaction holding the new state, the
// history row and the notifications → outbox → channels.
//
// Besides the outage notices, reminders and recoveries pacing decides on, a
// check module may report changes with its result (a switch port going
// down while the switch stays up: check.Result.Events). Each becomes a
// "change" notification in the same transaction, for the channels that take
// outage notices (a notifier's outages switch, the email channel unless the
// monitor has email: false), unless the monitor's notifications are quiet
// (alarms off, or a monitor it depends on is in an outage). The module paces
// its own changes; the daemon sends every one it reports.
package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/pacing"
	"github.com/zappy-mon/zappy/runtime/runner"
	"github.com/zappy-mon/zappy/runtime/scheduler"
	"github.com/zappy-mon/zappy/runtime/state"
)

// Options configure a Site.
type Options struct {
	Runner *runner.Runner
	// StatePath is the site's database; "" means state.DefaultPath of the
	// configuration file.
	StatePath string
	// Clock drives schedules, pacing and timestamps (nil: the wall clock).
	Clock scheduler.Clock
	Log   *slog.Logger
	// Threads overrides the site's max_threads when > 0 (the -t flag).
	Threads int
	// HTTPClient sends heartbeats (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	// Channels, when set, replaces the channels built from the
	// configuration (tests inject recording channels).
	Channels []Channel
	// RetryMax caps the backoff between delivery attempts of a
	// notification (0: 5 minutes).
	RetryMax time.Duration
	// ShutdownGrace is how long Close lets checks and deliveries in
	// progress finish before cancelling them (0: 10 s).
	ShutdownGrace time.Duration
}

// Channel is a notification destination.
type Channel struct {
	Name     string
	Provider notify.Provider
	// Email marks the email channel, which a monitor's `email: false`
	// excludes.
	Email bool
	// Kinds it wants; nil means every kind. (The email provider filters
	// per recipient itself.)
	Kinds map[notify.Kind]bool
}

func (c Channel) wants(k notify.Kind) bool {
	return c.Kinds == nil || c.Kinds[k] || k == notify.KindReport || k == notify.KindTest
}

// Site is one running site.
type Site struct {
	opts  Options
	log   *slog.Logger
	clock scheduler.Clock

	store  *state.Store
	unlock func()
	writer *state.Writer
	sched  *scheduler.Scheduler
	gate   *gate

	mu       sync.Mutex
	cfg      *config.Config
	monitors map[string]*mon
	channels map[string]Channel

	deliverer  *deliverer
	ctx        context.Context
	cancel     context.CancelFunc
	chanCancel context.CancelFunc // stops the channels' long-running parts
	running    sync.WaitGroup     // checks, commits, heartbeats in progress
	background sync.WaitGroup     // channels' long-running parts
	closed     atomic.Bool
	// reportEvery is the interval the report job runs at (0: none), so that
	// a reload with the same report keeps its schedule.
	reportEvery time.Duration
}

// Open opens the site's state (taking its lock) and prepares its monitors
// and channels. It does not start anything; see Run and Once.
func Open(ctx context.Context, cfg *config.Config, opts Options) (*Site, error) {
	if opts.Runner == nil {
		return nil, errors.New("site: no runner")
	}
	if opts.Clock == nil {
		opts.Clock = scheduler.RealClock
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = retryMax
	}
	path := opts.StatePath
	if path == "" {
		path = state.DefaultPath(cfg.File)
	}
	st, err := state.Open(path)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", cfg.Site.Name, err)
	}
	unlock, err := st.Lock()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("site %s: %w", cfg.Site.Name, err)
	}
	s := &Site{
		opts:     opts,
		log:      opts.Log.With("site", cfg.Site.Name),
		clock:    opts.Clock,
		store:    st,
		unlock:   unlock,
		sched:    scheduler.New(opts.Clock),
		monitors: map[string]*mon{},
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.writer = st.NewWriter(256, 5*time.Millisecond)
	s.deliverer = newDeliverer(s)
	if err := s.configure(ctx, cfg); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Name is the site's name.
func (s *Site) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Site.Name
}

// Store is the site's state database.
func (s *Site) Store() *state.Store { return s.store }

// configure applies a configuration: prepares monitors (keeping the state
// of those that stay), rebuilds channels. It does not schedule.
func (s *Site) configure(ctx context.Context, cfg *config.Config) error {
	prepared := map[string]*runner.Check{}
	var problems config.Errors
	for _, m := range cfg.Monitors {
		c, err := s.opts.Runner.Prepare(ctx, m)
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				problems = append(problems, ce)
				continue
			}
			return err
		}
		prepared[m.Name] = c
	}
	if len(problems) > 0 {
		return problems
	}
	channels := s.opts.Channels
	if channels == nil {
		var err error
		channels, err = buildChannels(cfg)
		if err != nil {
			return err
		}
	}
	states, err := s.store.Monitors(ctx)
	if err != nil {
		return err
	}
	threads := cfg.Site.MaxThreads
	if s.opts.Threads > 0 {
		threads = s.opts.Threads
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	if s.gate == nil {
		s.gate = newGate(threads)
	} else {
		s.gate.resize(threads)
	}
	s.channels = map[string]Channel{}
	for _, c := range channels {
		s.channels[c.Name] = c
	}
	next := map[string]*mon{}
	for _, m := range cfg.Monitors {
		if old := s.monitors[m.Name]; old != nil {
			// The same object keeps serving the monitor, so a check in
			// flight during the reload lands in the state that stays.
			old.mu.Lock()
			old.changed = old.cfg.Checksum != m.Checksum
			old.cfg, old.check = m, prepared[m.Name]
			old.mu.Unlock()
			next[m.Name] = old
			continue
		}
		mo := &mon{site: s, cfg: m, check: prepared[m.Name]}
		if st, ok := states[m.Name]; ok {
			mo.st = st
			mo.changed = st.LastConfigChecksum != m.Checksum
		} else {
			mo.st = state.MonitorState{Name: m.Name, IsUp: true}
			mo.fresh = true
		}
		mo.down.Store(mo.st.OutageID != "")
		next[m.Name] = mo
	}
	s.monitors = next
	return nil
}

// mon is one monitor at run time.
type mon struct {
	site    *Site
	cfg     *config.Monitor
	check   *runner.Check
	changed bool // its configuration changed since the state was written
	fresh   bool // no state at all yet

	mu     sync.Mutex
	st     state.MonitorState // authoritative: the store follows it
	remind scheduler.Timer
	down   atomic.Bool // in an outage (read by dependents)
	gone   bool        // removed from the configuration
}

func (m *mon) policy(s *Site) pacing.Policy {
	c := m.cfg
	quiet := !c.Alarms
	for _, dep := range c.Depends {
		if d := s.monitor(dep); d != nil && d.down.Load() {
			quiet = true
		}
	}
	return pacing.Policy{
		FailuresBeforeOutage:    c.FailuresBeforeOutage,
		SuccessesBeforeRecovery: c.SuccessesBeforeRecovery,
		FlapWindow:              c.FlapWindow,
		FlapChanges:             c.FlapChanges,
		NotifyEvery:             c.NotifyEvery,
		AfterEveryN:             c.AfterEveryN,
		Quiet:                   quiet,
	}
}

func (s *Site) monitor(name string) *mon {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.monitors[name]
}

func (s *Site) monitorList() []*mon {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*mon, 0, len(s.monitors))
	for _, m := range s.monitors {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Name < out[j].cfg.Name })
	return out
}

// gate is a resizable semaphore: the site's max_threads.
type gate struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int
	used  int
}

func newGate(n int) *gate {
	g := &gate{limit: max(n, 1)}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) resize(n int) {
	g.mu.Lock()
	g.limit = max(n, 1)
	g.mu.Unlock()
	g.cond.Broadcast()
}

// Acquire implements runner.Gate.
func (g *gate) Acquire(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.used >= g.limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.cond.Wait()
	}
	g.used++
	return nil
}

// Release implements runner.Gate.
func (g *gate) Release() {
	g.mu.Lock()
	g.used--
	g.mu.Unlock()
	g.cond.Signal()
}

// Close stops the site gracefully and releases the state: no check or
// reminder starts any more; checks and deliveries in progress get
// ShutdownGrace to finish (their results saved, their notifications
// marked sent); what still runs then is cancelled, its result discarded,
// and an interrupted delivery is sent again at the next start.
func (s *Site) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.sched.Stop()
	for _, m := range s.monitorList() {
		m.mu.Lock()
		if m.remind != nil {
			m.remind.Stop()
		}
		m.mu.Unlock()
	}
	grace := s.opts.ShutdownGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	finished := make(chan struct{})
	go func() {
		s.running.Wait()
		s.deliverer.flushOutbox(s.ctx) // what the last checks queued
		s.deliverer.stop()
		close(finished)
	}()
	timer := time.NewTimer(grace)
	select {
	case <-finished:
		timer.Stop()
	case <-timer.C:
		s.log.Warn("stopping: cancelling what still runs after the grace period", "grace", grace)
	}
	s.cancel()
	<-finished
	s.background.Wait()
	err := s.writer.Close()
	s.unlock()
	return errors.Join(err, s.store.Close())
}

// settle waits until no check, state commit, heartbeat or delivery is in
// progress. Tests on a fake clock call it before moving time on.
func (s *Site) settle() {
	for range 3 {
		s.sched.Wait()
		s.running.Wait()
		s.deliverer.flushOutbox(s.ctx)
	}
}

// now is the site clock's time.
func (s *Site) now() time.Time { return s.clock.Now() }

var _ runner.Gate = (*gate)(nil)
