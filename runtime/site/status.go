package site

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/state"
)

// MonitorStatus is one row of the state table.
type MonitorStatus struct {
	Name, Type, Address string
	Status              check.Status
	InOutage            bool
	Flapping            bool
	Since               time.Time // start of the outage
	LastChecked         time.Time
	LatencyMS           float64
	Notified            int
	NextNotification    time.Time
	NextCheck           time.Time // zero when not running
	Message             string
}

func row(m *config.Monitor, st state.MonitorState) MonitorStatus {
	r := MonitorStatus{Name: m.Name, Type: m.Type, Address: m.Address, Status: st.Status, InOutage: st.OutageID != "",
		Flapping: st.Flapping, LastChecked: st.LastChecked, LatencyMS: st.LastResponseTimeMS, Notified: st.NotifiedCount,
		Message: st.ErrorReason}
	if r.InOutage {
		r.Since, r.NextNotification = st.LastAlarmStarted, st.NextNotification
	}
	return r
}

// Status is the running site's state table, by monitor name.
func (s *Site) Status() []MonitorStatus {
	var out []MonitorStatus
	for _, m := range s.monitorList() {
		m.mu.Lock()
		r := row(m.cfg, m.st)
		m.mu.Unlock()
		if next, ok := s.sched.Next("check/" + m.cfg.Name); ok {
			r.NextCheck = next
		}
		out = append(out, r)
	}
	return out
}

// StatusFromStore reads the state table of cfg's monitors from a store
// (zappy state, while a daemon may be running).
func StatusFromStore(ctx context.Context, cfg *config.Config, st *state.Store) ([]MonitorStatus, error) {
	states, err := st.Monitors(ctx)
	if err != nil {
		return nil, err
	}
	var out []MonitorStatus
	for _, m := range cfg.Monitors {
		out = append(out, row(m, states[m.Name]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FormatStatus renders a state table: failing monitors first, as picomon's
// SIGUSR1 dump does.
func FormatStatus(site string, rows []MonitorStatus, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	rows = append([]MonitorStatus(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].InOutage && !rows[j].InOutage })
	var b strings.Builder
	fmt.Fprintf(&b, "site %s: %d monitors, %d in outage\n", site, len(rows), countOutages(rows))
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MONITOR\tTYPE\tSTATUS\tSINCE\tLAST CHECK\tLATENCY\tNOTIFIED\tNEXT\tMESSAGE")
	for _, r := range rows {
		status := string(r.Status)
		if status == "" {
			status = "unknown"
		}
		if r.InOutage {
			status = "OUTAGE (" + status + ")"
		}
		if r.Flapping {
			status += " flapping"
		}
		next := ""
		switch {
		case r.InOutage && !r.NextNotification.IsZero():
			next = "notify " + stamp(r.NextNotification, loc)
		case !r.NextCheck.IsZero():
			next = "check " + stamp(r.NextCheck, loc)
		}
		latency := ""
		if r.LatencyMS > 0 {
			latency = fmt.Sprintf("%.1f ms", r.LatencyMS)
		}
		msg := r.Message
		if len(msg) > 80 {
			msg = msg[:80] + "…"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Name, r.Type, status, stamp(r.Since, loc),
			stamp(r.LastChecked, loc), latency, r.Notified, next, msg)
	}
	w.Flush()
	return b.String()
}

func countOutages(rows []MonitorStatus) int {
	n := 0
	for _, r := range rows {
		if r.InOutage {
			n++
		}
	}
	return n
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}
