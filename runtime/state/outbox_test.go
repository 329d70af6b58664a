package state

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOutboxRoundTripAndDefaults(t *testing.T) {
	s, _ := openTest(t)
	items := []OutboxItem{
		{ID: "full", Channel: "mail", Monitor: "web", Kind: "outage", Payload: json.RawMessage(`{"subject":"web down","to":["a@b"]}`),
			CreatedAt: t0, NextAttempt: t0.Add(-time.Second), Attempts: 2, LastError: "421 try later", State: "pending"},
		{ID: "nil-payload", Channel: "pushover", Kind: "report", CreatedAt: t0.Add(time.Nanosecond)},
		{ID: "empty-payload", Channel: "pushover", Kind: "test", Payload: json.RawMessage{}, CreatedAt: t0.Add(2 * time.Nanosecond)},
		{Channel: "webhook", Monitor: "dns", Kind: "recovery"}, // every default
	}
	before := time.Now()
	apply(t, s, Update{Outbox: items})
	after := time.Now()

	// Apply filled the defaults into the caller's slice.
	d := items[3]
	if !validID(d.ID) {
		t.Errorf("generated ID %q is not a ULID", d.ID)
	}
	if d.CreatedAt.Before(before) || d.CreatedAt.After(after) || !d.NextAttempt.Equal(d.CreatedAt) || d.State != "pending" {
		t.Errorf("defaults: CreatedAt %v (want within [%v, %v]), NextAttempt %v, State %q", d.CreatedAt, before, after, d.NextAttempt, d.State)
	}
	if ms := idTime(d.ID); ms != d.CreatedAt.UnixMilli() {
		t.Errorf("ID time %d ms, CreatedAt %d ms", ms, d.CreatedAt.UnixMilli())
	}

	got, err := s.DueOutbox(ctx, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]OutboxItem, len(items))
	for i, it := range items {
		it.CreatedAt, it.NextAttempt = it.CreatedAt.UTC(), it.NextAttempt.UTC()
		want[i] = it
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DueOutbox:\n got %#v\nwant %#v", got, want)
	}
	if got[1].Payload != nil || got[2].Payload == nil {
		t.Errorf("payload nil-ness lost: %#v, %#v", got[1].Payload, got[2].Payload)
	}
}

func TestDueOutboxOrderAndLimit(t *testing.T) {
	s, _ := openTest(t)
	now := t0.Add(time.Hour)
	apply(t, s,
		Update{Outbox: []OutboxItem{{ID: "c", Channel: "x", CreatedAt: t0.Add(3 * time.Minute)}}},
		Update{Outbox: []OutboxItem{{ID: "a", Channel: "x", CreatedAt: t0.Add(1 * time.Minute)}}},
		Update{Outbox: []OutboxItem{{ID: "later", Channel: "x", CreatedAt: t0, NextAttempt: now.Add(time.Nanosecond)}}},
		Update{Outbox: []OutboxItem{{ID: "b", Channel: "x", CreatedAt: t0.Add(2 * time.Minute), NextAttempt: now}}},
		Update{Outbox: []OutboxItem{{ID: "b0", Channel: "x", CreatedAt: t0.Add(2 * time.Minute)}}}, // same time: by ID
		Update{Outbox: []OutboxItem{{ID: "done", Channel: "x", CreatedAt: t0, State: "sent"}}},
		Update{Outbox: []OutboxItem{{ID: "gone", Channel: "x", CreatedAt: t0, State: "dead"}}},
	)
	tests := []struct {
		now   time.Time
		limit int
		want  string
	}{
		{now, 0, "a b b0 c"},
		{now, 2, "a b"},
		{now.Add(time.Nanosecond), -1, "later a b b0 c"},
		{t0.Add(2 * time.Minute), 0, "a b0"},
		{t0, 0, ""},
	}
	for _, tt := range tests {
		got, err := s.DueOutbox(ctx, tt.now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if ids := outboxIDs(got); ids != tt.want {
			t.Errorf("DueOutbox(%v, %d) = %q, want %q", tt.now, tt.limit, ids, tt.want)
		}
	}
	if n, err := s.PendingCount(ctx); n != 5 || err != nil {
		t.Errorf("PendingCount = %d, %v; want 5", n, err)
	}
}

func outboxIDs(items []OutboxItem) string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return strings.Join(ids, " ")
}

// itemState reads an item's columns that DueOutbox does not show for
// every state.
type itemState struct {
	State     string
	Attempts  int
	LastError string
	Next      time.Time
	SentAt    time.Time
}

func readItem(t *testing.T, s *Store, id string) itemState {
	t.Helper()
	var (
		st         itemState
		next, sent = int64(0), (*int64)(nil)
	)
	err := s.db.QueryRowContext(ctx, "SELECT state, attempts, last_error, next_attempt, sent_at FROM outbox WHERE id = ?", id).
		Scan(&st.State, &st.Attempts, &st.LastError, &next, &sent)
	if err != nil {
		t.Fatal(err)
	}
	st.Next = time.Unix(0, next).UTC()
	if sent != nil {
		st.SentAt = time.Unix(0, *sent).UTC()
	}
	return st
}

func TestOutboxTransitions(t *testing.T) {
	next := t0.Add(5 * time.Minute).UTC()
	sentAt := t0.Add(time.Minute).UTC()
	type op struct {
		name string
		do   func(s *Store, id string) error
	}
	sending := op{"sending", func(s *Store, id string) error { return s.MarkSending(ctx, id) }}
	sent := op{"sent", func(s *Store, id string) error { return s.MarkSent(ctx, id, sentAt) }}
	retry := op{"retry", func(s *Store, id string) error { return s.MarkRetry(ctx, id, next, "503 busy") }}
	dead := op{"dead", func(s *Store, id string) error { return s.MarkDead(ctx, id, "410 gone") }}

	// from: the item's state before op; "sending" is one this Store
	// claimed, "leftover" one a crashed run left sending.
	tests := []struct {
		from    string
		op      op
		wantErr string
		want    itemState
	}{
		{"pending", sending, "", itemState{State: "sending", Attempts: 2, LastError: "old", Next: t0.UTC()}},
		{"pending", sent, `state: outbox item "it" is pending, cannot be marked sent`, itemState{State: "pending", Attempts: 1, LastError: "old", Next: t0.UTC()}},
		{"pending", retry, "", itemState{State: "pending", Attempts: 1, LastError: "503 busy", Next: next}},
		{"pending", dead, "", itemState{State: "dead", Attempts: 1, LastError: "410 gone", Next: t0.UTC()}},
		{"sending", sending, `state: outbox item "it" is already being sent, cannot be marked sending`, itemState{State: "sending", Attempts: 2, LastError: "old", Next: t0.UTC()}},
		{"sending", sent, "", itemState{State: "sent", Attempts: 2, LastError: "old", Next: t0.UTC(), SentAt: sentAt}},
		{"sending", retry, "", itemState{State: "pending", Attempts: 2, LastError: "503 busy", Next: next}},
		{"sending", dead, "", itemState{State: "dead", Attempts: 2, LastError: "410 gone", Next: t0.UTC()}},
		{"leftover", sending, "", itemState{State: "sending", Attempts: 2, LastError: "old", Next: t0.UTC()}},
		{"leftover", sent, "", itemState{State: "sent", Attempts: 1, LastError: "old", Next: t0.UTC(), SentAt: sentAt}},
		{"sent", sending, `state: outbox item "it" is sent, cannot be marked sending`, itemState{State: "sent", Attempts: 2, LastError: "old", Next: t0.UTC(), SentAt: t0.UTC()}},
		{"sent", retry, `state: outbox item "it" is sent, cannot be marked retried`, itemState{State: "sent", Attempts: 2, LastError: "old", Next: t0.UTC(), SentAt: t0.UTC()}},
		{"sent", dead, `state: outbox item "it" is sent, cannot be marked dead`, itemState{State: "sent", Attempts: 2, LastError: "old", Next: t0.UTC(), SentAt: t0.UTC()}},
		{"dead", sending, `state: outbox item "it" is dead, cannot be marked sending`, itemState{State: "dead", Attempts: 1, LastError: "x", Next: t0.UTC()}},
		{"dead", sent, `state: outbox item "it" is dead, cannot be marked sent`, itemState{State: "dead", Attempts: 1, LastError: "x", Next: t0.UTC()}},
		{"dead", retry, `state: outbox item "it" is dead, cannot be marked retried`, itemState{State: "dead", Attempts: 1, LastError: "x", Next: t0.UTC()}},
	}
	for _, tt := range tests {
		t.Run(tt.from+" to "+tt.op.name, func(t *testing.T) {
			s, _ := openTest(t)
			it := OutboxItem{ID: "it", Channel: "mail", CreatedAt: t0, Attempts: 1, LastError: "old"}
			if tt.from == "leftover" {
				it.State = "sending"
			}
			apply(t, s, Update{Outbox: []OutboxItem{it}})
			switch tt.from {
			case "sending":
				must(t, s.MarkSending(ctx, "it"))
			case "sent":
				must(t, s.MarkSending(ctx, "it"))
				must(t, s.MarkSent(ctx, "it", t0))
			case "dead":
				must(t, s.MarkDead(ctx, "it", "x"))
			}
			if err := tt.op.do(s, "it"); errString(err) != tt.wantErr {
				t.Errorf("error = %q, want %q", errString(err), tt.wantErr)
			}
			if got := readItem(t, s, "it"); got != tt.want {
				t.Errorf("item = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		s, _ := openTest(t)
		for _, o := range []op{sending, sent, retry, dead} {
			want := `state: outbox item "nope" not found`
			if err := o.do(s, "nope"); errString(err) != want {
				t.Errorf("%s: error = %q, want %q", o.name, errString(err), want)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutboxCrashLeftover follows one notification through a crash during
// delivery: the next run finds it "sending", sends it again under the same
// ID, then retries and delivers.
func TestOutboxCrashLeftover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.db")
	s1, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	items := []OutboxItem{{Channel: "mail", Monitor: "web", Kind: "outage", Payload: json.RawMessage(`{"n":1}`), CreatedAt: t0}}
	apply(t, s1, Update{Outbox: items})
	id := items[0].ID
	now := t0.Add(time.Second)
	due, _ := s1.DueOutbox(ctx, now, 0)
	if outboxIDs(due) != id {
		t.Fatalf("due before sending: %q, want %q", outboxIDs(due), id)
	}
	must(t, s1.MarkSending(ctx, id))
	// While this run delivers it, it is not handed out again.
	if due, _ := s1.DueOutbox(ctx, now, 0); len(due) != 0 {
		t.Fatalf("item being sent is due again: %q", outboxIDs(due))
	}
	if n, _ := s1.PendingCount(ctx); n != 1 {
		t.Errorf("PendingCount while sending = %d, want 1", n)
	}
	s1.Close() // the crash: the item stays "sending"

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	due, err = s2.DueOutbox(ctx, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []OutboxItem{{ID: id, Channel: "mail", Monitor: "web", Kind: "outage", Payload: json.RawMessage(`{"n":1}`),
		CreatedAt: t0.UTC(), NextAttempt: t0.UTC(), Attempts: 1, State: "sending"}}
	if !reflect.DeepEqual(due, want) {
		t.Fatalf("after crash DueOutbox:\n got %#v\nwant %#v", due, want)
	}
	must(t, s2.MarkSending(ctx, id))
	must(t, s2.MarkRetry(ctx, id, now.Add(time.Minute), "connection reset"))
	if due, _ := s2.DueOutbox(ctx, now.Add(time.Minute-1), 0); len(due) != 0 {
		t.Errorf("retried item due before its time: %q", outboxIDs(due))
	}
	due, _ = s2.DueOutbox(ctx, now.Add(time.Minute), 0)
	if len(due) != 1 || due[0].Attempts != 2 || due[0].LastError != "connection reset" || due[0].State != "pending" {
		t.Fatalf("after retry: %#v", due)
	}
	must(t, s2.MarkSending(ctx, id))
	must(t, s2.MarkSent(ctx, id, now.Add(time.Minute)))
	if due, _ := s2.DueOutbox(ctx, now.Add(time.Hour), 0); len(due) != 0 {
		t.Errorf("sent item still due: %q", outboxIDs(due))
	}
	if n, _ := s2.PendingCount(ctx); n != 0 {
		t.Errorf("PendingCount = %d, want 0", n)
	}
	if got := readItem(t, s2, id); got.Attempts != 3 || got.State != "sent" {
		t.Errorf("item = %+v, want 3 attempts, sent", got)
	}
}

// validID reports whether id looks like a ULID.
func validID(id string) bool {
	if len(id) != 26 || id[0] > '7' {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return true
}

// idTime decodes a ULID's millisecond timestamp (its first 10 characters).
func idTime(id string) int64 {
	var ms int64
	for _, c := range id[:10] {
		ms = ms<<5 | int64(strings.IndexRune(crockford, c))
	}
	return ms
}

func TestNewID(t *testing.T) {
	// Forget the IDs other tests made today, so that a 2016 time is used.
	idGen.Lock()
	idGen.ms = 0
	idGen.Unlock()
	// The ULID spec's example timestamps.
	if id := newID(time.UnixMilli(1469918176385)); !validID(id) || id[:10] != "01ARYZ6S41" {
		t.Fatalf("newID = %q, want prefix 01ARYZ6S41", id)
	}
	ts := time.UnixMilli(1469922850259)
	id := newID(ts)
	if !validID(id) || id[:10] != "01ARZ3NDEK" {
		t.Fatalf("newID = %q, want prefix 01ARZ3NDEK", id)
	}
	// Strictly increasing within one millisecond and when the clock steps back.
	prev := id
	for i := range 10000 {
		at := ts
		if i%1000 == 999 {
			at = ts.Add(-time.Second)
		}
		id := newID(at)
		if !validID(id) || id <= prev {
			t.Fatalf("ID %d: %q after %q", i, id, prev)
		}
		if idTime(id) != ts.UnixMilli() {
			t.Fatalf("ID %d: time %d, want %d", i, idTime(id), ts.UnixMilli())
		}
		prev = id
	}
	// A later millisecond starts afresh and sorts after.
	later := newID(ts.Add(time.Millisecond))
	if later <= prev || idTime(later) != ts.UnixMilli()+1 {
		t.Errorf("later ID %q (time %d) after %q", later, idTime(later), prev)
	}
}
