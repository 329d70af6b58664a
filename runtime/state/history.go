package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// HistoryRow is one check result as kept for the dashboard, reports and
// the API.
type HistoryRow struct {
	Monitor   string
	At        time.Time
	Status    check.Status
	Class     check.Class
	LatencyMS float64
	Message   string
	Attempts  int
	Metrics   []check.Metric
	Fields    json.RawMessage
}

const historyColumns = "monitor, at, status, class, latency_ms, message, attempts, metrics, fields"

const insertHistorySQL = "INSERT INTO history(" + historyColumns + ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"

// historyArgs validates h and returns the insert's arguments. Metrics are
// kept as a JSON array (nil as NULL, so nil and empty stay apart).
func historyArgs(h *HistoryRow) ([]any, error) {
	if h.Monitor == "" {
		return nil, fmt.Errorf("history row has no monitor")
	}
	at, err := encTimeRequired("history time", h.At)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", h.Monitor, err)
	}
	lat, err := encFloat("latency_ms", h.LatencyMS)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", h.Monitor, err)
	}
	var metrics any
	if h.Metrics != nil {
		b, err := json.Marshal(h.Metrics)
		if err != nil {
			return nil, fmt.Errorf("history of %q: metrics: %w", h.Monitor, err)
		}
		metrics = string(b)
	}
	return []any{h.Monitor, at, string(h.Status), string(h.Class), lat, h.Message, h.Attempts,
		metrics, encJSON(h.Fields)}, nil
}

// History returns monitor's results at or after since (all of them when
// since is zero), newest first, at most limit of them (all when limit ≤ 0).
// An empty monitor name means every monitor.
func (s *Store) History(ctx context.Context, monitor string, since time.Time, limit int) ([]HistoryRow, error) {
	from := int64(minTimeNanos)
	if !since.IsZero() {
		v, err := encTime("since", since)
		if err != nil {
			return nil, fmt.Errorf("state: history of %q: %w", monitor, err)
		}
		from = v.(int64)
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	q := "SELECT " + historyColumns + " FROM history WHERE at >= ?"
	args := []any{from}
	if monitor != "" {
		q += " AND monitor = ?"
		args = append(args, monitor)
	}
	q += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: history of %q: %w", monitor, err)
	}
	defer rows.Close()
	var out []HistoryRow
	for rows.Next() {
		var (
			h              HistoryRow
			at             int64
			status, class  string
			metrics, field sql.NullString
		)
		if err := rows.Scan(&h.Monitor, &at, &status, &class, &h.LatencyMS, &h.Message, &h.Attempts, &metrics, &field); err != nil {
			return nil, fmt.Errorf("state: history of %q: %w", monitor, err)
		}
		h.At = time.Unix(0, at).UTC()
		h.Status = check.Status(status)
		h.Class = check.Class(class)
		if metrics.Valid {
			h.Metrics = []check.Metric{}
			if err := json.Unmarshal([]byte(metrics.String), &h.Metrics); err != nil {
				return nil, fmt.Errorf("state: history of %q: metrics: %w", h.Monitor, err)
			}
		}
		h.Fields = decJSON(field)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: history of %q: %w", monitor, err)
	}
	return out, nil
}

// minTimeNanos is the smallest storable time, used as "since the start".
const minTimeNanos = -1 << 63

// PruneHistory deletes history rows older than olderThan, and outbox items
// already sent or dead that were created before it (delivered notifications
// are history too, and would otherwise grow without bound). It returns how
// many rows it deleted in all.
func (s *Store) PruneHistory(ctx context.Context, olderThan time.Time) (int64, error) {
	cut, err := encTimeRequired("cut-off time", olderThan)
	if err != nil {
		return 0, fmt.Errorf("state: prune history: %w", err)
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM history WHERE at < ?", cut)
		if err != nil {
			return err
		}
		h, err := res.RowsAffected()
		if err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, "DELETE FROM outbox WHERE state IN ('sent', 'dead') AND created_at < ?", cut)
		if err != nil {
			return err
		}
		o, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = h + o
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: prune history: %w", err)
	}
	return n, nil
}
