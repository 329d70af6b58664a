// Package notify defines what a notification is (Event), how it reads (Text,
// Subject) and what delivers it (Provider). The outbox, pacing and scheduling
// live elsewhere: a provider only delivers one event when asked and returns an
// error when delivery failed, so that the outbox retries it.
//
// Each provider is its own sub-package (email, webhook, slack, teams, discord,
// pushover, ntfy, pagerduty, alertmanager), gatus-style. Every provider except
// email registers itself with Register from an init function, so a program
// that builds providers with New must import them, e.g.
//
//	import _ "github.com/zappy-mon/zappy/runtime/notify/slack"
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind says why an event is sent.
type Kind string

// The event kinds.
const (
	KindOutage   Kind = "outage"   // first notice of an outage
	KindReminder Kind = "reminder" // the outage goes on
	KindRecovery Kind = "recovery" // the outage ended
	KindReport   Kind = "report"   // periodic list of monitors still failing (picomon)
	KindTest     Kind = "test"     // a test notification asked for by the user
	// KindChange is a change a check module reported beside its status (a
	// switch port going down while the switch stays up). It has a Title
	// ("PORT CHANGE") and a Message, is sent once, is not part of an outage,
	// and goes where outage notices go.
	KindChange Kind = "change"
)

// Event is one notification. It is serialized into the outbox, so it holds
// everything a provider needs and nothing that changes after it is queued.
type Event struct {
	ID       string         `json:"id"`                  // unique and stable: the outbox item's id; sent as an idempotency key
	Kind     Kind           `json:"kind"`                // why the event is sent
	Site     string         `json:"site"`                // site name
	Monitor  string         `json:"monitor,omitempty"`   // monitor name ("" for report/test)
	Type     string         `json:"type,omitempty"`      // monitor type
	Address  string         `json:"address,omitempty"`   // monitor address
	Message  string         `json:"message,omitempty"`   // the check's message (the error for outage/reminder; what changed for change)
	Title    string         `json:"title,omitempty"`     // change: what kind of change, "PORT CHANGE"
	Key      string         `json:"key,omitempty"`       // change: what changed, stable across runs ("if:3"); may be empty
	At       time.Time      `json:"at"`                  // when the event happened
	Since    time.Time      `json:"since,omitzero"`      // start of the outage (outage, reminder, recovery)
	Seq      int            `json:"seq,omitempty"`       // 1 for the outage notice, 2, 3… for reminders
	OutageID string         `json:"outage_id,omitempty"` // stable for one outage: threads mails, dedup keys
	Location *time.Location `json:"-"`                   // site time zone (nil: time.Local); serialized by name as "location"
	Failing  []Failing      `json:"failing,omitempty"`   // report: monitors still failing
}

// eventJSON is Event without its methods, for MarshalJSON/UnmarshalJSON.
type eventJSON Event

// MarshalJSON encodes e for the outbox, with the time zone by name
// ("location": "Europe/Berlin"), so that a queued event still renders in the
// site's zone after a restart.
func (e Event) MarshalJSON() ([]byte, error) {
	loc := ""
	if e.Location != nil {
		loc = e.Location.String()
	}
	return json.Marshal(struct {
		eventJSON
		Location string `json:"location,omitempty"`
	}{eventJSON(e), loc})
}

// UnmarshalJSON decodes what MarshalJSON wrote. A zone that cannot be loaded
// (a fixed zone, or an IANA name unknown to this system) leaves Location nil,
// time.Local, rather than making the queued event undeliverable.
func (e *Event) UnmarshalJSON(b []byte) error {
	var v struct {
		eventJSON
		Location string `json:"location,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Event(v.eventJSON)
	e.Location = nil
	if v.Location != "" {
		if loc, err := time.LoadLocation(v.Location); err == nil {
			e.Location = loc
		}
	}
	return nil
}

// Failing is one monitor that is still down, listed in a report.
type Failing struct {
	Monitor string    `json:"monitor"`
	Type    string    `json:"type,omitempty"`
	Address string    `json:"address,omitempty"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"`
}

// Provider delivers events to one channel. Send delivers exactly one event
// and returns an error when delivery failed, so the outbox can retry; it must
// be safe for concurrent use.
type Provider interface {
	Name() string
	Send(ctx context.Context, e Event) error
}

// Firing is implemented by providers that keep state between events
// (alertmanager): at start the daemon tells them which outages are open, as
// the latest outage or reminder event of each.
type Firing interface {
	SetFiring(events []Event)
}

// Runner is implemented by providers with a long-running part
// (alertmanager's re-posting of firing alerts). Run returns when ctx is done.
type Runner interface {
	Run(ctx context.Context)
}

// Time formats t for messages: APMonitor's "2:15 PM" plus the zone, in loc
// (nil: time.Local), so that readers in other zones are not misled.
func Time(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("3:04 PM MST")
}

// FormatDuration renders d the way APMonitor does, from the largest non-zero
// unit down to seconds: "0 secs", "45 secs", "1 mins 3 secs",
// "2 hours 0 mins 5 secs", "3 days 4 hours 5 mins 6 secs". Fractions of a
// second are dropped and negative durations read as "0 secs".
func FormatDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs < 0 {
		secs = 0
	}
	days, secs := secs/86400, secs%86400
	hours, secs := secs/3600, secs%3600
	mins, secs := secs/60, secs%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d days %d hours %d mins %d secs", days, hours, mins, secs)
	case hours > 0:
		return fmt.Sprintf("%d hours %d mins %d secs", hours, mins, secs)
	case mins > 0:
		return fmt.Sprintf("%d mins %d secs", mins, secs)
	}
	return fmt.Sprintf("%d secs", secs)
}

// oneLine collapses line breaks and other control characters, with the
// spaces around them, into single spaces, so that a multi-line check message
// cannot break a one-line text, a mail subject or an HTTP header.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var parts []string
	for _, p := range strings.FieldsFunc(s, isControl) {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " ")
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// addr renders " (address)", or nothing when there is no address.
func addr(a string) string {
	if a == "" {
		return ""
	}
	return " (" + oneLine(a) + ")"
}

// Text is the event as one line in APMonitor's words, with times in the
// site's zone. A change reads like APMonitor's PORT CHANGE line ("PORT
// CHANGE: office-switch in HomeLab: Gi0/2 oper=down ... at 2:15 PM CET"); a
// report is a first line followed by one line per failing monitor. Line
// breaks inside the event's strings are flattened to spaces.
func Text(e Event) string {
	at := Time(e.At, e.Location)
	mon, site, msg := oneLine(e.Monitor), oneLine(e.Site), oneLine(e.Message)
	switch e.Kind {
	case KindOutage:
		return fmt.Sprintf("%s in %s new outage: %s%s at %s, down for %s", mon, site, msg, addr(e.Address), at, FormatDuration(e.At.Sub(e.Since)))
	case KindReminder:
		return fmt.Sprintf("%s in %s is down: %s%s at %s, down for %s", mon, site, msg, addr(e.Address), at, FormatDuration(e.At.Sub(e.Since)))
	case KindRecovery:
		return fmt.Sprintf("%s in %s is UP%s at %s, outage lasted %s", mon, site, addr(e.Address), at, FormatDuration(e.At.Sub(e.Since)))
	case KindReport:
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d monitor(s) still failing at %s", site, len(e.Failing), at)
		for _, f := range e.Failing {
			fmt.Fprintf(&b, "\n  %s%s: %s, down for %s", oneLine(f.Monitor), addr(f.Address), oneLine(f.Message), FormatDuration(e.At.Sub(f.Since)))
		}
		return b.String()
	case KindTest:
		return fmt.Sprintf("test notification from zappy for %s at %s", site, at)
	case KindChange:
		return fmt.Sprintf("%s: %s in %s: %s at %s", changeTitle(e), mon, site, msg, at)
	}
	if mon != "" {
		return fmt.Sprintf("%s in %s: %s notification: %s at %s", mon, site, e.Kind, msg, at)
	}
	return fmt.Sprintf("%s: %s notification: %s at %s", site, e.Kind, msg, at)
}

// changeTitle is a change's title on one line, "CHANGE" when it has none.
func changeTitle(e Event) string {
	if t := oneLine(e.Title); t != "" {
		return t
	}
	return "CHANGE"
}

// Subject is the event's e-mail subject (also the title of push
// notifications): short, and starting with the kind in capitals like
// APMonitor's log lines ("NEW OUTAGE: ...", "RECOVERY: ...").
func Subject(e Event) string {
	mon, site := oneLine(e.Monitor), oneLine(e.Site)
	switch e.Kind {
	case KindOutage:
		return fmt.Sprintf("NEW OUTAGE: %s in %s", mon, site)
	case KindReminder:
		return fmt.Sprintf("REMINDER: %s in %s is down", mon, site)
	case KindRecovery:
		return fmt.Sprintf("RECOVERY: %s in %s is UP", mon, site)
	case KindReport:
		return fmt.Sprintf("REPORT: %d failing in %s", len(e.Failing), site)
	case KindTest:
		return fmt.Sprintf("TEST: zappy notification for %s", site)
	case KindChange:
		return fmt.Sprintf("%s: %s in %s", changeTitle(e), mon, site)
	}
	if mon != "" {
		return fmt.Sprintf("%s: %s in %s", strings.ToUpper(oneLine(string(e.Kind))), mon, site)
	}
	return fmt.Sprintf("%s: %s", strings.ToUpper(oneLine(string(e.Kind))), site)
}
