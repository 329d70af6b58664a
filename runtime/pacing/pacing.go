// Package pacing is the check state machine and APMonitor's notification
// pacing. It is pure logic over state.MonitorState: given a monitor's state,
// a new check result and the monitor's policy, it updates the state and says
// which notifications are due. The daemon persists the state and queues the
// notifications in one transaction.
//
// Outages: a result is good when up or degraded, bad when down or error. A
// monitor enters an outage after FailuresBeforeOutage consecutive bad results
// and leaves it after SuccessesBeforeRecovery consecutive good ones. The
// first notification of an outage is immediate; the k-th reminder follows
// the previous one after X·t·(2−t) with t = k/N (X = notify_every_n_secs,
// N = after_every_n_notifications), then every X once t reaches 1.
//
// Flapping: when the last FlapWindow results contain FlapChanges or more
// good/bad changes, the monitor is flapping; it stops flapping when the
// changes fall to half that. While flapping, outage notices and reminders
// are held back (an outage notice held back goes out when the flapping
// stops and the monitor is still down). Quiet monitors (alarms off, a
// dependency down) send no notices either. A recovery is always sent for
// an outage people were told about, so nobody is left with an open alarm.
package pacing

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/state"
	zappy "github.com/zappy-mon/zappy/sdk/go"
)

// Delay is how long after the k-th notification of an outage the next one
// is due (k ≥ 1). With n ≤ 1 the interval is constant. It is the SDK's
// PacingDelay, so that modules pacing their own notices follow the same
// curve by construction.
func Delay(every time.Duration, n, k int) time.Duration { return zappy.PacingDelay(every, n, k) }

// Policy is what governs one monitor's state and notifications.
type Policy struct {
	FailuresBeforeOutage    int
	SuccessesBeforeRecovery int
	FlapWindow, FlapChanges int
	NotifyEvery             time.Duration
	AfterEveryN             int
	// Quiet holds notifications back: alarms switched off, or a dependency
	// of the monitor is itself in an outage (root-cause suppression).
	Quiet bool
}

// Event is a notification to send.
type Event struct {
	Kind notify.Kind
	Seq  int // 1 for the outage notice, then 2, 3, … for reminders
	// OutageID is the outage the notification is about; for a recovery,
	// the one it closes (Observe has cleared it from the state).
	OutageID string
}

func letter(s check.Status) byte {
	switch s {
	case check.Up:
		return 'u'
	case check.Degraded:
		return 'g'
	case check.Down:
		return 'd'
	}
	return 'e'
}

func goodLetter(b byte) bool { return b == 'u' || b == 'g' }

// changes counts good/bad flips in a status history.
func changes(h string) int {
	n := 0
	for i := 1; i < len(h); i++ {
		if goodLetter(h[i]) != goodLetter(h[i-1]) {
			n++
		}
	}
	return n
}

// NewOutageID makes a random outage identifier.
func NewOutageID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Observe folds result res, taken at now, into st and returns the
// notifications due because of it.
func Observe(st *state.MonitorState, res check.Result, p Policy, now time.Time) []Event {
	good := res.Status.Good()
	st.Status = res.Status
	st.LastChecked = now
	if good {
		st.ConsecutiveSuccesses++
		st.ConsecutiveFailures = 0
		st.LastResponseTimeMS = res.LatencyMS
		st.ErrorReason = ""
	} else {
		if st.ConsecutiveFailures == 0 && st.OutageID == "" {
			st.LastAlarmStarted = now // the failure streak begins
		}
		st.ConsecutiveFailures++
		st.ConsecutiveSuccesses = 0
		st.ErrorReason = res.Message
	}
	st.DownCount = st.ConsecutiveFailures
	if res.State != nil {
		st.ModuleState = res.State
	}

	// Flapping, with hysteresis.
	if p.FlapWindow > 0 && p.FlapChanges > 0 {
		h := st.RecentStatuses + string(letter(res.Status))
		if len(h) > p.FlapWindow {
			h = h[len(h)-p.FlapWindow:]
		}
		st.RecentStatuses = h
		switch c := changes(h); {
		case c >= p.FlapChanges:
			st.Flapping = true
		case c <= p.FlapChanges/2:
			st.Flapping = false
		}
	} else {
		st.Flapping = false
	}

	var events []Event
	switch {
	case st.OutageID == "" && !good && st.ConsecutiveFailures >= max(p.FailuresBeforeOutage, 1):
		st.OutageID = NewOutageID()
		st.IsUp = false
		st.NotifiedCount = 0
		st.NextNotification = now
		if e, ok := Remind(st, p, now); ok {
			events = append(events, e)
		}
	case st.OutageID != "" && good && st.ConsecutiveSuccesses >= max(p.SuccessesBeforeRecovery, 1):
		// A recovery closes every outage people were told about, even when
		// the monitor has gone quiet since (alarms switched off, or a
		// dependency down): otherwise their alarm, incident or firing
		// alert would stay open.
		if st.NotifiedCount > 0 {
			events = append(events, Event{Kind: notify.KindRecovery, OutageID: st.OutageID})
			st.LastNotified = now
		}
		st.OutageID = ""
		st.IsUp = true
		st.NotifiedCount = 0
		st.NextNotification = time.Time{}
	case st.OutageID == "":
		st.IsUp = true
	case st.OutageID != "" && !good:
		// Still down: a notice held back (flapping, quiet) may be due now.
		if e, ok := Remind(st, p, now); ok {
			events = append(events, e)
		}
	}
	return events
}

// Remind returns the outage notice or reminder due at now, updating st, or
// false when none is due (no outage, held back, or not yet time).
func Remind(st *state.MonitorState, p Policy, now time.Time) (Event, bool) {
	if st.OutageID == "" || p.Quiet || st.Flapping || now.Before(st.NextNotification) {
		return Event{}, false
	}
	e := Event{Kind: notify.KindReminder, Seq: st.NotifiedCount + 1, OutageID: st.OutageID}
	if st.NotifiedCount == 0 {
		e.Kind = notify.KindOutage
	}
	st.NotifiedCount++
	st.LastNotified = now
	st.NextNotification = now.Add(Delay(p.NotifyEvery, p.AfterEveryN, st.NotifiedCount))
	return e, true
}
