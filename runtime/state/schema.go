package state

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema steps; migrations[i] takes the database from
// PRAGMA user_version i to i+1. Steps are only ever appended: a released
// step never changes, so any older database can be brought forward.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE monitors (
	name                      TEXT PRIMARY KEY,
	has_state                 INTEGER NOT NULL DEFAULT 0, -- 0: only MarkSeen has touched this row
	is_up                     INTEGER NOT NULL DEFAULT 0,
	last_checked              INTEGER,
	last_response_time_ms     REAL NOT NULL DEFAULT 0,
	last_notified             INTEGER,
	last_alarm_started        INTEGER,
	last_successful_heartbeat INTEGER,
	down_count                INTEGER NOT NULL DEFAULT 0,
	notified_count            INTEGER NOT NULL DEFAULT 0,
	error_reason              TEXT NOT NULL DEFAULT '',
	last_config_checksum      TEXT NOT NULL DEFAULT '',
	status                    TEXT NOT NULL DEFAULT '',
	outage_id                 TEXT NOT NULL DEFAULT '',
	consecutive_failures      INTEGER NOT NULL DEFAULT 0,
	consecutive_successes     INTEGER NOT NULL DEFAULT 0,
	recent_statuses           TEXT NOT NULL DEFAULT '',
	flapping                  INTEGER NOT NULL DEFAULT 0,
	next_notification         INTEGER,
	module_state              TEXT,
	last_seen                 INTEGER
) STRICT;

CREATE TABLE history (
	id         INTEGER PRIMARY KEY,
	monitor    TEXT NOT NULL,
	at         INTEGER NOT NULL,
	status     TEXT NOT NULL,
	class      TEXT NOT NULL,
	latency_ms REAL NOT NULL,
	message    TEXT NOT NULL,
	attempts   INTEGER NOT NULL,
	metrics    TEXT,
	fields     TEXT
) STRICT;
CREATE INDEX history_monitor_at ON history(monitor, at);
CREATE INDEX history_at ON history(at);

CREATE TABLE outbox (
	id           TEXT PRIMARY KEY,
	channel      TEXT NOT NULL,
	monitor      TEXT NOT NULL,
	kind         TEXT NOT NULL,
	payload      TEXT,
	created_at   INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
	claimed_by   TEXT NOT NULL DEFAULT '', -- the Store session that marked it sending
	sent_at      INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt);

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
`,
}

// migrate brings the schema to len(migrations), one transaction per step,
// each setting user_version inside its transaction so that a crash leaves
// the database at a whole step.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return fmt.Errorf("reading schema version: %w", err)
			}
			if v > len(migrations) {
				return fmt.Errorf("schema version %d is newer than this zappy supports (%d)", v, len(migrations))
			}
			if v == len(migrations) {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
				return fmt.Errorf("setting schema version %d: %w", v+1, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}
