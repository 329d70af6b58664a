// Package state is the embedded, crash-safe state store of one site: the
// per-monitor check state, the result history, the notification outbox and a
// few metadata keys, in one SQLite database per site.
//
// SQLite (through the pure-Go driver modernc.org/sqlite, so no C toolchain is
// needed) is embedded, transactional and, in WAL mode with synchronous=FULL,
// survives a kill -9 or a power cut at any moment: a transaction that
// committed is on disk, one that did not leaves nothing behind. That is what
// lets the daemon write a check's new state, its history row and the
// notifications it caused in one transaction (Apply), so that a crash can
// never lose a notification that the state says was queued, nor queue one
// twice.
//
// Because every fsync'd transaction costs milliseconds and the daemon may
// finish ~1,000 checks a second, a Writer groups many updates into one
// transaction (group commit) and tells each submitter when its update is
// durable.
//
// Times are stored as Unix nanoseconds (zero time as NULL) and read back in
// UTC; JSON values are stored verbatim, with nil kept apart from empty.
package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeout is how long a statement waits for another process's write
// lock (say, a CLI command reading while the daemon writes) before failing.
const busyTimeout = 10 * time.Second

// Store is one site's state database. Its methods are safe for concurrent
// use; write transactions are serialized inside the process so that they
// queue on a mutex rather than on SQLite's sleeping busy handler.
type Store struct {
	path    string
	db      *sql.DB
	session string // identifies this Open for outbox claims

	wmu sync.Mutex // serializes write transactions

	lmu   sync.Mutex
	locks map[*os.File]struct{}
}

// DefaultPath is where the state of the site configured in configFile lives
// when the user does not say: $XDG_STATE_HOME/zappy/<stem>.db, or
// ~/.local/state/zappy/<stem>.db, where stem is the config file's name
// without its extension ("site.yaml" → "site"). XDG_STATE_HOME is ignored
// unless absolute, as the XDG spec says. With no usable home directory the
// database goes next to the config file.
func DefaultPath(configFile string) string {
	base := filepath.Base(configFile)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if configFile == "" || stem == "" || stem == "." || stem == string(filepath.Separator) {
		stem = "zappy"
	}
	name := stem + ".db"
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "zappy", name)
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "zappy", name)
	}
	return filepath.Join(filepath.Dir(configFile), name)
}

// Open opens the state database at path, creating its directory (0750) and
// the file (0640) when missing, and brings its schema up to date. Every
// connection runs in WAL mode with synchronous=FULL (a commit is fsync'd
// before it returns), a busy timeout and foreign keys on.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("state %s: creating directory: %w", abs, err)
	}
	// Create the file ourselves so that it gets our mode rather than
	// SQLite's 0644; an empty file is a valid empty database.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", abs, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("state %s: %w", abs, err)
	}

	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", abs, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)

	var sess [8]byte
	_, _ = rand.Read(sess[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	s := &Store{path: abs, db: db, session: hex.EncodeToString(sess[:]), locks: map[*os.File]struct{}{}}

	ctx := context.Background()
	if err := s.checkPragmas(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds the driver's URI for path. The path is percent-escaped because
// SQLite decodes %HH in URIs and the driver cuts the query at the first '?'.
func dsn(path string) string {
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("?_pragma=busy_timeout(")
	fmt.Fprintf(&b, "%d", busyTimeout.Milliseconds())
	b.WriteString(")&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate")
	return b.String()
}

// checkPragmas verifies that the connection settings took: SQLite silently
// keeps the old journal mode where WAL is impossible (e.g. some network file
// systems), and the store's crash safety rests on it.
func (s *Store) checkPragmas(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("reading journal_mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var sync int
	if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("reading synchronous: %w", err)
	}
	if sync != 2 {
		return fmt.Errorf("synchronous is %d, want 2 (FULL)", sync)
	}
	return nil
}

// Close releases any lock taken with Lock and closes the database. Writers
// made with NewWriter must be closed first.
func (s *Store) Close() error {
	s.lmu.Lock()
	for f := range s.locks {
		releaseLock(f)
		delete(s.locks, f)
	}
	s.lmu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state %s: closing: %w", s.path, err)
	}
	return nil
}

// write runs fn in one write transaction (BEGIN IMMEDIATE), committing when
// fn returns nil and rolling back otherwise.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// exec runs one autocommit write statement and returns the rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Meta returns the value stored under key, and whether there is one.
func (s *Store) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state: meta %q: %w", key, err)
	}
	return v, true, nil
}

// SetMeta stores value under key, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("state: set meta %q: %w", key, err)
	}
	return nil
}
