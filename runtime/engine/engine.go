// Package engine runs check modules: WebAssembly modules that speak
// sdk/ABI.md, in wazero, under a sandbox policy.
//
// A module is compiled once (with wazero's on-disk compilation cache) and
// instantiated as needed. Multiplexed modules (the Go SDK, the built-ins) get
// one instance per check type, driven by one goroutine at a time (whichever
// hands it a check start or an operation's completion while nobody else
// drives it: flat combining, see instance); blocking modules (small
// Rust/C guests) get a pool of instances, one per in-flight check. A trap, an
// exit or a blown deadline kills an instance: its in-flight checks fail with
// status error and a reason, and the instance is replaced (with backoff when a
// module keeps failing).
package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/runtime/check"
)

// Options configure an Engine.
type Options struct {
	// CacheDir holds wazero's compilation cache. "" means
	// $XDG_CACHE_HOME/zappy/wazero (os.UserCacheDir); "-" disables the cache.
	CacheDir string
	// Logger receives module output and engine events; nil means slog.Default().
	Logger *slog.Logger
}

// Engine compiles and runs modules. It is safe for concurrent use.
type Engine struct {
	cache    wazero.CompilationCache
	log      *slog.Logger
	nextID   atomic.Int64
	mu       sync.Mutex
	modules  []*Module
	closed   bool
	cacheDir string
	timeouts timeouts
}

// DefaultCacheDir is where the compilation cache lives unless configured.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "zappy", "wazero")
}

// New makes an Engine.
func New(opts Options) (*Engine, error) {
	e := &Engine{log: opts.Logger}
	if e.log == nil {
		e.log = slog.Default()
	}
	dir := opts.CacheDir
	if dir == "" {
		dir = DefaultCacheDir()
	}
	if dir != "-" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
		}
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
		}
		e.cache, e.cacheDir = c, dir
	}
	go e.watch()
	return e, nil
}

// CacheDir is the compilation cache directory in use ("" when disabled).
func (e *Engine) CacheDir() string { return e.cacheDir }

// Close stops every module and releases the cache.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	mods := e.modules
	e.modules, e.closed = nil, true
	e.mu.Unlock()
	var errs []error
	for _, m := range mods {
		errs = append(errs, m.Close(ctx))
	}
	if e.cache != nil {
		errs = append(errs, e.cache.Close(ctx))
	}
	return errors.Join(errs...)
}

// Module is a loaded check module.
type Module struct {
	e        *Engine
	name     string
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	manifest Manifest
	policy   Policy
	caps     map[string]bool
	log      *slog.Logger

	mu        sync.Mutex
	lanes     map[string]*lane // multiplexed: one instance lane per check type
	spare     *instance        // the instance made while reading the manifest
	pool      *pool            // blocking
	instances map[*instance]struct{}
	closed    bool
}

// Load compiles wasm and reads its manifest. name identifies the module in
// logs and messages (e.g. "builtin" or a file name).
func (e *Engine) Load(ctx context.Context, name string, wasm []byte, p Policy) (*Module, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errors.New("engine closed")
	}
	e.mu.Unlock()
	if p.MemoryLimitPages > maxMemoryPages {
		return nil, fmt.Errorf("module %s: a memory cap of %d pages is above the %d a module can have", name, p.MemoryLimitPages, maxMemoryPages)
	}
	// The memory cap's default depends on the module's mode, known once it
	// is compiled: with no cap of its own, a module found to be blocking
	// (smaller default) is compiled again for a runtime with its cap (a
	// read of the compilation cache, when there is one: the cache's key
	// is the module's content).
	m := &Module{e: e, name: name, lanes: map[string]*lane{}, instances: map[*instance]struct{}{}, log: e.log.With("module", name)}
	limit := p.withDefaults(modeMultiplexed).MemoryLimitPages
	if err := m.compile(ctx, wasm, p, limit); err != nil {
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	fail := func(err error) (*Module, error) {
		m.rt.Close(ctx)
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	if err := checkModule(m.compiled); err != nil {
		return fail(err)
	}
	mode := modeMultiplexed
	if _, ok := m.compiled.ExportedFunctions()["zappy_check"]; ok {
		mode = modeBlocking
	}
	m.policy = p.withDefaults(mode)
	if m.policy.MemoryLimitPages != limit {
		m.rt.Close(ctx)
		if err := m.compile(ctx, wasm, p, m.policy.MemoryLimitPages); err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
	}
	inst, err := m.newInstance(ctx, mode)
	if err != nil {
		return fail(err)
	}
	man, err := inst.readManifest(ctx)
	if err != nil {
		inst.close(ctx)
		return fail(err)
	}
	if man.Mode != mode {
		inst.close(ctx)
		return fail(fmt.Errorf("manifest says mode %q but the module's exports are those of %q mode", man.Mode, mode))
	}
	m.manifest = man
	m.caps = grantedCapabilities(man, p.Capabilities)
	if mode == modeBlocking {
		m.pool = &pool{m: m, sem: make(chan struct{}, m.policy.MaxInstances)}
		m.pool.put(inst)
	} else {
		m.spare = inst
	}
	e.mu.Lock()
	e.modules = append(e.modules, m)
	e.mu.Unlock()
	return m, nil
}

// maxMemoryPages is the largest memory cap a policy may set: 4 GiB less a
// page, whose size in bytes still fits a uint32.
const maxMemoryPages = 65535

// compile makes the module's wazero runtime, whose memory cap of limit
// pages applies to its one module (runtimes share the compilation cache, so
// one per module costs little), and compiles wasm for it.
func (m *Module) compile(ctx context.Context, wasm []byte, p Policy, limit uint32) error {
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(!p.Trusted).
		WithMemoryLimitPages(limit)
	if m.e.cache != nil {
		cfg = cfg.WithCompilationCache(m.e.cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return err
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		rt.Close(ctx)
		return err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return fmt.Errorf("compile: %w", err)
	}
	m.rt, m.compiled = rt, compiled
	return nil
}

func grantedCapabilities(man Manifest, granted []string) map[string]bool {
	asked := map[string]bool{}
	for _, c := range man.Capabilities {
		asked[c] = true
	}
	for _, t := range man.Types {
		for _, c := range t.Capabilities {
			asked[c] = true
		}
	}
	if granted == nil {
		return asked
	}
	out := map[string]bool{}
	for _, c := range granted {
		if asked[c] {
			out[c] = true
		}
	}
	return out
}

// checkModule refuses modules that import anything but the zappy host module
// and WASI (no other host can lend them capabilities), and modules without
// the exports the host needs first.
func checkModule(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case "zappy":
			if !hostFunctionNames[name] {
				return fmt.Errorf("imports zappy.%s, which ABI v%d does not have", name, ABIVersion)
			}
		case wasi_snapshot_preview1.ModuleName:
		default:
			return fmt.Errorf("imports %s.%s: only the zappy and %s modules are available", mod, name, wasi_snapshot_preview1.ModuleName)
		}
	}
	// A memory can come from no module the host provides (C's
	// -Wl,--import-memory asks env for one): name it rather than fail to
	// instantiate. (wazero does not list imported globals and tables; those
	// fail at instantiation.)
	if mems := c.ImportedMemories(); len(mems) > 0 {
		mod, name, _ := mems[0].Import()
		return fmt.Errorf("imports %s.%s (a memory): only the zappy and %s modules are available, and they provide no memory; the module must define and export its own", mod, name, wasi_snapshot_preview1.ModuleName)
	}
	if _, ok := c.ExportedFunctions()["zappy_abi_version"]; !ok {
		return fmt.Errorf("not a zappy check module: it does not export zappy_abi_version (sdk/ABI.md)")
	}
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return fmt.Errorf("does not export its linear memory as \"memory\", through which the host and the module exchange data (sdk/ABI.md)")
	}
	return nil
}

// Name is the module's name as loaded.
func (m *Module) Name() string { return m.name }

// Manifest is what the module declared.
func (m *Module) Manifest() Manifest { return m.manifest }

// Policy is the sandbox policy in force, defaults applied.
func (m *Module) Policy() Policy { return m.policy }

// closeWait bounds how long Close waits for instances to stop running.
const closeWait = 5 * time.Second

// Close stops the module's instances and waits until none runs any more. In-flight checks fail with status error.
// A trusted instance stuck in guest code cannot be interrupted: its
// memory is then left allocated (and an error returned) rather than freed
// under running code.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	lanes := m.lanes
	spare := m.spare
	m.lanes, m.spare = nil, nil
	m.mu.Unlock()
	for _, l := range lanes {
		l.close(ctx, "module closed")
	}
	if spare != nil {
		spare.close(ctx)
	}
	if m.pool != nil {
		m.pool.close(ctx)
	}
	m.mu.Lock()
	live := make([]*instance, 0, len(m.instances))
	for in := range m.instances {
		in.kill("module closed")
		live = append(live, in)
	}
	m.mu.Unlock()
	timeout := time.NewTimer(closeWait)
	defer timeout.Stop()
	for _, in := range live {
		select {
		case <-in.stopped:
		case <-timeout.C:
			m.log.Error("module instance still running guest code after close; leaving its memory allocated", "module", m.name)
			return fmt.Errorf("module %s: an instance did not stop within %s", m.name, closeWait)
		}
	}
	return m.rt.Close(ctx)
}

func (m *Module) forgetInstance(in *instance) {
	m.mu.Lock()
	delete(m.instances, in)
	m.mu.Unlock()
}

// Run runs one check and waits for its result. ctx cancels the wait and the
// check.
func (m *Module) Run(ctx context.Context, req check.Request) check.Result {
	ch := resultChans.Get().(chan check.Result)
	stop := m.Start(ctx, req, func(r check.Result) { ch <- r })
	var r check.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		stop()
		r = <-ch
	}
	// done runs exactly once, so ch is empty again and nobody else has it.
	resultChans.Put(ch)
	return r
}

// resultChans recycles Run's channels (a check.Result is ~300 bytes).
var resultChans = sync.Pool{New: func() any { return make(chan check.Result, 1) }}

// Start begins one check and calls done exactly once with its result. done
// may run on any goroutine, including the caller's own before Start returns
// (the goroutine that drives the module delivers results), so it must not
// block. The returned function cancels the check.
func (m *Module) Start(ctx context.Context, req check.Request, done func(check.Result)) (cancel func()) {
	r, err := m.newRun(ctx, req, done)
	if err != nil {
		done(check.Errorf(req, "%v", err))
		return func() {}
	}
	if m.manifest.Mode == modeBlocking {
		go m.pool.run(r)
	} else {
		l, err := m.lane(req.Type)
		if err != nil {
			r.finish(errorResult(r, err.Error()))
			return r.cancelFn
		}
		l.start(r)
	}
	return r.cancelFn
}

// newInstance instantiates the module once.
func (m *Module) newInstance(ctx context.Context, mode string) (*instance, error) {
	in := &instance{m: m, mode: mode, runs: map[int64]*run{}, tokens: map[int64]*pendingOp{}, stopped: make(chan struct{})}
	in.out = newOutput(m.log, m.policy.OutputBytesPerMinute)
	in.ctx = context.WithValue(context.Background(), instanceKey{}, in)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStdout(in.out.writer("stdout")).
		WithStderr(in.out.writer("stderr")).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader).
		WithStartFunctions() // _initialize is called below, under the instance's context
	callCtx, cancel := in.callCtx(ctx, 30*time.Second)
	defer cancel()
	mod, err := m.rt.InstantiateModule(experimental.WithMemoryAllocator(callCtx, memoryAllocator), m.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", describeTrap(err, in))
	}
	in.mod = mod
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(callCtx); err != nil {
			mod.Close(ctx)
			return nil, fmt.Errorf("_initialize: %w", describeTrap(err, in))
		}
	}
	if err := in.bindExports(mode); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	m.mu.Lock()
	m.instances[in] = struct{}{}
	m.mu.Unlock()
	return in, nil
}

// lane returns the lane serving check type typ, creating it on first use.
func (m *Module) lane(typ string) (*lane, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("module %s is closed", m.name)
	}
	if _, ok := m.manifest.Type(typ); !ok {
		return nil, fmt.Errorf("module %s has no check type %q (it has %v)", m.name, typ, m.manifest.TypeNames())
	}
	l := m.lanes[typ]
	if l == nil {
		l = &lane{m: m, typ: typ}
		if m.spare != nil {
			l.inst = m.spare
			m.spare = nil
		}
		m.lanes[typ] = l
	}
	return l, nil
}

// errorResult is a status-error result for r.
func errorResult(r *run, msg string) check.Result {
	res := check.Errorf(r.req, "%s", msg)
	res.Started = r.started
	res.LatencyMS = float64(time.Since(r.started).Microseconds()) / 1000
	return res
}

// instanceKey finds the instance behind a host function call.
type instanceKey struct{}

func instanceFrom(ctx context.Context) *instance {
	in, _ := ctx.Value(instanceKey{}).(*instance)
	return in
}

// describeTrap turns an error from a guest call into an operator's sentence.
func describeTrap(err error, in *instance) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nwasm stack trace:"); i >= 0 {
		msg = "the module crashed (" + msg[:i] + ")"
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch code := exit.ExitCode(); code {
		case sys.ExitCodeDeadlineExceeded:
			msg = "the module ran past its deadline and was stopped (an endless loop?)"
		case sys.ExitCodeContextCanceled:
			msg = "the module was stopped because its checks were canceled"
		default:
			msg = fmt.Sprintf("the module exited with code %d", code)
		}
	}
	if in != nil && in.mod != nil {
		if mem := in.mod.Memory(); mem != nil {
			pages := mem.Size() / 65536
			limit := in.m.policy.MemoryLimitPages
			if limit > 0 && pages+16 >= limit {
				msg += fmt.Sprintf(" (memory at %d of %d pages: the memory cap was reached)", pages, limit)
			}
		}
		if tail := in.out.tail(); tail != "" {
			msg += "; last output: " + tail
		}
	}
	return errors.New(msg)
}

// Compile-time checks that hostfuncs and wazero types line up.
var (
	_ hostfuncs.Env = (*run)(nil)
	_ api.Module    = api.Module(nil)
)
