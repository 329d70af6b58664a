package engine

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// Limits on the events of one result (sdk/ABI.md, "events"). Events become
// notifications, so they are held to what a chat message, a mail subject or
// a push title can carry, and a module stuck in a loop cannot flood every
// channel.
const (
	maxEvents       = 64
	maxEventTitle   = 40
	maxEventMessage = 2000
	maxEventKey     = 200
)

// parseEvents validates and cleans a result's "events": an array of
// objects, each with a non-empty string title and optional string message
// and key. Control characters become spaces, over-long strings are cut with
// "…", and beyond maxEvents the first maxEvents-1 are kept followed by one
// event saying how many more were left out. The error names the offending
// element ("events[3]: title is empty").
func parseEvents(v zjson.Value) ([]check.Event, error) {
	if v.IsNull() {
		return nil, nil
	}
	if v.Kind() != zjson.Array {
		return nil, fmt.Errorf("events must be an array")
	}
	items := v.Array()
	if len(items) == 0 {
		return nil, nil
	}
	events := make([]check.Event, 0, min(len(items), maxEvents))
	for i, item := range items {
		if item.Kind() != zjson.Object {
			return nil, fmt.Errorf("events[%d] must be an object", i)
		}
		var e check.Event
		var err error
		if e.Title, err = eventString(item, "title", maxEventTitle); err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		if e.Title == "" {
			return nil, fmt.Errorf("events[%d]: title is empty", i)
		}
		if e.Message, err = eventString(item, "message", maxEventMessage); err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		if e.Key, err = eventString(item, "key", maxEventKey); err != nil {
			return nil, fmt.Errorf("events[%d]: %w", i, err)
		}
		events = append(events, e)
	}
	if len(events) > maxEvents {
		more := len(events) - (maxEvents - 1)
		events = append(events[:maxEvents-1], check.Event{
			Title:   events[maxEvents-1].Title,
			Message: strconv.Itoa(more) + " more events not shown",
		})
	}
	return events, nil
}

// eventString reads a string member of an event, cleaned and capped at n
// characters; a missing or null member is "".
func eventString(obj zjson.Value, key string, n int) (string, error) {
	v := obj.Get(key)
	switch v.Kind() {
	case zjson.Null:
		return "", nil
	case zjson.String:
		return capText(oneLine(v.Str()), n), nil
	}
	return "", fmt.Errorf("%s must be a string", key)
}

// oneLine turns control characters (line breaks, tabs, escapes, C1 codes)
// and line or paragraph separators into spaces and invalid UTF-8 into U+FFFD,
// then trims the ends: an event becomes one line of a chat message, a mail
// subject or an HTTP header.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// capText cuts s to at most n characters, the last one "…" when something
// was cut.
func capText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
