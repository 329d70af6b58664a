package site

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/pacing"
)

// OnceResult summarises a run of Once.
type OnceResult struct {
	Checked   int // monitors checked
	Reminded  int // outage notices and reminders due without a check
	Delivered int // outbox items attempted
}

// Once is APMonitor's cron mode: check the monitors that are due (their
// interval elapsed since the last check, their configuration changed, or
// never checked), send the reminders and heartbeats that are due, deliver
// the outbox once, save everything and return. Checks run concurrently,
// bounded by max_threads; each monitor's retries only delay that monitor.
func (s *Site) Once(ctx context.Context) (OnceResult, error) {
	var res OnceResult
	if err := s.markSeen(ctx); err != nil {
		return res, err
	}
	now := s.now()
	var wg sync.WaitGroup
	for _, m := range s.monitorList() {
		if !s.due(m, now) {
			continue
		}
		res.Checked++
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runCheck(m, now)
		}()
	}
	wg.Wait()
	for _, m := range s.monitorList() {
		m.mu.Lock()
		checked := !m.st.LastChecked.Before(now)
		m.mu.Unlock()
		if !checked {
			p := m.policy(s)
			m.mu.Lock()
			e, ok := pacing.Remind(&m.st, p, s.now())
			st := m.st
			m.mu.Unlock()
			if ok {
				res.Reminded++
				s.commit(m, &st, nil, []pacing.Event{e}, nil, s.now())
			}
		}
		if m.cfg.HeartbeatURL != "" && m.cfg.HeartbeatEvery > 0 {
			m.mu.Lock()
			hbDue := !m.st.LastSuccessfulHeartbeat.Add(m.cfg.HeartbeatEvery).After(s.now())
			m.mu.Unlock()
			if hbDue {
				s.heartbeat(m)
			}
		}
	}
	s.onceReport(ctx)
	s.housekeeping() // cron mode has no hourly job: prune here
	s.running.Wait() // state commits, heartbeats
	pending, _ := s.store.PendingCount(ctx)
	res.Delivered = pending
	s.deliverer.flushOutbox(ctx)
	s.store.SetMeta(ctx, "execution_time", s.now().UTC().Format(time.RFC3339Nano))
	s.store.SetMeta(ctx, "execution_ms", strconv.FormatInt(time.Since(now).Milliseconds(), 10))
	return res, nil
}

// due reports whether m should be checked at now in cron mode.
func (s *Site) due(m *mon, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fresh || m.changed || m.st.LastChecked.IsZero() {
		return true
	}
	if m.cfg.Schedule != nil {
		return !m.cfg.Schedule.Next(m.st.LastChecked).After(now)
	}
	return !m.st.LastChecked.Add(m.cfg.CheckEvery).After(now)
}

// onceReport queues the periodic report when one is configured and due.
func (s *Site) onceReport(ctx context.Context) {
	s.mu.Lock()
	r := s.cfg.Site.Report
	s.mu.Unlock()
	if r == nil {
		return
	}
	if last, ok := s.lastReport(); ok && last.Add(r.Every).After(s.now()) {
		return
	}
	s.report()
}

// SendTest sends a test notification straight to every channel (not
// through the outbox) and returns each channel's outcome.
func (s *Site) SendTest(ctx context.Context) map[string]error {
	s.mu.Lock()
	ev := notify.Event{ID: "test-" + strconv.FormatInt(s.now().UnixNano(), 36), Kind: notify.KindTest, Site: s.cfg.Site.Name,
		At: s.now(), Location: s.cfg.Site.Timezone}
	channels := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		channels = append(channels, c)
	}
	s.mu.Unlock()
	out := map[string]error{}
	for _, c := range channels {
		ctx, cancel := context.WithTimeout(ctx, sendTimeout)
		out[c.Name] = c.Provider.Send(ctx, ev)
		cancel()
	}
	return out
}
