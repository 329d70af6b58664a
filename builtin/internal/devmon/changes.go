package devmon

import (
	"strconv"
	"strings"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

// Notice is the pacing of one kind of change notice about one thing (an
// interface's status, or its MACs), kept in the module state across polls.
type Notice struct {
	AtMS      int64  // when the last notice went out (0: never)
	ChangedMS int64  // when the thing last changed (0: never seen changing)
	K         int    // notices in the current burst
	Held      int    // changes seen since the last notice
	Seen      string // the state the last notice reported, or the first one seen
	Label     string // what notices call the thing (kept: it may be gone by then)
}

// Pacer spaces the change notices of one thing as APMonitor paces outage
// reminders: after the k-th notice of a burst the next may follow after
// Every·t·(2−t), t = k/N (every Every once k ≥ N); a burst ends after a
// change after a quiet Every (no change at all for that long). Changes in
// between are not lost: they are held, and the next notice reports the
// state then against the state last reported, with the number of changes.
type Pacer struct {
	Every time.Duration // notify_every_n_secs; 0 means 600 s
	N     int           // after_every_n_notifications; 0 means 1
}

// Delay is the wait after the k-th notice of a burst.
func (p Pacer) Delay(k int) time.Duration { return zappy.PacingDelay(p.every(), p.N, k) }

func (p Pacer) every() time.Duration {
	if p.Every <= 0 {
		return 600 * time.Second
	}
	return p.Every
}

// Step feeds a thing's state: prev at the previous poll, cur now (nowMS,
// Unix milliseconds). It returns whether a notice is due now, what the last
// notice reported (was) and how many changes there were since.
func (p Pacer) Step(n *Notice, prev, cur string, nowMS int64) (due bool, was string, changes int) {
	if cur != prev {
		if n.ChangedMS > 0 && time.Duration(nowMS-n.ChangedMS)*time.Millisecond >= p.every() {
			n.K = 0 // the first change after a quiet interval: a new burst
		}
		n.ChangedMS = nowMS
		n.Held++
	}
	if n.Held == 0 {
		return false, "", 0
	}
	since := time.Duration(nowMS-n.AtMS) * time.Millisecond
	if n.AtMS > 0 && n.K > 0 && since < p.Delay(n.K) {
		return false, "", 0 // held
	}
	was, changes = n.Seen, n.Held
	n.AtMS, n.K, n.Held, n.Seen = nowMS, n.K+1, 0, cur
	return true, was, changes
}

// Absent is the status string of an interface that is not there.
const Absent = "absent"

// IfStatus is an interface's status as change notices compare and report
// it: "oper=up admin=up".
func IfStatus(oper, admin int) string {
	return "oper=" + OperName(oper) + " admin=" + AdminName(admin)
}

// PortChangeText is the text of a PORT CHANGE notice (APMonitor's:
// "GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)").
func PortChangeText(label, was, cur string, changes int) string {
	var s string
	switch {
	case cur == was && cur == Absent:
		return label + " absent again (came and went: " + strconv.Itoa(changes) + " changes since the last notice)"
	case cur == was:
		return label + " " + cur + " again (flapped: " + strconv.Itoa(changes) + " changes since the last notice)"
	case was == Absent:
		s = label + " appeared " + cur
	case cur == Absent:
		s = label + " disappeared (was " + was + ")"
	default:
		s = label + " " + cur + " (was " + was + ")"
	}
	if changes > 1 {
		s += " after " + strconv.Itoa(changes) + " changes"
	}
	return s
}

// MACSet writes a sorted MAC list as the string notices compare.
func MACSet(macs []string) string { return strings.Join(macs, ",") }

func splitSet(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// MACChangeText is the text of a PORT MAC CHANGE notice (APMonitor's:
// "GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]").
func MACChangeText(label, was, cur string, changes int) string {
	old, now := map[string]bool{}, map[string]bool{}
	for _, m := range splitSet(was) {
		old[m] = true
	}
	for _, m := range splitSet(cur) {
		now[m] = true
	}
	var appeared, gone []string
	for _, m := range splitSet(cur) {
		if !old[m] {
			appeared = append(appeared, m)
		}
	}
	for _, m := range splitSet(was) {
		if !now[m] {
			gone = append(gone, m)
		}
	}
	s := label + " MAC change"
	if len(appeared) > 0 {
		s += " appeared=[" + strings.Join(appeared, ", ") + "]"
	}
	if len(gone) > 0 {
		s += " disappeared=[" + strings.Join(gone, ", ") + "]"
	}
	if len(appeared) == 0 && len(gone) == 0 {
		return s + ": the same MACs again (" + strconv.Itoa(changes) + " changes since the last notice)"
	}
	if changes > 1 {
		s += " after " + strconv.Itoa(changes) + " changes"
	}
	return s
}
