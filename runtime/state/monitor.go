package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// MonitorState is what the daemon remembers about one monitor between
// checks and across restarts: APMonitor's per-resource statefile fields plus
// zappy's own.
type MonitorState struct {
	Name string

	// APMonitor's fields.
	IsUp                    bool
	LastChecked             time.Time
	LastResponseTimeMS      float64
	LastNotified            time.Time
	LastAlarmStarted        time.Time
	LastSuccessfulHeartbeat time.Time
	DownCount               int
	NotifiedCount           int
	ErrorReason             string
	LastConfigChecksum      string

	// zappy's fields.
	Status               check.Status // last status
	OutageID             string       // "" when not in an outage
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
	RecentStatuses       string // last N statuses as letters (u/d/D/e) for flapping detection
	Flapping             bool
	NextNotification     time.Time       // when the next reminder is due
	ModuleState          json.RawMessage // what the check module asked to keep (check.Result.State)
	// LastSeen is when the monitor was last present in the config. It only
	// moves forward: Apply keeps the stored value when this is zero or older,
	// so that writing a state read before a MarkSeen cannot undo it.
	LastSeen time.Time
}

const monitorColumns = `name, is_up, last_checked, last_response_time_ms, last_notified,
	last_alarm_started, last_successful_heartbeat, down_count, notified_count, error_reason,
	last_config_checksum, status, outage_id, consecutive_failures, consecutive_successes,
	recent_statuses, flapping, next_notification, module_state, last_seen`

const upsertMonitorSQL = `INSERT INTO monitors(has_state, ` + monitorColumns + `)
	VALUES(1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(name) DO UPDATE SET
		has_state = 1,
		is_up = excluded.is_up,
		last_checked = excluded.last_checked,
		last_response_time_ms = excluded.last_response_time_ms,
		last_notified = excluded.last_notified,
		last_alarm_started = excluded.last_alarm_started,
		last_successful_heartbeat = excluded.last_successful_heartbeat,
		down_count = excluded.down_count,
		notified_count = excluded.notified_count,
		error_reason = excluded.error_reason,
		last_config_checksum = excluded.last_config_checksum,
		status = excluded.status,
		outage_id = excluded.outage_id,
		consecutive_failures = excluded.consecutive_failures,
		consecutive_successes = excluded.consecutive_successes,
		recent_statuses = excluded.recent_statuses,
		flapping = excluded.flapping,
		next_notification = excluded.next_notification,
		module_state = excluded.module_state,
		last_seen = ` + laterSeen

// laterSeen keeps the later of the stored and the new last_seen, NULL
// counting as never.
const laterSeen = `CASE
		WHEN excluded.last_seen IS NULL THEN monitors.last_seen
		WHEN monitors.last_seen IS NULL THEN excluded.last_seen
		ELSE max(monitors.last_seen, excluded.last_seen) END`

// monitorArgs validates m and returns the upsert's arguments.
func monitorArgs(m *MonitorState) ([]any, error) {
	if m.Name == "" {
		return nil, fmt.Errorf("monitor state has no name")
	}
	args := []any{m.Name, m.IsUp}
	add := func(field string, t time.Time) error {
		v, err := encTime(field, t)
		args = append(args, v)
		return err
	}
	if err := add("last_checked", m.LastChecked); err != nil {
		return nil, err
	}
	rt, err := encFloat("last_response_time_ms", m.LastResponseTimeMS)
	if err != nil {
		return nil, err
	}
	args = append(args, rt)
	for _, f := range []struct {
		name string
		t    time.Time
	}{
		{"last_notified", m.LastNotified},
		{"last_alarm_started", m.LastAlarmStarted},
		{"last_successful_heartbeat", m.LastSuccessfulHeartbeat},
	} {
		if err := add(f.name, f.t); err != nil {
			return nil, err
		}
	}
	args = append(args, m.DownCount, m.NotifiedCount, m.ErrorReason, m.LastConfigChecksum,
		string(m.Status), m.OutageID, m.ConsecutiveFailures, m.ConsecutiveSuccesses,
		m.RecentStatuses, m.Flapping)
	if err := add("next_notification", m.NextNotification); err != nil {
		return nil, err
	}
	args = append(args, encJSON(m.ModuleState))
	if err := add("last_seen", m.LastSeen); err != nil {
		return nil, err
	}
	return args, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanMonitor(r rowScanner) (MonitorState, error) {
	var (
		m                                                     MonitorState
		status                                                string
		checked, notified, alarm, heartbeat, nextNotify, seen sql.NullInt64
		module                                                sql.NullString
	)
	err := r.Scan(&m.Name, &m.IsUp, &checked, &m.LastResponseTimeMS, &notified,
		&alarm, &heartbeat, &m.DownCount, &m.NotifiedCount, &m.ErrorReason,
		&m.LastConfigChecksum, &status, &m.OutageID, &m.ConsecutiveFailures, &m.ConsecutiveSuccesses,
		&m.RecentStatuses, &m.Flapping, &nextNotify, &module, &seen)
	if err != nil {
		return MonitorState{}, err
	}
	m.Status = check.Status(status)
	m.LastChecked = decTime(checked)
	m.LastNotified = decTime(notified)
	m.LastAlarmStarted = decTime(alarm)
	m.LastSuccessfulHeartbeat = decTime(heartbeat)
	m.NextNotification = decTime(nextNotify)
	m.ModuleState = decJSON(module)
	m.LastSeen = decTime(seen)
	return m, nil
}

// Monitor returns the stored state of the named monitor, and whether there
// is one. A monitor only marked seen, never given a state by Apply, has none.
func (s *Store) Monitor(ctx context.Context, name string) (MonitorState, bool, error) {
	row := s.db.QueryRowContext(ctx, "SELECT "+monitorColumns+" FROM monitors WHERE name = ? AND has_state = 1", name)
	m, err := scanMonitor(row)
	if err == sql.ErrNoRows {
		return MonitorState{}, false, nil
	}
	if err != nil {
		return MonitorState{}, false, fmt.Errorf("state: monitor %q: %w", name, err)
	}
	return m, true, nil
}

// Monitors returns the state of every monitor that has one, by name; the
// daemon loads it once at start.
func (s *Store) Monitors(ctx context.Context) (map[string]MonitorState, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+monitorColumns+" FROM monitors WHERE has_state = 1")
	if err != nil {
		return nil, fmt.Errorf("state: monitors: %w", err)
	}
	defer rows.Close()
	out := map[string]MonitorState{}
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, fmt.Errorf("state: monitors: %w", err)
		}
		out[m.Name] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: monitors: %w", err)
	}
	return out, nil
}

// MarkSeen records that the named monitors are in the config at time at,
// so that PruneMonitors keeps them. A name without a state gets a row that
// Monitor and Monitors do not report until Apply writes its state, so that a
// monitor which has not finished its first check is not pruned either.
func (s *Store) MarkSeen(ctx context.Context, names []string, at time.Time) error {
	seen, err := encTimeRequired("seen time", at)
	if err != nil {
		return fmt.Errorf("state: mark seen: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO monitors(name, last_seen) VALUES(?, ?)
			ON CONFLICT(name) DO UPDATE SET last_seen = `+laterSeen)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, n := range names {
			if n == "" {
				return fmt.Errorf("empty monitor name")
			}
			if _, err := stmt.ExecContext(ctx, n, seen); err != nil {
				return fmt.Errorf("monitor %q: %w", n, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: mark seen: %w", err)
	}
	return nil
}

// PruneMonitors deletes the state and the history of every monitor last
// seen before notSeenSince (monitors gone from the config), returning their
// names in order. Rows never marked seen are kept. Queued notifications of
// pruned monitors stay in the outbox and are still delivered.
func (s *Store) PruneMonitors(ctx context.Context, notSeenSince time.Time) ([]string, error) {
	cut, err := encTimeRequired("cut-off time", notSeenSince)
	if err != nil {
		return nil, fmt.Errorf("state: prune monitors: %w", err)
	}
	var names []string
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT name FROM monitors WHERE last_seen < ?", cut)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM history WHERE monitor IN
			(SELECT name FROM monitors WHERE last_seen < ?)`, cut); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM monitors WHERE last_seen < ?", cut)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("state: prune monitors: %w", err)
	}
	sort.Strings(names)
	return names, nil
}
