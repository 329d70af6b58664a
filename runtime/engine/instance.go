package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/runtime/check"
)

// instance is one instantiation of a module. One goroutine at a time drives
// it, so host functions (which run on that goroutine) and the maps below need
// no lock. A blocking instance is driven by the goroutine of its check. A
// multiplexed instance has no goroutine of its own: whoever hands it work
// (a caller starting a check, an operation completing) queues the event and,
// if nobody is driving, drives it until the queue is empty (flat combining).
// That saves a goroutine hand-off per event, which dominated the host's cost
// per check when checks are few.
type instance struct {
	m    *Module
	mode string
	mod  api.Module
	out  *output

	ctx     context.Context // carries the instance to host functions
	killCtx context.CancelCauseFunc
	born    time.Time
	// busyFrom is UnixNano when the current call into the guest began,
	// moved later by the time spent waiting in zappy.await (the host's
	// time, not the module's); 0 when idle or waiting in await.
	busyFrom atomic.Int64
	// callLimit (UnixNano) is when a blocking instance's zappy_check call
	// overstays: its check's hard deadline and a second more (watchdog.go).
	callLimit atomic.Int64

	fnStart, fnComplete, fnCancel, fnRun, fnCheck api.Function
	stack                                         [4]uint64 // call's parameters and results

	runs      map[int64]*run       // multiplexed: checks in flight
	current   *run                 // blocking: the check in flight
	tokens    map[int64]*pendingOp // operations started and not yet taken
	nextToken int64
	deferred  []ended // runs to forget once the current guest call returns

	qmu     sync.Mutex
	queue   []event // events waiting for the driver
	spare   []event // the driver's last batch, for the next queue (driver only)
	driving bool    // someone is driving (under qmu)
	dead    atomic.Bool
	reason  atomic.Pointer[string]
	shut    bool          // shut down: posts are refused (under qmu)
	stopped chan struct{} // closed once the module instance is released
	release sync.Once
}

// pendingOp is an operation a guest started.
type pendingOp struct {
	token int64
	run   *run
	done  bool     // result available (owned by the instance)
	res   opResult // valid when done
	ready chan opResult

	// Between the start of the operation and hostOp's return: 0 starting,
	// 1 started, 2 completed while starting (with its result in early).
	// Kept here rather than in hostOp's closure, which would allocate
	// them separately.
	state atomic.Int32
	early opResult
}

type opResult struct {
	json []byte
	data []byte
}

type eventKind uint8

const (
	evStart    eventKind = iota // a new check
	evComplete                  // an operation finished
	evForget                    // a check ended without the module reporting
)

type event struct {
	kind eventKind
	run  *run
	op   *pendingOp
	res  opResult
}

const (
	readyBit = int64(1) << 62
	tooSmall = int64(1) << 62
)

func (in *instance) bindExports(mode string) error {
	get := func(name string) api.Function { return in.mod.ExportedFunction(name) }
	in.born = time.Now()
	base, cancel := context.WithCancelCause(in.ctx)
	in.ctx, in.killCtx = base, cancel
	if mode == modeBlocking {
		in.fnCheck = get("zappy_check")
		if in.fnCheck == nil {
			return errors.New("blocking module does not export zappy_check")
		}
		return checkSignature("zappy_check", in.fnCheck, i64, i32)
	}
	in.fnStart, in.fnComplete, in.fnCancel, in.fnRun = get("zappy_start"), get("zappy_complete"), get("zappy_cancel"), get("zappy_run")
	for _, e := range []struct {
		name   string
		f      api.Function
		params []api.ValueType
	}{
		{"zappy_start", in.fnStart, []api.ValueType{i64, i32}},
		{"zappy_complete", in.fnComplete, []api.ValueType{i64, i32, i32}},
		{"zappy_cancel", in.fnCancel, []api.ValueType{i64}},
		{"zappy_run", in.fnRun, nil},
	} {
		if e.f == nil {
			if e.name == "zappy_cancel" {
				continue // optional
			}
			return fmt.Errorf("multiplexed module does not export %s (sdk/ABI.md)", e.name)
		}
		if err := checkSignature(e.name, e.f, e.params...); err != nil {
			return err
		}
	}
	return nil
}

// checkSignature refuses an export whose parameters are not params or that
// returns anything: the engine calls exports with a shared stack, which
// would otherwise hand them what they do not expect.
func checkSignature(name string, f api.Function, params ...api.ValueType) error {
	d := f.Definition()
	if slices.Equal(d.ParamTypes(), params) && len(d.ResultTypes()) == 0 {
		return nil
	}
	return fmt.Errorf("export %s has parameters (%s) and %d results; sdk/ABI.md says (%s) and none",
		name, typeNames(d.ParamTypes()), len(d.ResultTypes()), typeNames(params))
}

// checkResults refuses an export that takes parameters or does not return
// exactly result: the host reads that result.
func checkResults(name string, f api.Function, result api.ValueType) error {
	d := f.Definition()
	if len(d.ParamTypes()) == 0 && slices.Equal(d.ResultTypes(), []api.ValueType{result}) {
		return nil
	}
	return fmt.Errorf("export %s has parameters (%s) and results (%s); sdk/ABI.md says () and (%s)",
		name, typeNames(d.ParamTypes()), typeNames(d.ResultTypes()), api.ValueTypeName(result))
}

// typeNames lists value types as WebAssembly text writes them: "i64, i32".
func typeNames(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

// callCtx bounds one-off calls (instantiation, manifest) by a deadline.
func (in *instance) callCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithValue(ctx, instanceKey{}, in), d)
}

func (in *instance) readManifest(ctx context.Context) (Manifest, error) {
	ctx, cancel := in.callCtx(ctx, 10*time.Second)
	defer cancel()
	v := in.mod.ExportedFunction("zappy_abi_version")
	if err := checkResults("zappy_abi_version", v, i32); err != nil {
		return Manifest{}, err
	}
	res, err := v.Call(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("zappy_abi_version: %w", describeTrap(err, in))
	}
	if int32(res[0]) != ABIVersion {
		return Manifest{}, fmt.Errorf("module speaks ABI %d; this host speaks ABI %d", int32(res[0]), ABIVersion)
	}
	f := in.mod.ExportedFunction("zappy_manifest")
	if f == nil {
		return Manifest{}, errors.New("module does not export zappy_manifest")
	}
	if err := checkResults("zappy_manifest", f, i64); err != nil {
		return Manifest{}, err
	}
	res, err = f.Call(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("zappy_manifest: %w", describeTrap(err, in))
	}
	ptr, n := uint32(res[0]>>32), uint32(res[0])
	if n > 1<<20 {
		return Manifest{}, fmt.Errorf("manifest of %d bytes is larger than 1 MiB", n)
	}
	data, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		return Manifest{}, fmt.Errorf("zappy_manifest returned an invalid pointer/length (%#x, %d)", ptr, n)
	}
	return parseManifest(data)
}

// call invokes a guest export with the instance's context, tracking how long
// the guest is busy so a stuck instance can be recognised.
func (in *instance) call(f api.Function, args ...uint64) error {
	// One goroutine calls an instance at a time, so one stack serves all
	// calls: Call would allocate the arguments and the results.
	stack := in.stack[:max(len(args), 1)]
	copy(stack, args)
	in.busyFrom.Store(time.Now().UnixNano())
	err := f.CallWithStack(in.ctx, stack)
	in.busyFrom.Store(0)
	if err != nil {
		return describeTrap(in.killedErr(err), in)
	}
	return nil
}

// killedErr prefers the reason the instance was killed for.
func (in *instance) killedErr(err error) error {
	if cause := context.Cause(in.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// busyFor is how long the current call into the guest has run at now, 0
// when there is none.
func (in *instance) busyFor(now time.Time) time.Duration {
	from := in.busyFrom.Load()
	if from == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, from))
}

// kill stops the instance from any goroutine: a running call is interrupted
// (unless the module is trusted, whose code cannot be interrupted: it is
// abandoned) and every check in flight fails with reason.
func (in *instance) kill(reason string) {
	in.setReason(reason)
	in.killCtx(errors.New(reason))
	in.dead.Store(true)
	if in.mode == modeMultiplexed && in.acquire() {
		in.shutdown(in.deathReason()) // nobody was driving: release it here
	}
}

// acquire makes the caller the driver if nobody is.
func (in *instance) acquire() bool {
	in.qmu.Lock()
	defer in.qmu.Unlock()
	if in.driving {
		return false
	}
	in.driving = true
	return true
}

func (in *instance) setReason(reason string) {
	in.reason.CompareAndSwap(nil, &reason)
}

func (in *instance) deathReason() string {
	if p := in.reason.Load(); p != nil {
		return *p
	}
	return "instance stopped"
}

// post hands an event to the instance; false when the instance is dead.
// When nobody drives the instance, the calling goroutine drives it if drive
// is set; otherwise a new goroutine does (for goroutines that must not run
// the guest: the hostfuncs reactor, or a host function the guest is
// calling).
func (in *instance) post(ev event, drive bool) bool {
	in.qmu.Lock()
	if in.shut || (in.dead.Load() && !in.driving) {
		in.qmu.Unlock()
		return false
	}
	in.queue = append(in.queue, ev)
	if in.driving {
		in.qmu.Unlock()
		return true
	}
	in.driving = true
	in.qmu.Unlock()
	if drive {
		in.drive()
	} else {
		go in.drive()
	}
	return true
}

// drive handles queued events in batches, each followed by zappy_run, until
// the queue is empty or the instance dies. The calls that checks ended
// during zappy_run need (their pending operations completed as canceled,
// zappy_cancel) are a batch too, so zappy_run follows them again; a check
// that simply reported (nothing pending) needs no call, and no extra
// zappy_run.
func (in *instance) drive() {
	for {
		in.qmu.Lock()
		if in.dead.Load() {
			in.qmu.Unlock()
			in.shutdown(in.deathReason())
			return
		}
		if len(in.queue) == 0 {
			in.driving = false
			in.qmu.Unlock()
			return
		}
		batch := in.queue
		in.queue, in.spare = in.spare[:0], nil
		in.qmu.Unlock()
		err := in.handleBatch(batch)
		for err == nil {
			if err = in.call(in.fnRun); err != nil {
				break
			}
			// Each round forgets checks for good (forget calls into the
			// module only for checks still in runs), so this ends.
			var called bool
			if called, err = in.flushDeferred(); !called {
				break
			}
		}
		clear(batch)
		in.spare = batch // the two slices take turns: no allocation per batch
		if err != nil {
			in.shutdown(err.Error())
			return
		}
	}
}

func (in *instance) handleBatch(batch []event) error {
	for _, ev := range batch {
		var err error
		switch ev.kind {
		case evStart:
			err = in.startRun(ev.run)
		case evComplete:
			err = in.deliver(ev.op, ev.res)
		case evForget:
			_, err = in.forget(ev.run, false)
		}
		if err == nil {
			_, err = in.flushDeferred()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (in *instance) startRun(r *run) error {
	if r.finished.Load() {
		return nil
	}
	r.setInstance(in)
	in.runs[r.id] = r
	return in.call(in.fnStart, uint64(r.id), uint64(len(r.input)))
}

// deliver hands an operation's result to the guest.
func (in *instance) deliver(p *pendingOp, res opResult) error {
	if p.done || in.tokens[p.token] != p {
		return nil // the check ended and the result was replaced by a cancellation
	}
	p.done, p.res = true, res
	p.run.pending--
	return in.call(in.fnComplete, uint64(p.token), uint64(len(res.json)), uint64(len(res.data)))
}

// forget drops a check that ended: pending operations complete as canceled
// so guest goroutines unwind, and a module whose check ended without its
// report (deadline, cancel, violation) is told through zappy_cancel. called
// says whether it called into the module.
func (in *instance) forget(r *run, reported bool) (called bool, err error) {
	if _, ok := in.runs[r.id]; !ok {
		return false, nil
	}
	delete(in.runs, r.id)
	for _, p := range r.ops {
		if p.done {
			continue
		}
		called = true
		if err := in.deliver(p, canceledResult); err != nil {
			return true, err
		}
	}
	// What the module has not taken by now it never will: the check is
	// gone.
	for tok := range r.ops {
		delete(in.tokens, tok)
	}
	clear(r.ops)
	if in.fnCancel != nil && !reported {
		return true, in.call(in.fnCancel, uint64(r.id))
	}
	return called, nil
}

// canceledResult is what an operation still pending when its check ends
// completes with.
var canceledResult = opResult{json: hostfuncs.EncodeResult(nil, hostfuncs.Errorf(hostfuncs.CodeCanceled, "check ended"))}

// flushDeferred forgets the checks that ended during guest calls; called
// says whether that called into the module.
func (in *instance) flushDeferred() (called bool, err error) {
	// forget may defer more checks (a guest call can end others): index,
	// do not range, and keep the slice's storage for the next batch.
	for i := 0; i < len(in.deferred); i++ {
		d := in.deferred[i]
		in.deferred[i] = ended{}
		c, err := in.forget(d.run, d.reported)
		called = called || c
		if err != nil {
			in.deferred = in.deferred[:copy(in.deferred, in.deferred[i+1:])]
			return called, err
		}
	}
	in.deferred = in.deferred[:0]
	return called, nil
}

// ended is a check to forget; reported says the module reported it itself.
type ended struct {
	run      *run
	reported bool
}

// endRun finishes r with res from inside a host function; the cleanup that
// needs guest calls waits until the current call returns.
func (in *instance) endRun(r *run, res check.Result, reported bool) {
	r.finish(res)
	if in.mode == modeMultiplexed {
		in.deferred = append(in.deferred, ended{r, reported})
	}
}

// shutdown fails every check in flight and releases the instance. Only the
// driver calls it; the instance stays "driven" forever after, so nobody else
// touches it.
func (in *instance) shutdown(reason string) {
	in.setReason(reason)
	in.dead.Store(true)
	msg := fmt.Sprintf("module %s instance stopped: %s", in.m.name, in.deathReason())
	for _, r := range in.runs {
		r.finish(errorResult(r, msg))
	}
	in.runs = map[int64]*run{}
	if in.current != nil {
		in.current.finish(errorResult(in.current, msg))
	}
	// Fail what is queued so that callers are not left waiting.
	in.qmu.Lock()
	queued := in.queue
	in.queue, in.shut = nil, true
	in.qmu.Unlock()
	for _, ev := range queued {
		if ev.run != nil {
			ev.run.finish(errorResult(ev.run, msg))
		}
	}
	in.free()
}

// close releases an instance no goroutine is running in.
func (in *instance) close(ctx context.Context) {
	in.dead.Store(true)
	in.free()
}

// free closes the wazero module, releasing its memory. Only the goroutine
// driving the instance may call it, after its last call into the guest:
// memory freed under running code would crash the host.
func (in *instance) free() {
	in.release.Do(func() {
		in.mod.Close(context.Background())
		in.m.forgetInstance(in)
		close(in.stopped)
	})
}

// restarts paces the instances made to replace failed ones, for a lane
// (multiplexed) and a pool (blocking) alike (sdk/ABI.md, section 7): the
// first replacement is made at once, then each waits longer (backoff)
// while the module keeps failing. Its owner's lock guards it.
type restarts struct {
	failures int
	retryAt  time.Time
	lastErr  string
}

func backoff(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	d := 100 * time.Millisecond << min(failures-2, 9)
	return min(d, 30*time.Second)
}

// died records an instance that stopped.
func (s *restarts) died(in *instance) {
	if time.Since(in.born) > time.Minute {
		s.failures = 0 // it served well for a while: start the backoff afresh
	}
	s.failed(in.deathReason())
}

// failed records a failure: an instance that stopped, or one that could not
// be made.
func (s *restarts) failed(why string) {
	s.failures++
	s.retryAt = time.Now().Add(backoff(s.failures))
	s.lastErr = why
}

// wait says how long until an instance may be made, and why, or 0 and nil.
func (s *restarts) wait(m *Module) (time.Duration, error) {
	if s.failures == 0 {
		return 0, nil
	}
	if wait := time.Until(s.retryAt); wait > 0 {
		return wait, fmt.Errorf("module %s keeps failing (last: %s); next restart in %s", m.name, s.lastErr, wait.Round(time.Millisecond))
	}
	return 0, nil
}

// lane feeds one check type of a multiplexed module to an instance,
// replacing the instance when it dies.
type lane struct {
	m        *Module
	typ      string
	mu       sync.Mutex
	inst     *instance
	restarts restarts
}

func (l *lane) instance() (*instance, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if in := l.inst; in != nil {
		if !in.dead.Load() {
			// The watchdog's rule, applied now rather than at its next
			// tick (an idle instance needs no clock read).
			why := ""
			if in.busyFrom.Load() != 0 {
				why = in.stuck(time.Now())
			}
			if why == "" {
				return in, nil
			}
			in.kill(why)
		}
		l.restarts.died(in)
		l.inst = nil
	}
	if _, err := l.restarts.wait(l.m); err != nil {
		return nil, err
	}
	in, err := l.m.newInstance(context.Background(), modeMultiplexed)
	if err != nil {
		l.restarts.failed(err.Error())
		return nil, fmt.Errorf("module %s: %w", l.m.name, err)
	}
	l.inst = in
	return in, nil
}

func (l *lane) start(r *run) {
	for attempt := 0; attempt < 2; attempt++ {
		in, err := l.instance()
		if err != nil {
			r.finish(errorResult(r, err.Error()))
			return
		}
		if in.post(event{kind: evStart, run: r}, true) {
			return
		}
	}
	r.finish(errorResult(r, fmt.Sprintf("module %s: no live instance", l.m.name)))
}

func (l *lane) close(ctx context.Context, reason string) {
	l.mu.Lock()
	in := l.inst
	l.inst = nil
	l.mu.Unlock()
	if in != nil {
		in.kill(reason)
	}
}

// pool holds idle instances of a blocking module. Instances that die are
// replaced at the pace of restarts, like a lane's.
type pool struct {
	m        *Module
	sem      chan struct{} // one token per instance in use
	mu       sync.Mutex
	idle     []*instance
	closed   bool
	restarts restarts
}

func (p *pool) put(in *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || in.dead.Load() {
		in.close(context.Background())
		return
	}
	p.idle = append(p.idle, in)
}

// get returns an idle instance or a new one for r. While the module keeps
// failing, a new instance waits for the restart's time (restarts), as long
// as r's deadline allows.
func (p *pool) get(r *run) (*instance, error) {
	for {
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			in := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return in, nil
		}
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("module %s is closed", p.m.name)
		}
		wait, err := p.restarts.wait(p.m)
		p.mu.Unlock()
		if err == nil {
			break
		}
		if wait > time.Until(r.deadline) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.octx.Done():
			t.Stop()
			return nil, err
		}
	}
	in, err := p.m.newInstance(context.Background(), modeBlocking)
	if err != nil {
		p.mu.Lock()
		p.restarts.failed(err.Error())
		p.mu.Unlock()
		return nil, fmt.Errorf("module %s: %w", p.m.name, err)
	}
	return in, nil
}

// died records an instance of the pool that stopped.
func (p *pool) died(in *instance) {
	p.mu.Lock()
	p.restarts.died(in)
	p.mu.Unlock()
}

// run executes one check on a pooled instance (blocking mode).
func (p *pool) run(r *run) {
	select {
	case p.sem <- struct{}{}:
	case <-r.octx.Done():
		r.finish(errorResult(r, fmt.Sprintf("no free instance of module %s before the deadline (%d in use)", p.m.name, cap(p.sem))))
		return
	}
	defer func() { <-p.sem }()
	if r.finished.Load() {
		return // it ended while it waited for a slot: make no instance for it
	}
	in, err := p.get(r)
	if err != nil {
		r.finish(errorResult(r, err.Error()))
		return
	}
	if r.finished.Load() {
		// The check ended while an instance was made (_initialize can be
		// slow): do not run it.
		p.put(in)
		return
	}
	in.current = r
	r.setInstance(in)
	in.callLimit.Store(r.hard.Add(time.Second).UnixNano())
	err = in.call(in.fnCheck, uint64(r.id), uint64(len(r.input)))
	in.callLimit.Store(0)
	in.current = nil
	clear(in.tokens)
	if err != nil || in.dead.Load() {
		if err == nil {
			err = errors.New(in.deathReason())
		}
		in.dead.Store(true)
		in.setReason(err.Error())
		// Recorded before the check's result is out: its caller's next
		// check sees the failure.
		p.died(in)
		r.finish(errorResult(r, fmt.Sprintf("module %s instance stopped: %v", p.m.name, err)))
		in.close(context.Background())
		return
	}
	if !r.finished.Load() {
		r.finish(errorResult(r, fmt.Sprintf("module %s returned from zappy_check without reporting a result (zappy.done)", p.m.name)))
	}
	p.put(in)
}

func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, in := range idle {
		in.close(ctx)
	}
}
