package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/runner"
	"github.com/zappy-mon/zappy/runtime/scheduler"
	"github.com/zappy-mon/zappy/runtime/state"
)

// DaemonOptions configure a Daemon.
type DaemonOptions struct {
	Runner *runner.Runner
	// StatePath overrides the state database; only with one config file.
	StatePath string
	Threads   int
	Clock     scheduler.Clock
	Log       *slog.Logger
	// Watch is how often config files are checked for changes (0: 2 s;
	// negative: never).
	Watch time.Duration
	// RetryMax caps the backoff between notification delivery attempts.
	RetryMax time.Duration
}

// Daemon runs several sites (one per config file) in one process, reloads
// them when asked or when a file changes, and stops them gracefully.
type Daemon struct {
	paths []string
	opts  DaemonOptions
	log   *slog.Logger

	mu     sync.Mutex
	sites  []*Site
	mtimes map[string]time.Time
	reload chan struct{}
}

// NewDaemon loads every config file (all errors together) and opens every
// site's state; a state already locked by another zappy is an error.
func NewDaemon(ctx context.Context, paths []string, opts DaemonOptions) (*Daemon, error) {
	if opts.StatePath != "" && len(paths) > 1 {
		return nil, errors.New("--state is only valid with a single config file: each site keeps its own state")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Watch == 0 {
		opts.Watch = 2 * time.Second
	}
	cfgs, err := config.LoadAll(paths)
	if err != nil {
		return nil, err
	}
	if err := CheckStatePaths(cfgs, opts.StatePath); err != nil {
		return nil, err
	}
	d := &Daemon{paths: paths, opts: opts, log: opts.Log, mtimes: map[string]time.Time{}, reload: make(chan struct{}, 1)}
	var problems []error
	for _, cfg := range cfgs {
		s, err := Open(ctx, cfg, Options{Runner: opts.Runner, StatePath: opts.StatePath, Clock: opts.Clock, Log: opts.Log, Threads: opts.Threads, RetryMax: opts.RetryMax})
		if err != nil {
			problems = append(problems, err)
			continue
		}
		d.sites = append(d.sites, s)
	}
	if len(problems) > 0 {
		d.Close()
		return nil, errors.Join(problems...)
	}
	d.snapshotMtimes()
	return d, nil
}

// Sites returns the running sites.
func (d *Daemon) Sites() []*Site {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*Site(nil), d.sites...)
}

// Run starts every site and runs until ctx ends, reloading when Reload is
// called or a config file changes.
func (d *Daemon) Run(ctx context.Context) error {
	for _, s := range d.Sites() {
		if err := s.Start(ctx); err != nil {
			d.Close()
			return err
		}
	}
	var tick <-chan time.Time
	if d.opts.Watch > 0 {
		t := time.NewTicker(d.opts.Watch)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping")
			return d.Close()
		case <-d.reload:
			d.doReload(ctx)
		case <-tick:
			if d.changed() {
				d.log.Info("configuration file changed")
				d.doReload(ctx)
			}
		}
	}
}

// Reload asks the running daemon to reload its config files (SIGHUP).
func (d *Daemon) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// doReload re-reads every file, each on its own: a file with errors keeps
// its site running on its previous configuration (the errors are logged),
// and the other sites take their new one.
func (d *Daemon) doReload(ctx context.Context) {
	d.snapshotMtimes()
	sites := d.Sites()
	names := map[string]string{} // site name → file, to keep them unique
	for i, s := range sites {
		names[s.Name()] = d.paths[i]
	}
	for i, s := range sites {
		cfg, err := config.Load(d.paths[i])
		if err != nil {
			d.log.Error("reload refused: the file has errors; its site keeps its previous configuration", "site", s.Name(), "file", d.paths[i], "errors", err.Error())
			continue
		}
		if other, taken := names[cfg.Site.Name]; taken && other != d.paths[i] {
			d.log.Error("reload refused: the site's new name is taken", "site", s.Name(), "file", d.paths[i], "name", cfg.Site.Name, "by", other)
			continue
		}
		if err := s.Reload(ctx, cfg); err != nil {
			d.log.Error("reload failed; still running the previous configuration", "site", s.Name(), "err", err)
			continue
		}
		delete(names, s.Name())
		names[cfg.Site.Name] = d.paths[i]
	}
}

// watched are the files whose change triggers a reload: the config files
// and the .env files beside them.
func (d *Daemon) watched() []string {
	out := append([]string(nil), d.paths...)
	for _, p := range d.paths {
		out = append(out, filepath.Join(filepath.Dir(p), ".env"))
	}
	return out
}

func (d *Daemon) snapshotMtimes() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.watched() {
		d.mtimes[p] = mtime(p)
	}
}

func (d *Daemon) changed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.watched() {
		if !mtime(p).Equal(d.mtimes[p]) {
			return true
		}
	}
	return false
}

// mtime is a file's modification time; zero when it does not exist (so
// that creating or deleting a .env counts as a change).
func mtime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// Status renders every site's state table.
func (d *Daemon) Status() string {
	var b strings.Builder
	for _, s := range d.Sites() {
		s.mu.Lock()
		loc := s.cfg.Site.Timezone
		s.mu.Unlock()
		b.WriteString(FormatStatus(s.Name(), s.Status(), loc))
	}
	return b.String()
}

// Close stops every site.
func (d *Daemon) Close() error {
	var errs []error
	for _, s := range d.Sites() {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// CheckStatePaths makes sure no two sites would share a state database:
// the default path comes from the config file's name, so site.yaml files
// in two directories would.
func CheckStatePaths(cfgs []*config.Config, override string) error {
	if override != "" && len(cfgs) > 1 {
		return errors.New("--state is only valid with a single config file: each site keeps its own state")
	}
	seen := map[string]string{} // state path → config file
	for _, cfg := range cfgs {
		p := override
		if p == "" {
			p = state.DefaultPath(cfg.File)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if other, dup := seen[p]; dup {
			return fmt.Errorf("%s and %s would share the state database %s (it is named after the config file): rename one of the files, or run them in separate zappy processes with --state", other, cfg.File, p)
		}
		seen[p] = cfg.File
	}
	return nil
}
