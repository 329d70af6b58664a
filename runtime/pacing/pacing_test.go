package pacing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/state"
)

func TestDelay(t *testing.T) {
	x := 3600 * time.Second
	tests := []struct {
		n, k int
		want time.Duration
	}{
		{1, 0, 0},
		{1, 1, x},
		{1, 7, x},
		{8, 1, time.Duration(float64(x) * (1.0 / 8) * (2 - 1.0/8))}, // 843.75 s
		{8, 2, time.Duration(float64(x) * (2.0 / 8) * (2 - 2.0/8))}, // 1575 s
		{8, 4, time.Duration(float64(x) * 0.5 * 1.5)},               // 2700 s
		{8, 8, x},
		{8, 9, x},
		{6, 3, time.Duration(float64(x) * 0.5 * 1.5)},
	}
	for _, tt := range tests {
		if got := Delay(x, tt.n, tt.k); got != tt.want {
			t.Errorf("Delay(1h, N=%d, k=%d) = %v, want %v", tt.n, tt.k, got, tt.want)
		}
	}
	// The curve accelerates then settles: strictly increasing up to X.
	prev := time.Duration(0)
	for k := 1; k <= 8; k++ {
		d := Delay(x, 8, k)
		if d <= prev || d > x {
			t.Fatalf("k=%d: %v after %v", k, d, prev)
		}
		prev = d
	}
}

var start = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// run feeds a sequence of statuses, one per minute, and renders what was
// notified: "t+3m outage#1" etc. Reminders are polled every minute too.
func run(t *testing.T, p Policy, seq string) (string, *state.MonitorState) {
	t.Helper()
	st := &state.MonitorState{Name: "m", IsUp: true}
	var out []string
	for i, c := range seq {
		now := start.Add(time.Duration(i) * time.Minute)
		status := map[rune]check.Status{'u': check.Up, 'g': check.Degraded, 'd': check.Down, 'e': check.Error}[c]
		evs := Observe(st, check.Result{Status: status, Message: "msg " + string(c), LatencyMS: 1}, p, now)
		if e, ok := Remind(st, p, now); ok {
			evs = append(evs, e)
		}
		for _, e := range evs {
			s := fmt.Sprintf("t+%dm %s", i, e.Kind)
			if e.Kind != notify.KindRecovery {
				s += fmt.Sprintf("#%d", e.Seq)
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, ", "), st
}

func TestStateMachine(t *testing.T) {
	base := Policy{FailuresBeforeOutage: 1, SuccessesBeforeRecovery: 1, NotifyEvery: 10 * time.Minute, AfterEveryN: 1}
	tests := []struct {
		name string
		p    func(Policy) Policy
		seq  string
		want string
	}{
		{"outage then recovery", nil, "uuddduu", "t+2m outage#1, t+5m recovery"},
		{"constant reminders (N=1)", nil, "udddddddddddddddddddddu",
			"t+1m outage#1, t+11m reminder#2, t+21m reminder#3, t+22m recovery"},
		{"paced reminders (N=4, X=40m)", func(p Policy) Policy { p.NotifyEvery, p.AfterEveryN = 40*time.Minute, 4; return p },
			"u" + strings.Repeat("d", 120),
			// delays: k=1: 40·¼·1¾ = 17.5m, k=2: 30m, k=3: 37.5m, k≥4: 40m.
			"t+1m outage#1, t+19m reminder#2, t+49m reminder#3, t+87m reminder#4"},
		{"degraded counts as up", nil, "ugdgu", "t+2m outage#1, t+3m recovery"},
		{"error counts as down", nil, "ueeu", "t+1m outage#1, t+3m recovery"},
		{"failure threshold", func(p Policy) Policy { p.FailuresBeforeOutage = 3; return p }, "udduddduu", "t+6m outage#1, t+7m recovery"},
		{"success threshold", func(p Policy) Policy { p.SuccessesBeforeRecovery = 2; return p }, "udududuu", "t+1m outage#1, t+7m recovery"},
		{"quiet: no notifications", func(p Policy) Policy { p.Quiet = true; return p }, "uddddu", ""},
		{"flapping holds back notices", func(p Policy) Policy { p.FlapWindow, p.FlapChanges = 10, 4; return p },
			"udududududdddddddddd",
			// Up to 3 changes in the window nothing is held back; the 4th
			// change (t+4m) starts flapping: the recovery of the outage people
			// were told about still goes out, the next outages are held.
			// Flapping ends when the window (t+7m..t+16m) holds 2 changes,
			// and the held outage notice goes out.
			"t+1m outage#1, t+2m recovery, t+3m outage#1, t+4m recovery, t+16m outage#1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			if tt.p != nil {
				p = tt.p(p)
			}
			got, _ := run(t, p, tt.seq)
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStateFields(t *testing.T) {
	p := Policy{FailuresBeforeOutage: 2, SuccessesBeforeRecovery: 1, NotifyEvery: time.Hour, AfterEveryN: 1}
	_, st := run(t, p, "udd")
	if st.IsUp || st.OutageID == "" || st.DownCount != 2 || st.ConsecutiveFailures != 2 || st.NotifiedCount != 1 ||
		!st.LastAlarmStarted.Equal(start.Add(time.Minute)) || !st.LastNotified.Equal(start.Add(2*time.Minute)) ||
		!st.NextNotification.Equal(start.Add(62*time.Minute)) || st.ErrorReason != "msg d" || st.Status != check.Down {
		t.Fatalf("in outage: %+v", st)
	}
	outage := st.OutageID
	evs := Observe(st, check.Result{Status: check.Up, LatencyMS: 12.5}, p, start.Add(3*time.Minute))
	if len(evs) != 1 || evs[0].Kind != notify.KindRecovery || !st.IsUp || st.OutageID != "" || st.NotifiedCount != 0 ||
		st.ErrorReason != "" || st.LastResponseTimeMS != 12.5 || st.DownCount != 0 || outage == "" {
		t.Fatalf("after recovery: %+v %v", st, evs)
	}
}

func TestHeldOutageNoticeAfterQuiet(t *testing.T) {
	p := Policy{FailuresBeforeOutage: 1, SuccessesBeforeRecovery: 1, NotifyEvery: time.Hour, AfterEveryN: 1, Quiet: true}
	st := &state.MonitorState{IsUp: true}
	if evs := Observe(st, check.Result{Status: check.Down}, p, start); len(evs) != 0 || st.OutageID == "" {
		t.Fatalf("quiet outage: %v %+v", evs, st)
	}
	p.Quiet = false // e.g. the parent recovered; this one is still down
	e, ok := Remind(st, p, start.Add(time.Minute))
	if !ok || e.Kind != notify.KindOutage || e.Seq != 1 {
		t.Fatalf("held notice: %v %v", e, ok)
	}
	// A recovery after a notice that went out is announced, even when the
	// monitor has gone quiet again since (its parent failed in between).
	p.Quiet = true
	if evs := Observe(st, check.Result{Status: check.Up}, p, start.Add(2*time.Minute)); len(evs) != 1 || evs[0].Kind != notify.KindRecovery {
		t.Fatalf("recovery: %v", evs)
	}
}
