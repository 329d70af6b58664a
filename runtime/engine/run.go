package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// run is one check in flight. Fields below "owned by the instance" are only
// touched by the goroutine that drives the instance running the check.
type run struct {
	id       int64
	m        *Module
	req      check.Request
	input    []byte
	started  time.Time
	deadline time.Time // operations end here (the check's timeout)
	hard     time.Time // the host gives up on the module here (deadline + grace)

	octx     opContext // operations' context, ends at deadline
	cancelFn func()    // handed to the caller of Start
	done     func(check.Result)
	finished atomic.Bool

	handles hostfuncs.Handles
	allow   allowList

	mu        sync.Mutex
	violation string                      // a sandbox violation: the check's result becomes error
	stopCtx   atomic.Pointer[func() bool] // unregisters the caller's context's hook

	// owned by the engine's timeouts (under its lock)
	slot    int       // index in its heap; -1 when not queued
	due     time.Time // deadline, then hard
	expired bool      // the deadline has passed: hard is due next

	// owned by the instance
	inst    *instance
	ops     map[int64]*pendingOp // operations started and not taken
	pending int                  // those of ops not completed
}

func (m *Module) newRun(ctx context.Context, req check.Request, done func(check.Result)) (*run, error) {
	if req.Timeout <= 0 {
		req.Timeout = 10 * time.Second
	}
	if req.Type == "" && len(m.manifest.Types) == 1 {
		req.Type = m.manifest.Types[0].Name
	}
	if _, ok := m.manifest.Type(req.Type); !ok {
		return nil, fmt.Errorf("module %s has no check type %q (it has %s)", m.name, req.Type, strings.Join(m.manifest.TypeNames(), ", "))
	}
	allow, err := newAllowList(req.Target, m.policy.Allow, req.Allow)
	if err != nil {
		return nil, fmt.Errorf("monitor %q: %w", req.Name, err)
	}
	r := &run{
		id:       m.e.nextID.Add(1),
		m:        m,
		req:      req,
		started:  time.Now(),
		done:     done,
		allow:    allow,
		ops:      map[int64]*pendingOp{}, // small: maps of up to 8 entries are one allocation
		handles:  hostfuncs.Handles{Max: m.policy.MaxHandles},
		deadline: time.Now().Add(req.Timeout),
		slot:     -1,
	}
	r.hard = r.deadline.Add(m.policy.grace(req.Timeout))
	// Operations get a context of their own: the caller's cancellation is
	// delivered through cancelFn, so that the check ends with a result.
	r.octx.deadline = r.deadline
	if m.manifest.Frames == frameVersion {
		r.input = InputFrame(r.id, r.req, r.deadline)
	} else {
		r.input = buildInput(r)
	}
	r.cancelFn = func() {
		if r.finish(errorResult(r, "check canceled")) {
			r.afterAbort()
		}
	}
	// The caller's context cancels the check too. Like the hard timer, its
	// hook is published atomically: an ended ctx runs r.cancelFn (and so
	// finish) at once, on another goroutine.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, r.cancelFn)
		r.stopCtx.Store(&stop)
	}
	m.e.timeouts.add(r)
	return r, nil
}

// buildInput renders the check input JSON (sdk/ABI.md, "Check input").
func buildInput(r *run) []byte {
	var w zjson.Writer
	w.Grow(160 + len(r.req.Name) + len(r.req.Target) + len(r.req.Config) + len(r.req.State))
	w.ObjectStart()
	w.Key("check_id")
	w.Int(r.id)
	w.Key("name")
	w.String(r.req.Name)
	w.Key("type")
	w.String(r.req.Type)
	w.Key("target")
	w.String(r.req.Target)
	w.Key("timeout_ms")
	w.Int(r.req.Timeout.Milliseconds())
	w.Key("deadline_unix_ms")
	w.Int(r.deadline.UnixMilli())
	w.Key("attempt")
	w.Int(int64(max(r.req.Attempt, 1)))
	w.Key("config")
	if len(r.req.Config) > 0 {
		w.Raw(r.req.Config)
	} else {
		w.Raw([]byte("{}"))
	}
	w.Key("state")
	w.Raw(r.req.State)
	if r.req.NotifyEvery > 0 || r.req.AfterEveryN > 0 {
		w.Key("notify")
		w.ObjectStart()
		w.Key("every_ms")
		w.Int(r.req.NotifyEvery.Milliseconds())
		w.Key("after_every_n")
		w.Int(int64(r.req.AfterEveryN))
		w.ObjectEnd()
	}
	w.ObjectEnd()
	return w.Bytes()
}

// Allow implements hostfuncs.Env. A refusal is a sandbox violation that makes
// the check's result error, whatever the module reports.
func (r *run) Allow(host string, port int) error {
	err := r.allow.check(host, port)
	if err != nil {
		r.violate("denied: " + err.Error())
	}
	return err
}

// Handles implements hostfuncs.Env.
func (r *run) Handles() *hostfuncs.Handles { return &r.handles }

// MaxBytes implements hostfuncs.Env.
func (r *run) MaxBytes() int64 { return r.m.policy.MaxResponseBytes }

// FollowAnyRedirect implements hostfuncs.Env: only trusted modules (the
// built-ins) follow HTTP redirects outside the allow-list.
func (r *run) FollowAnyRedirect() bool { return r.m.policy.Trusted }

func (r *run) violate(msg string) {
	r.mu.Lock()
	if r.violation == "" {
		r.violation = msg
	}
	r.mu.Unlock()
}

func (r *run) violated() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.violation
}

// finish delivers res once; it reports whether this call delivered it. It
// releases the check's network resources at once, from any goroutine.
func (r *run) finish(res check.Result) bool {
	if !r.finished.CompareAndSwap(false, true) {
		return false
	}
	r.m.e.timeouts.remove(r)
	if stop := r.stopCtx.Load(); stop != nil {
		(*stop)()
	}
	r.octx.cancel(context.Canceled)
	r.handles.CloseAll()
	if res.Name == "" {
		res.Name, res.Type, res.Target = r.req.Name, r.req.Type, r.req.Target
	}
	if res.Started.IsZero() {
		res.Started = r.started
	}
	if res.Class == "" {
		res.Class = check.DefaultClass(res.Status)
	}
	r.done(res)
	return true
}

// onHardDeadline fires when the module has had its grace period and still not
// reported.
func (r *run) onHardDeadline() {
	msg := fmt.Sprintf("check did not finish within its timeout of %s (the module did not report within %s after the deadline)",
		r.req.Timeout, r.hard.Sub(r.deadline).Round(time.Millisecond))
	res := errorResult(r, msg)
	if !r.finish(res) {
		return
	}
	r.afterAbort()
}

// afterAbort tells the instance that r ended without the module reporting:
// an instance stuck in module code is killed, a live one cleans up. (A
// blocking check waiting in zappy.await is not busy: the await returns, as
// canceled, now that r's operations' context has ended.)
func (r *run) afterAbort() {
	in := r.instance()
	if in == nil {
		return
	}
	if busy := in.busyFor(time.Now()); busy > r.m.policy.grace(r.req.Timeout) {
		in.kill(fmt.Sprintf("check %q ran past its deadline inside the module (busy for %s: an endless loop?)", r.req.Name, busy.Round(time.Millisecond)))
		return
	}
	if in.mode == modeMultiplexed {
		// On a goroutine of its own: whoever ended the check (a caller
		// canceling it, a timer) must not run the module's zappy_cancel.
		in.post(event{kind: evForget, run: r}, false)
	}
}

func (r *run) instance() *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inst
}

func (r *run) setInstance(in *instance) {
	r.mu.Lock()
	r.inst = in
	r.mu.Unlock()
}

// resultFromGuest validates and converts a module's result (sdk/ABI.md,
// "Check result"): a JSON object, or a result frame. zjson keeps the JSON
// cheap: encoding/json's reflection cost several microseconds per check.
func (r *run) resultFromGuest(data []byte) check.Result {
	if len(data) > 0 && data[0] == frameVersion {
		return r.resultFromFrame(data)
	}
	// The tape is recycled once the result is converted: strings taken
	// from it are views of data (a copy of the module's memory) or copies.
	v, err := zjson.ParseTemp(data)
	defer v.Release()
	if err != nil || v.Kind() != zjson.Object {
		if err == nil {
			err = fmt.Errorf("not an object")
		}
		return errorResult(r, fmt.Sprintf("module %s reported a result that is not valid JSON: %v", r.m.name, err))
	}
	res := r.newResult()
	var bad string
	for it := v.Iter(); it.Next() && bad == ""; {
		switch val := it.Value(); it.Key() {
		case "status":
			res.Status = check.Status(val.Str())
		case "class":
			res.Class = check.Class(val.Str())
		case "message":
			// One line, valid UTF-8: it ends up in terminals, mail
			// subjects and chat messages.
			res.Message = oneLine(val.Str())
		case "latency_ms":
			if val.Kind() == zjson.Number {
				if f := val.Float(); f >= 0 && !math.IsInf(f, 0) {
					res.LatencyMS = f
				}
			}
		case "metrics":
			for _, m := range val.Array() {
				res.Metrics = append(res.Metrics, check.Metric{Name: m.Get("name").Str(), Value: m.Get("value").Float(), Unit: m.Get("unit").Str()})
			}
		case "fields":
			if val.Kind() == zjson.Object {
				res.Fields, _ = val.Interface().(map[string]any)
			} else if !val.IsNull() {
				bad = "fields must be an object"
			}
		case "state", "events":
			bad = r.resultMember(&res, it.Key(), val)
		}
	}
	return r.checkedResult(res, bad)
}

// newResult is the result of r before the module's says anything.
func (r *run) newResult() check.Result {
	return check.Result{
		Name: r.req.Name, Type: r.req.Type, Target: r.req.Target,
		Started:   r.started,
		LatencyMS: -1,
	}
}

// resultMember takes a result's state or events, the members a JSON result
// and a result frame (in its JSON part) share; it returns what is wrong
// with them, if anything.
func (r *run) resultMember(res *check.Result, key string, val zjson.Value) (bad string) {
	switch key {
	case "state":
		if !val.IsNull() {
			res.State = append(json.RawMessage(nil), val.Source()...)
		}
	case "events":
		events, err := parseEvents(val)
		if err != nil {
			return err.Error()
		}
		res.Events = events
	}
	return ""
}

// checkedResult is res as the module reported it, unless bad says what
// is wrong with it, its status or class is unknown, or the check broke the
// sandbox's rules; a latency the module left out is the check's wall time.
func (r *run) checkedResult(res check.Result, bad string) check.Result {
	if bad != "" {
		return errorResult(r, fmt.Sprintf("module %s reported an invalid result: %s", r.m.name, bad))
	}
	if !res.Status.Valid() {
		return errorResult(r, fmt.Sprintf("module %s reported unknown status %q (want up, degraded, down or error)", r.m.name, res.Status))
	}
	switch res.Class {
	case "", check.Success, check.ApplicationError, check.ExceptionError:
	default:
		return errorResult(r, fmt.Sprintf("module %s reported unknown result class %q", r.m.name, res.Class))
	}
	if res.LatencyMS < 0 {
		res.LatencyMS = float64(time.Since(r.started).Microseconds()) / 1000
	}
	if v := r.violated(); v != "" {
		msg := res.Message
		res.Status, res.Class = check.Error, check.ExceptionError
		res.Message = v + " (the module reported: " + strconv.Quote(msg) + ")"
	}
	return res
}
