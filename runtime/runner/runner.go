// Package runner turns monitors into check runs: it finds the module that
// implements a monitor's type (a built-in or a custom .wasm), runs the check
// with APMonitor's attempt semantics (up to max_retries attempts, each bounded
// by max_try_secs) and applies the monitor's assertions.
package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/builtin"
	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

// Runner resolves monitor types to modules and runs checks. It is safe for
// concurrent use.
type Runner struct {
	e       *engine.Engine
	log     *slog.Logger
	builtin *engine.Module

	mu      sync.Mutex
	modules map[string]*engine.Module // custom modules by sha256 of their bytes
}

// New loads the built-in module into e.
func New(ctx context.Context, e *engine.Engine, log *slog.Logger) (*Runner, error) {
	if log == nil {
		log = slog.Default()
	}
	b, err := builtin.Load(ctx, e)
	if err != nil {
		return nil, err
	}
	return &Runner{e: e, log: log, builtin: b, modules: map[string]*engine.Module{}}, nil
}

// Check is a monitor ready to run.
type Check struct {
	Monitor *config.Monitor
	module  *engine.Module
	req     check.Request
	// RetryDelay is the pause between failed attempts; default 500ms.
	RetryDelay time.Duration
}

// Prepare resolves m's type: the built-ins, or the check types of the module
// named by m.Module. Errors name the monitor's file and line.
func (r *Runner) Prepare(ctx context.Context, m *config.Monitor) (*Check, error) {
	mod := r.builtin
	if m.Module != "" {
		var err error
		mod, err = r.loadModule(ctx, m.Module)
		if err != nil {
			return nil, &config.Error{File: m.File, Line: lineOf(m, "module"), Monitor: m.Name, Field: "module", Msg: err.Error()}
		}
	}
	if _, ok := mod.Manifest().Type(m.Type); !ok {
		msg := fmt.Sprintf("unknown type %q; %s module %s provides: %s", m.Type, moduleKind(m), mod.Name(), strings.Join(mod.Manifest().TypeNames(), ", "))
		if m.Type == "snmp" && m.Module == "" {
			msg = "type 'snmp' is not valid. Did you mean type: ports?"
		}
		return nil, &config.Error{File: m.File, Line: lineOf(m, "type"), Monitor: m.Name, Field: "type", Msg: msg}
	}
	return &Check{
		Monitor: m,
		module:  mod,
		req: check.Request{
			Name:    m.Name,
			Type:    m.Type,
			Target:  m.Address,
			Timeout: m.MaxTry,
			Config:  m.ConfigJSON(),
			Allow:   m.Allow,
			// The module paces the events it reports with the monitor's
			// own (effective) notification pacing.
			NotifyEvery: m.NotifyEvery,
			AfterEveryN: m.AfterEveryN,
		},
		RetryDelay: 500 * time.Millisecond,
	}, nil
}

func moduleKind(m *config.Monitor) string {
	if m.Module != "" {
		return "the"
	}
	return "the built-in"
}

func lineOf(m *config.Monitor, field string) int {
	if l := m.Lines[field]; l > 0 {
		return l
	}
	return m.Line
}

// loadModule loads a custom module once per distinct content.
func (r *Runner) loadModule(ctx context.Context, path string) (*engine.Module, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	key := hex.EncodeToString(sum[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.modules[key]; ok {
		return m, nil
	}
	m, err := r.e.Load(ctx, path, wasm, engine.Policy{})
	if err != nil {
		return nil, err
	}
	r.modules[key] = m
	return m, nil
}

// Gate bounds how many attempts run at once (the site's max_threads).
type Gate interface {
	Acquire(ctx context.Context) error
	Release()
}

// Run runs the check: up to MaxRetries attempts while the result is down or
// error, then the assertions. state is what the previous run kept.
func (c *Check) Run(ctx context.Context, state json.RawMessage) check.Result {
	return c.RunGated(ctx, state, nil)
}

// RunGated is Run with each attempt holding gate (nil: no bound). The gate
// is released between attempts, so a monitor retrying a dead target never
// keeps a slot others could use while it waits.
func (c *Check) RunGated(ctx context.Context, state json.RawMessage, gate Gate) check.Result {
	attempts := max(c.Monitor.MaxRetries, 1)
	var res check.Result
	for i := 1; i <= attempts; i++ {
		req := c.req
		req.Attempt, req.State = i, state
		if gate != nil {
			if err := gate.Acquire(ctx); err != nil {
				res = check.Errorf(req, "not started: %v", err)
				res.Attempts = i - 1
				return res
			}
		}
		res = c.module.Run(ctx, req)
		if gate != nil {
			gate.Release()
		}
		res.Attempts = i
		c.Monitor.Assertions.Apply(&res)
		if res.Status.Good() || i == attempts || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(c.RetryDelay):
		case <-ctx.Done():
		}
	}
	return res
}
