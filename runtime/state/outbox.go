package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// OutboxItem is one notification waiting to be delivered, or delivered.
// Delivery is at least once: an item is marked sent only after its channel
// accepted it, so a crash in between sends it again, under the same ID, and
// receivers dedupe by ID.
type OutboxItem struct {
	// ID is unique and time-ordered (a ULID: 48-bit milliseconds and 80
	// random bits, Crockford base32). Apply fills in an empty one.
	ID      string
	Channel string // notifier name
	Monitor string
	Kind    string          // outage, reminder, recovery, report, test
	Payload json.RawMessage // the serialized notify.Event (opaque to the store)
	// CreatedAt defaults to the time of Apply; NextAttempt to CreatedAt.
	CreatedAt, NextAttempt time.Time
	// Attempts counts delivery attempts started (MarkSending), including
	// any a crash interrupted.
	Attempts  int
	LastError string
	// State is pending, sending, sent or dead; Apply turns "" into pending.
	State string
}

// Outbox item states.
const (
	statePending = "pending"
	stateSending = "sending"
	stateSent    = "sent"
	stateDead    = "dead"
)

const outboxColumns = "id, channel, monitor, kind, payload, created_at, next_attempt, attempts, last_error, state"

const insertOutboxSQL = "INSERT INTO outbox(" + outboxColumns + ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// outboxArgs fills in o's defaults (in place, so the caller learns the ID)
// and returns the insert's arguments.
func outboxArgs(o *OutboxItem, now time.Time) ([]any, error) {
	if o.ID == "" {
		o.ID = newID(now)
	}
	if o.Channel == "" {
		return nil, fmt.Errorf("outbox item %q has no channel", o.ID)
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.NextAttempt.IsZero() {
		o.NextAttempt = o.CreatedAt
	}
	if o.State == "" {
		o.State = statePending
	}
	switch o.State {
	case statePending, stateSending, stateSent, stateDead:
	default:
		return nil, fmt.Errorf("outbox item %q: unknown state %q", o.ID, o.State)
	}
	created, err := encTimeRequired("created_at", o.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("outbox item %q: %w", o.ID, err)
	}
	next, err := encTimeRequired("next_attempt", o.NextAttempt)
	if err != nil {
		return nil, fmt.Errorf("outbox item %q: %w", o.ID, err)
	}
	return []any{o.ID, o.Channel, o.Monitor, o.Kind, encJSON(o.Payload), created, next,
		o.Attempts, o.LastError, o.State}, nil
}

// DueOutbox returns up to limit items (all when limit ≤ 0) due at now,
// oldest first: those pending with NextAttempt ≤ now, and those left
// "sending" by an earlier run of the process that crashed mid-delivery.
// Items this Store marked sending are not returned again.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	at, err := encTimeRequired("now", now)
	if err != nil {
		return nil, fmt.Errorf("state: due outbox: %w", err)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+outboxColumns+` FROM outbox
		WHERE (state = 'pending' OR (state = 'sending' AND claimed_by <> ?)) AND next_attempt <= ?
		ORDER BY created_at, id LIMIT ?`, s.session, at, limit)
	if err != nil {
		return nil, fmt.Errorf("state: due outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		var (
			o             OutboxItem
			payload       sql.NullString
			created, next int64
		)
		if err := rows.Scan(&o.ID, &o.Channel, &o.Monitor, &o.Kind, &payload, &created, &next,
			&o.Attempts, &o.LastError, &o.State); err != nil {
			return nil, fmt.Errorf("state: due outbox: %w", err)
		}
		o.Payload = decJSON(payload)
		o.CreatedAt = time.Unix(0, created).UTC()
		o.NextAttempt = time.Unix(0, next).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: due outbox: %w", err)
	}
	return out, nil
}

// MarkSending claims a pending item (or one a crashed run left sending) for
// delivery and counts the attempt. Claiming an item this Store already
// claimed fails, so two dispatchers cannot both send it.
func (s *Store) MarkSending(ctx context.Context, id string) error {
	return s.transition(ctx, id, "sending",
		`UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_by = ?
		WHERE id = ? AND (state = 'pending' OR (state = 'sending' AND claimed_by <> ?))`,
		s.session, id, s.session)
}

// MarkSent records that the item's channel accepted it at time at.
func (s *Store) MarkSent(ctx context.Context, id string, at time.Time) error {
	sent, err := encTimeRequired("sent time", at)
	if err != nil {
		return fmt.Errorf("state: outbox item %q: %w", id, err)
	}
	return s.transition(ctx, id, "sent",
		`UPDATE outbox SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'sending'`,
		sent, id)
}

// MarkRetry puts the item back to pending, due at next, recording why the
// attempt failed.
func (s *Store) MarkRetry(ctx context.Context, id string, next time.Time, errMsg string) error {
	n, err := encTimeRequired("next attempt", next)
	if err != nil {
		return fmt.Errorf("state: outbox item %q: %w", id, err)
	}
	return s.transition(ctx, id, "retried",
		`UPDATE outbox SET state = 'pending', next_attempt = ?, last_error = ?, claimed_by = ''
		WHERE id = ? AND state IN ('pending', 'sending')`,
		n, errMsg, id)
}

// MarkDead gives up on the item, recording why.
func (s *Store) MarkDead(ctx context.Context, id string, errMsg string) error {
	return s.transition(ctx, id, "dead",
		`UPDATE outbox SET state = 'dead', last_error = ?, claimed_by = ''
		WHERE id = ? AND state IN ('pending', 'sending')`,
		errMsg, id)
}

// transition runs one guarded state change and, when its guard refuses,
// says why: no such item, or the state it is in.
func (s *Store) transition(ctx context.Context, id, to, query string, args ...any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("state: outbox item %q: marking %s: %w", id, to, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("state: outbox item %q: marking %s: %w", id, to, err)
	}
	if n == 1 {
		return nil
	}
	var state, claimedBy string
	err = s.db.QueryRowContext(ctx, "SELECT state, claimed_by FROM outbox WHERE id = ?", id).Scan(&state, &claimedBy)
	if err == sql.ErrNoRows {
		return fmt.Errorf("state: outbox item %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("state: outbox item %q: %w", id, err)
	}
	if state == stateSending && claimedBy == s.session {
		return fmt.Errorf("state: outbox item %q is already being sent, cannot be marked %s", id, to)
	}
	return fmt.Errorf("state: outbox item %q is %s, cannot be marked %s", id, state, to)
}

// PendingCount is how many items still await delivery (pending or sending).
func (s *Store) PendingCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')").Scan(&n); err != nil {
		return 0, fmt.Errorf("state: pending count: %w", err)
	}
	return n, nil
}

// crockford is the ULID alphabet: no I, L, O or U, so IDs read back
// unambiguously.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var idGen struct {
	sync.Mutex
	ms   uint64
	rand [10]byte
}

// newID returns a ULID for time now. Within one process the IDs strictly
// increase, even within a millisecond or when the clock steps back: the
// random part is then incremented instead of drawn afresh.
func newID(now time.Time) string {
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	idGen.Lock()
	if ms > idGen.ms {
		idGen.ms = ms
		_, _ = rand.Read(idGen.rand[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	} else {
		carry := true
		for i := len(idGen.rand) - 1; i >= 0 && carry; i-- {
			idGen.rand[i]++
			carry = idGen.rand[i] == 0
		}
		if carry { // 2^80 IDs in one millisecond: borrow the next one
			idGen.ms++
		}
	}
	var b [16]byte
	for i := 0; i < 6; i++ {
		b[i] = byte(idGen.ms >> (8 * (5 - i)))
	}
	copy(b[6:], idGen.rand[:])
	idGen.Unlock()

	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	var out [26]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
