package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Update is what one finished check changes: the monitor's new state, its
// history row, and the notifications it queued. Any part may be nil/empty.
type Update struct {
	Monitor *MonitorState
	History *HistoryRow
	Outbox  []OutboxItem
}

// Apply writes updates in ONE transaction: when it returns nil all of them
// are durable, otherwise none is. Outbox items get their defaults filled in
// place (ID, CreatedAt, NextAttempt, State), so the caller sees the IDs.
func (s *Store) Apply(ctx context.Context, updates []Update) error {
	now := time.Now()
	type prepared struct{ monitor, history []any }
	prep := make([]prepared, len(updates))
	outbox := make([][]any, 0, len(updates))
	for i := range updates {
		u := &updates[i]
		var err error
		if u.Monitor != nil {
			if prep[i].monitor, err = monitorArgs(u.Monitor); err != nil {
				return fmt.Errorf("state: apply: update %d: %w", i, err)
			}
		}
		if u.History != nil {
			if prep[i].history, err = historyArgs(u.History); err != nil {
				return fmt.Errorf("state: apply: update %d: %w", i, err)
			}
		}
		for j := range u.Outbox {
			a, err := outboxArgs(&u.Outbox[j], now)
			if err != nil {
				return fmt.Errorf("state: apply: update %d: %w", i, err)
			}
			outbox = append(outbox, a)
		}
	}

	err := s.write(ctx, func(tx *sql.Tx) error {
		var monStmt, histStmt, outStmt *sql.Stmt
		stmt := func(p **sql.Stmt, query string) (*sql.Stmt, error) {
			if *p == nil {
				st, err := tx.PrepareContext(ctx, query)
				if err != nil {
					return nil, err
				}
				*p = st
			}
			return *p, nil
		}
		defer func() {
			for _, st := range []*sql.Stmt{monStmt, histStmt, outStmt} {
				if st != nil {
					st.Close()
				}
			}
		}()
		k := 0
		for i := range updates {
			if a := prep[i].monitor; a != nil {
				st, err := stmt(&monStmt, upsertMonitorSQL)
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, a...); err != nil {
					return fmt.Errorf("update %d: monitor %q: %w", i, updates[i].Monitor.Name, err)
				}
			}
			if a := prep[i].history; a != nil {
				st, err := stmt(&histStmt, insertHistorySQL)
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, a...); err != nil {
					return fmt.Errorf("update %d: history of %q: %w", i, updates[i].History.Monitor, err)
				}
			}
			for j := range updates[i].Outbox {
				st, err := stmt(&outStmt, insertOutboxSQL)
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, outbox[k]...); err != nil {
					return fmt.Errorf("update %d: outbox item %q: %w", i, updates[i].Outbox[j].ID, err)
				}
				k++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: apply: %w", err)
	}
	return nil
}
