package site

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/pacing"
	"github.com/zappy-mon/zappy/runtime/scheduler"
	"github.com/zappy-mon/zappy/runtime/state"
)

// restartSpread bounds how far apart the first checks of overdue monitors
// are spread after a start, so a restart does not fire everything at once.
const restartSpread = 30 * time.Second

// Start schedules every monitor, heartbeats, reports and housekeeping, and
// starts the outbox. It returns at once; Close stops it all.
func (s *Site) Start(ctx context.Context) error {
	if err := s.markSeen(ctx); err != nil {
		return err
	}
	s.firing()
	for _, m := range s.monitorList() {
		s.schedule(m, true, nil)
	}
	s.scheduleSiteJobs()
	s.deliverer.start()
	s.log.Info("site started", "monitors", len(s.monitorList()), "channels", len(s.channels))
	return nil
}

// Run is Start, then waits for ctx to end and closes the site.
func (s *Site) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Reload applies a new configuration without losing state: monitors that
// stay keep their state (and are checked at once if their configuration
// changed), new ones start, removed ones stop.
func (s *Site) Reload(ctx context.Context, cfg *config.Config) error {
	old := map[string]*mon{}
	prevCfg := map[string]*config.Monitor{}
	for _, m := range s.monitorList() {
		old[m.cfg.Name] = m
		m.mu.Lock()
		prevCfg[m.cfg.Name] = m.cfg
		m.mu.Unlock()
	}
	if err := s.configure(ctx, cfg); err != nil {
		return err
	}
	for name, m := range old {
		if s.monitor(name) == nil {
			s.sched.Remove("check/" + name)
			s.sched.Remove("heartbeat/" + name)
			m.mu.Lock()
			m.gone = true
			if m.remind != nil {
				m.remind.Stop()
			}
			m.mu.Unlock()
			s.log.Info("monitor removed", "monitor", name)
		}
	}
	for _, m := range s.monitorList() {
		s.schedule(m, false, prevCfg[m.cfg.Name])
	}
	s.firing()
	s.scheduleSiteJobs()
	s.deliverer.kick()
	s.log.Info("configuration reloaded", "monitors", len(s.monitorList()))
	return s.markSeen(ctx)
}

func (s *Site) markSeen(ctx context.Context) error {
	var names []string
	for _, m := range s.monitorList() {
		names = append(names, m.cfg.Name)
	}
	return s.store.MarkSeen(ctx, names, s.now())
}

// schedule (re)schedules a monitor's checks, heartbeats and reminders.
// prev is the monitor's previous configuration on a reload (nil at start
// or for a new monitor): an unchanged schedule keeps its cadence.
func (s *Site) schedule(m *mon, starting bool, prev *config.Monitor) {
	now := s.now()
	c := m.cfg
	name := c.Name
	spec := scheduler.Spec{Every: c.CheckEvery, Jitter: c.Jitter, Cron: c.Schedule}
	m.mu.Lock()
	last := m.st.LastChecked
	changed, fresh := m.changed, m.fresh
	m.changed = false
	m.mu.Unlock()
	sameSchedule := prev != nil && prev.CheckEvery == c.CheckEvery && prev.Jitter == c.Jitter && prev.Cron == c.Cron
	switch {
	case changed:
		spec.First = now // APMonitor: a changed monitor is checked at once
	case sameSchedule:
		spec.First = time.Time{} // keep the cadence: the entry is not replaced
	case fresh && starting:
		// Zero First: the scheduler spreads first runs by a stable phase.
	case fresh:
		spec.First = now // added by a reload
	case spec.Cron != nil:
		// Cron decides.
	default:
		due := last.Add(c.CheckEvery)
		if due.After(now) {
			spec.First = due
		} else {
			spec.First = now.Add(scheduler.Phase(c.Name, min(c.CheckEvery, restartSpread)))
		}
	}
	// Jobs look the monitor up by name when they run, so an entry that is
	// kept serves the monitor's new configuration.
	if _, exists := s.sched.Next("check/" + name); !exists || !sameSchedule || changed {
		if changed && sameSchedule {
			s.sched.RunNow("check/" + name)
		} else {
			s.sched.Add("check/"+name, spec, func(scheduled time.Time) {
				if m := s.monitor(name); m != nil {
					s.runCheck(m, scheduled)
				}
			})
		}
	}
	if c.HeartbeatURL != "" && c.HeartbeatEvery > 0 {
		if prev == nil || prev.HeartbeatEvery != c.HeartbeatEvery || prev.HeartbeatURL == "" {
			m.mu.Lock()
			first := m.st.LastSuccessfulHeartbeat.Add(c.HeartbeatEvery)
			m.mu.Unlock()
			if first.Before(now) {
				first = now
			}
			s.sched.Add("heartbeat/"+name, scheduler.Spec{Every: c.HeartbeatEvery, First: first}, func(time.Time) {
				if m := s.monitor(name); m != nil {
					s.heartbeat(m)
				}
			})
		}
	} else {
		s.sched.Remove("heartbeat/" + name)
	}
	s.armReminder(m)
}

// scheduleSiteJobs schedules reports and housekeeping.
func (s *Site) scheduleSiteJobs() {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	switch r := cfg.Site.Report; {
	case r == nil:
		s.sched.Remove("site/report")
		s.reportEvery = 0
	case r.Every != s.reportEvery:
		// Due one interval after the last report (kept in the state, so
		// that restarts and reloads do not postpone it forever); soon
		// when that has passed.
		first := s.now().Add(r.Every)
		if last, ok := s.lastReport(); ok {
			first = last.Add(r.Every)
			if soon := s.now().Add(time.Minute); first.Before(soon) {
				first = soon
			}
		}
		s.sched.Add("site/report", scheduler.Spec{Every: r.Every, First: first}, func(time.Time) { s.report() })
		s.reportEvery = r.Every
	}
	if _, ok := s.sched.Next("site/housekeeping"); !ok {
		s.sched.Add("site/housekeeping", scheduler.Spec{Every: time.Hour, First: s.now().Add(time.Minute)}, func(time.Time) { s.housekeeping() })
	}
}

// lastReport is when the last report was made.
func (s *Site) lastReport() (time.Time, bool) {
	v, ok, err := s.store.Meta(s.ctx, "last_report")
	if err != nil || !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// runCheck is one scheduled check of m.
func (s *Site) runCheck(m *mon, scheduled time.Time) {
	if s.closed.Load() {
		return
	}
	s.running.Add(1)
	defer s.running.Done()
	m.mu.Lock()
	modState := m.st.ModuleState
	gone := m.gone
	m.mu.Unlock()
	if gone {
		return
	}
	res := m.check.RunGated(s.ctx, modState, s.gate)
	if s.ctx.Err() != nil {
		return // shutting down: a canceled check is not a result
	}
	s.observe(m, res)
}

// observe folds a result into m's state and queues what it implies.
func (s *Site) observe(m *mon, res check.Result) {
	now := s.now()
	p := m.policy(s)
	m.mu.Lock()
	prevStatus := m.st.Status
	events := pacing.Observe(&m.st, res, p, now)
	m.st.LastConfigChecksum = m.cfg.Checksum
	m.down.Store(m.st.OutageID != "")
	st := m.st
	hb := m.cfg.HeartbeatURL != "" && m.cfg.HeartbeatEvery == 0 && res.Status.Good()
	m.mu.Unlock()
	fields := historyFields(res, prevStatus)
	hist := &state.HistoryRow{
		Monitor: m.cfg.Name, At: now, Status: res.Status, Class: res.Class, LatencyMS: res.LatencyMS,
		Message: res.Message, Attempts: res.Attempts, Metrics: res.Metrics, Fields: fields,
	}
	s.log.Debug("check", "monitor", m.cfg.Name, "status", res.Status, "latency_ms", res.LatencyMS, "message", res.Message)
	for _, e := range events {
		s.log.Info("notification", "monitor", m.cfg.Name, "kind", e.Kind, "seq", e.Seq)
	}
	// Changes the module reported go out whatever the status, unless the
	// monitor's notifications are quiet (alarms off, or a monitor it
	// depends on is down).
	var changes []check.Event
	if !p.Quiet {
		changes = res.Events
		for _, e := range changes {
			s.log.Info("notification", "monitor", m.cfg.Name, "kind", notify.KindChange, "title", e.Title, "key", e.Key, "message", e.Message)
		}
	} else if len(res.Events) > 0 {
		s.log.Debug("changes held back: notifications are quiet", "monitor", m.cfg.Name, "changes", len(res.Events))
	}
	s.commit(m, &st, hist, events, changes, now)
	if hb {
		go s.heartbeat(m)
	}
}

// commit persists a monitor's state with its history row and the outbox
// items of its events and of the changes its module reported, then arms its
// reminder and wakes the outbox.
func (s *Site) commit(m *mon, st *state.MonitorState, hist *state.HistoryRow, events []pacing.Event, changes []check.Event, now time.Time) {
	u := state.Update{Monitor: st, History: hist, Outbox: s.outboxItems(m, *st, events, changes, now)}
	queued := len(u.Outbox) > 0
	s.running.Add(1)
	s.writer.Submit(u, func(err error) {
		defer s.running.Done()
		if err != nil {
			s.log.Error("saving state", "monitor", m.cfg.Name, "err", err)
			return
		}
		if queued {
			s.deliverer.kick()
		}
	})
	s.armReminder(m)
}

// armReminder sets m's timer for its next outage notice or reminder.
func (s *Site) armReminder(m *mon) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.remind != nil {
		m.remind.Stop()
		m.remind = nil
	}
	if m.st.OutageID == "" || m.gone || s.closed.Load() {
		return
	}
	at := m.st.NextNotification
	d := at.Sub(s.now())
	if d < time.Second {
		d = time.Second // a held notice is looked at again shortly
	}
	m.remind = s.clock.AfterFunc(d, func() { s.remindNow(m) })
}

func (s *Site) remindNow(m *mon) {
	if s.closed.Load() {
		return
	}
	now := s.now()
	p := m.policy(s)
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		return
	}
	e, ok := pacing.Remind(&m.st, p, now)
	st := m.st
	m.mu.Unlock()
	if ok {
		s.log.Info("notification", "monitor", m.cfg.Name, "kind", e.Kind, "seq", e.Seq)
		s.commit(m, &st, nil, []pacing.Event{e}, nil, now)
		return
	}
	if st.OutageID != "" && (p.Quiet || st.Flapping) {
		// Held back: look again at the next check (observe re-arms).
		return
	}
	s.armReminder(m)
}

// outboxItems renders the notifications of events, then those of the
// changes a module reported, for every channel that wants them.
func (s *Site) outboxItems(m *mon, st state.MonitorState, events []pacing.Event, changes []check.Event, now time.Time) []state.OutboxItem {
	if len(events) == 0 && len(changes) == 0 {
		return nil
	}
	s.mu.Lock()
	cfg := s.cfg
	channels := make([]Channel, 0, len(s.channels))
	for _, c := range s.channels {
		channels = append(channels, c)
	}
	s.mu.Unlock()
	evs := make([]notify.Event, 0, len(events)+len(changes))
	for _, e := range events {
		evs = append(evs, notify.Event{
			Kind: e.Kind, Site: cfg.Site.Name, Monitor: m.cfg.Name, Type: m.cfg.Type, Address: m.cfg.Address,
			Message: st.ErrorReason, At: now, Since: st.LastAlarmStarted, Seq: e.Seq, OutageID: e.OutageID,
			Location: cfg.Site.Timezone,
		})
	}
	for _, c := range changes {
		evs = append(evs, notify.Event{
			Kind: notify.KindChange, Site: cfg.Site.Name, Monitor: m.cfg.Name, Type: m.cfg.Type, Address: m.cfg.Address,
			Title: c.Title, Message: c.Message, Key: c.Key, At: now, Location: cfg.Site.Timezone,
		})
	}
	var items []state.OutboxItem
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			s.log.Error("encoding notification", "monitor", m.cfg.Name, "err", err)
			continue
		}
		for _, c := range channels {
			if !c.wants(ev.Kind) || (c.Email && !m.cfg.Email) {
				continue
			}
			items = append(items, state.OutboxItem{Channel: c.Name, Monitor: m.cfg.Name, Kind: string(ev.Kind), Payload: payload, CreatedAt: now, NextAttempt: now})
		}
	}
	return items
}

// housekeeping prunes history and removed monitors, and refreshes which
// monitors are in the configuration.
func (s *Site) housekeeping() {
	s.running.Add(1)
	defer s.running.Done()
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	now := s.now()
	ctx := s.ctx
	if err := s.markSeen(ctx); err != nil {
		s.log.Error("housekeeping", "err", err)
	}
	if n, err := s.store.PruneHistory(ctx, now.Add(-cfg.Site.HistoryRetention)); err != nil {
		s.log.Error("pruning history", "err", err)
	} else if n > 0 {
		s.log.Info("pruned history", "rows", n)
	}
	if gone, err := s.store.PruneMonitors(ctx, now.Add(-cfg.Site.PruneRemovedAfter)); err != nil {
		s.log.Error("pruning removed monitors", "err", err)
	} else if len(gone) > 0 {
		s.log.Info("pruned removed monitors", "monitors", gone)
	}
}

// report queues the periodic report of every monitor still failing (none
// when nothing is) and records that the report was made.
func (s *Site) report() {
	now := s.now()
	if err := s.store.SetMeta(s.ctx, "last_report", now.UTC().Format(time.RFC3339Nano)); err != nil {
		s.log.Error("recording the report", "err", err)
	}
	var failing []notify.Failing
	for _, m := range s.monitorList() {
		m.mu.Lock()
		if m.st.OutageID != "" {
			failing = append(failing, notify.Failing{Monitor: m.cfg.Name, Type: m.cfg.Type, Address: m.cfg.Address, Message: m.st.ErrorReason, Since: m.st.LastAlarmStarted})
		}
		m.mu.Unlock()
	}
	if len(failing) == 0 {
		return
	}
	s.queueSiteEvent(notify.Event{Kind: notify.KindReport, At: now, Failing: failing}, now)
}

// queueSiteEvent queues a site-wide event (report) for every channel.
func (s *Site) queueSiteEvent(ev notify.Event, now time.Time) {
	s.mu.Lock()
	ev.Site, ev.Location = s.cfg.Site.Name, s.cfg.Site.Timezone
	var items []state.OutboxItem
	payload, err := json.Marshal(ev)
	for _, c := range s.channels {
		items = append(items, state.OutboxItem{Channel: c.Name, Kind: string(ev.Kind), Payload: payload, CreatedAt: now, NextAttempt: now})
	}
	s.mu.Unlock()
	if err != nil || len(items) == 0 {
		return
	}
	s.running.Add(1)
	s.writer.Submit(state.Update{Outbox: items}, func(err error) {
		defer s.running.Done()
		if err != nil {
			s.log.Error("queuing report", "err", err)
			return
		}
		s.deliverer.kick()
	})
}

// firing tells channels that keep state (Alertmanager) which outages are
// open, and (re)starts the channels' long-running parts. It runs at start
// and after every reload, since reloads rebuild the channels.
func (s *Site) firing() {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	var open []notify.Event
	for _, m := range s.monitorList() {
		m.mu.Lock()
		if m.st.OutageID != "" && m.st.NotifiedCount > 0 {
			open = append(open, notify.Event{Kind: notify.KindReminder, Site: cfg.Site.Name, Monitor: m.cfg.Name, Type: m.cfg.Type,
				Address: m.cfg.Address, Message: m.st.ErrorReason, At: m.st.LastNotified, Since: m.st.LastAlarmStarted,
				Seq: m.st.NotifiedCount, OutageID: m.st.OutageID, Location: cfg.Site.Timezone})
		}
		m.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chanCancel != nil {
		s.chanCancel()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.chanCancel = cancel
	for _, c := range s.channels {
		if f, ok := c.Provider.(notify.Firing); ok {
			f.SetFiring(open)
		}
		if r, ok := c.Provider.(notify.Runner); ok {
			s.background.Add(1)
			go func() {
				defer s.background.Done()
				r.Run(ctx)
			}()
		}
	}
}

// maxHistoryFields bounds the fields kept with one history row.
const maxHistoryFields = 16 << 10

// historyFields are the result fields kept in history: those of results
// that need explaining — not up, or a change of status — up to 16 KiB.
// Metrics and messages are kept for every result, but the fields of a
// steady up result (an HTTP body, a switch's interface list) would make the
// history grow by kilobytes per check for nothing new.
func historyFields(res check.Result, prevStatus check.Status) json.RawMessage {
	if len(res.Fields) == 0 || res.Status == check.Up && prevStatus == check.Up {
		return nil
	}
	b, err := json.Marshal(res.Fields)
	if err != nil {
		return nil
	}
	if len(b) > maxHistoryFields {
		return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(b)))
	}
	return b
}
