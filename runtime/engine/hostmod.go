package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// The "zappy" host module: the imports of sdk/ABI.md. Every function finds
// its instance in the call's context, validates every pointer and length
// against the guest's memory, and never panics: a bad argument fails the
// check that passed it (and returns a negative code), never the host.

// Negative return codes of the imports.
const (
	errFault   = -1 // a pointer/length outside the guest's memory
	errNoCheck = -2 // unknown or finished check, or the instance is stopping
	errNoOp    = -3 // unknown operation number
	errToken   = -4 // unknown token, or its result is not ready
	errNotJSON = -5 // json_index: the document is not JSON
	errTooMany = -6 // json_index: the document has more values than the host indexes
)

var hostFunctionNames = map[string]bool{"input": true, "op": true, "take": true, "done": true, "log": true, "await": true, "json_index": true}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder("zappy")
	def := func(name string, fn api.GoModuleFunc, params, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(name)
	}
	def("input", hostInput, []api.ValueType{i64, i32, i32}, []api.ValueType{i32})
	def("op", hostOp, []api.ValueType{i64, i32, i32, i32, i32, i32}, []api.ValueType{i64})
	def("take", hostTake, []api.ValueType{i64, i32, i32, i32, i32}, []api.ValueType{i64})
	def("done", hostDone, []api.ValueType{i64, i32, i32}, []api.ValueType{i32})
	def("log", hostLog, []api.ValueType{i64, i32, i32, i32}, nil)
	def("await", hostAwait, []api.ValueType{i64}, []api.ValueType{i64})
	def("json_index", JSONIndex, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	_, err := b.Instantiate(ctx)
	return err
}

// lookup finds the instance and the check a call is about.
func lookup(ctx context.Context, checkID int64) (*instance, *run) {
	in := instanceFrom(ctx)
	if in == nil {
		return nil, nil
	}
	if in.mode == modeBlocking {
		if r := in.current; r != nil && r.id == checkID && !r.finished.Load() {
			return in, r
		}
		return in, nil
	}
	r := in.runs[checkID]
	if r != nil && r.finished.Load() {
		r = nil
	}
	return in, r
}

// fault fails r because the module handed the host an invalid pointer.
func (in *instance) fault(r *run, fn string, ptr, n uint32) {
	msg := fmt.Sprintf("module %s passed an invalid pointer or length to zappy.%s (ptr=%#x, len=%d, memory=%d bytes): check failed",
		in.m.name, fn, ptr, n, in.mod.Memory().Size())
	r.violate(msg)
	in.endRun(r, errorResult(r, msg), false)
}

// read copies guest memory [ptr, ptr+n).
func read(mod api.Module, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// input(check_id i64, ptr i32, cap i32) -> i32: copies the check input JSON;
// returns its length (copying nothing when cap is too small).
func hostInput(ctx context.Context, mod api.Module, s []uint64) {
	in, r := lookup(ctx, int64(s[0]))
	if r == nil {
		s[0] = api.EncodeI32(errNoCheck)
		return
	}
	ptr, capacity := uint32(s[1]), uint32(s[2])
	n := uint32(len(r.input))
	if n <= capacity {
		if !mod.Memory().Write(ptr, r.input) {
			in.fault(r, "input", ptr, capacity)
			s[0] = api.EncodeI32(errFault)
			return
		}
		// Copied: the module has it now, and thousands of checks in
		// flight need not keep a second copy each.
		r.input = nil
	}
	s[0] = api.EncodeI32(int32(n))
}

// op(check_id i64, op i32, req_ptr i32, req_len i32, data_ptr i32, data_len i32) -> i64:
// starts an operation; returns its token (bit 62 set: the result is ready now).
func hostOp(ctx context.Context, mod api.Module, s []uint64) {
	in, r := lookup(ctx, int64(s[0]))
	if r == nil {
		s[0] = api.EncodeI64(errNoCheck)
		return
	}
	opID := api.DecodeI32(s[1])
	reqPtr, reqLen, dataPtr, dataLen := uint32(s[2]), uint32(s[3]), uint32(s[4]), uint32(s[5])
	req, ok := read(mod, reqPtr, reqLen)
	if !ok {
		in.fault(r, "op", reqPtr, reqLen)
		s[0] = api.EncodeI64(errFault)
		return
	}
	data, ok := read(mod, dataPtr, dataLen)
	if !ok {
		in.fault(r, "op", dataPtr, dataLen)
		s[0] = api.EncodeI64(errFault)
		return
	}
	op := hostfuncs.LookupOp(opID)
	if op == nil {
		s[0] = api.EncodeI64(errNoOp)
		return
	}
	in.nextToken++
	p := &pendingOp{token: in.nextToken, run: r}
	in.tokens[p.token] = p
	r.ops[p.token] = p // until taken, or until the check is forgotten
	if limit := maxUntaken * in.m.policy.MaxOpsInFlight; len(r.ops) > limit {
		// Results the module neither takes nor lets go each hold host
		// memory until the check ends: the check ends now.
		msg := fmt.Sprintf("module %s left more than %d operation results of a check untaken", in.m.name, limit)
		r.violate(msg)
		in.endRun(r, errorResult(r, msg), false)
		s[0] = api.EncodeI64(errNoCheck)
		return
	}
	// Refusals, and operations that complete while starting, are handed
	// back ready, as results the guest reads like any other.
	ready := func(res opResult) {
		p.done, p.res = true, res
		s[0] = api.EncodeI64(p.token | readyBit)
	}
	refuse := func(err error) { ready(opResult{json: hostfuncs.EncodeResult(nil, err)}) }
	if op.Capability != "" && !in.m.caps[op.Capability] {
		msg := fmt.Sprintf("denied: module %s may not use %s (capability %q not granted)", in.m.name, op.Name, op.Capability)
		r.violate(msg)
		refuse(hostfuncs.Errorf(hostfuncs.CodeDenied, "%s", msg))
		return
	}
	if r.pending >= in.m.policy.MaxOpsInFlight {
		refuse(hostfuncs.Errorf(hostfuncs.CodeLimit, "too many operations in flight: the sandbox allows %d per check", in.m.policy.MaxOpsInFlight))
		return
	}
	start, err := op.Begin(r, req, data)
	if err != nil {
		refuse(err)
		return
	}
	if in.mode == modeBlocking {
		p.ready = make(chan opResult, 1)
	}
	// An operation that completes before start returns (tcp.close, a read
	// of data already buffered, a quick failure) is handed back ready, as
	// the guest's own call's result; a later completion (on the
	// operation's goroutine, or the reactor's, shared by many) becomes an
	// event for the instance, handled once this call has returned.
	// Only a completion on a goroutine the operation owns (owned) may let
	// that goroutine drive the instance; the reactor's must not.
	start(&r.octx, func(resp any, out []byte, err error, owned bool) {
		res := opResult{json: hostfuncs.EncodeResult(resp, err), data: out}
		p.early = res // written before the CAS publishes it; unread if the CAS fails
		if p.state.CompareAndSwap(0, 2) {
			return
		}
		p.early = opResult{} // started: hostOp no longer reads it
		in.complete(p, res, owned)
	})
	if !p.state.CompareAndSwap(0, 1) { // state is 2
		ready(p.early)
		p.early = opResult{}
		return
	}
	r.pending++
	s[0] = api.EncodeI64(p.token)
}

// maxUntaken times a policy's MaxOpsInFlight is how many results (pending
// or ready) a check may leave untaken before it fails: the SDKs take each
// one as it completes.
const maxUntaken = 4

// complete hands a later outcome to whoever waits for it: the blocking
// guest's await, or the instance as an event. With drive the calling
// goroutine runs the guest itself when nobody drives the instance;
// otherwise a new goroutine does.
func (in *instance) complete(p *pendingOp, res opResult, drive bool) {
	if p.ready != nil {
		p.ready <- res
		return
	}
	in.post(event{kind: evComplete, op: p, res: res}, drive)
}

// take(token i64, json_ptr i32, json_cap i32, data_ptr i32, data_cap i32) -> i64:
// copies a completed operation's result; returns json_len<<32 | data_len, with
// bit 62 set (and nothing copied) when a buffer is too small.
func hostTake(ctx context.Context, mod api.Module, s []uint64) {
	in := instanceFrom(ctx)
	if in == nil {
		s[0] = api.EncodeI64(errNoCheck)
		return
	}
	p := in.tokens[int64(s[0])&^readyBit]
	if p == nil || !p.done {
		s[0] = api.EncodeI64(errToken)
		return
	}
	jp, jc, dp, dc := uint32(s[1]), uint32(s[2]), uint32(s[3]), uint32(s[4])
	jl, dl := uint32(len(p.res.json)), uint32(len(p.res.data))
	sizes := int64(jl)<<32 | int64(dl)
	if jl > jc || dl > dc {
		s[0] = api.EncodeI64(sizes | tooSmall)
		return
	}
	mem := mod.Memory()
	if (jl > 0 && !mem.Write(jp, p.res.json)) || (dl > 0 && !mem.Write(dp, p.res.data)) {
		delete(in.tokens, p.token)
		if !p.run.finished.Load() {
			in.fault(p.run, "take", jp, jc)
		}
		s[0] = api.EncodeI64(errFault)
		return
	}
	delete(in.tokens, p.token)
	delete(p.run.ops, p.token)
	s[0] = api.EncodeI64(sizes)
}

// await(token i64) -> i64: blocking mode only; waits for the operation and
// returns json_len<<32 | data_len.
func hostAwait(ctx context.Context, _ api.Module, s []uint64) {
	in := instanceFrom(ctx)
	if in == nil || in.mode != modeBlocking {
		s[0] = api.EncodeI64(errNoCheck)
		return
	}
	p := in.tokens[int64(s[0])&^readyBit]
	if p == nil {
		s[0] = api.EncodeI64(errToken)
		return
	}
	if !p.done {
		// The wait is the host's time, not the module's: it does not
		// count as busy (run.afterAbort stops instances stuck in module
		// code, not checks waiting for the network).
		from := in.busyFrom.Swap(0)
		waitFrom := time.Now()
		res, ok := in.await(p)
		if from != 0 {
			in.busyFrom.Store(from + int64(time.Since(waitFrom)))
		}
		if !ok {
			s[0] = api.EncodeI64(errNoCheck)
			return
		}
		p.done, p.res = true, res
		p.run.pending--
	}
	s[0] = api.EncodeI64(int64(len(p.res.json))<<32 | int64(len(p.res.data)))
}

// awaitSettle bounds how long await gives an operation, once its check's
// deadline has passed, to report how it ended (a timeout, the bytes read
// so far) before completing it as timed out.
const awaitSettle = 100 * time.Millisecond

// deadlineResult completes an operation still pending, and not reporting,
// after its check's deadline.
var deadlineResult = opResult{json: hostfuncs.EncodeResult(nil, hostfuncs.Errorf(hostfuncs.CodeTimeout, "the check's deadline passed before the operation completed"))}

// await waits for p's result, at most until its check's operations end
// (the check's deadline, or the check ending). Operations end with their
// context, so one then reports at once; one that does not is completed
// here, as canceled once the check ended (section 3) and as timed out at
// the deadline, so that it cannot hold the instance. false: the instance is
// stopping.
func (in *instance) await(p *pendingOp) (opResult, bool) {
	r := p.run
	select {
	case res := <-p.ready:
		return res, true
	case <-r.octx.Done():
	case <-in.ctx.Done():
		return opResult{}, false
	}
	if !r.finished.Load() {
		// The deadline: the module may still report within its grace
		// period, with what the operation says.
		t := time.NewTimer(min(r.m.policy.grace(r.req.Timeout)/2, awaitSettle))
		defer t.Stop()
		select {
		case res := <-p.ready:
			return res, true
		case <-t.C:
		case <-in.ctx.Done():
			return opResult{}, false
		}
	}
	select {
	case res := <-p.ready:
		return res, true
	default:
	}
	if r.finished.Load() {
		return canceledResult, true
	}
	return deadlineResult, true
}

// done(check_id i64, ptr i32, len i32) -> i32: reports the check's result.
func hostDone(ctx context.Context, mod api.Module, s []uint64) {
	in, r := lookup(ctx, int64(s[0]))
	if r == nil {
		s[0] = api.EncodeI32(errNoCheck)
		return
	}
	ptr, n := uint32(s[1]), uint32(s[2])
	if limit := in.m.policy.MaxResultBytes; int(n) > limit {
		msg := fmt.Sprintf("module %s reported a result of %d bytes, over the sandbox cap of %d bytes", in.m.name, n, limit)
		r.violate(msg)
		in.endRun(r, errorResult(r, msg), true)
		s[0] = 0
		return
	}
	// A copy: the result's strings must not alias guest memory, which the
	// module reuses.
	data, ok := read(mod, ptr, n)
	if !ok {
		in.fault(r, "done", ptr, n)
		s[0] = api.EncodeI32(errFault)
		return
	}
	in.endRun(r, r.resultFromGuest(data), true)
	s[0] = 0
}

// log(check_id i64, level i32, ptr i32, len i32): a log line from the module.
func hostLog(ctx context.Context, mod api.Module, s []uint64) {
	in := instanceFrom(ctx)
	if in == nil {
		return
	}
	level := slog.Level(api.DecodeI32(s[1]))
	ptr, n := uint32(s[2]), uint32(s[3])
	// The whole range is validated (Read makes a view, no copy), then
	// the line is cut.
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		if _, r := lookup(ctx, int64(s[0])); r != nil {
			in.fault(r, "log", ptr, n)
		}
		return
	}
	const maxLog = 4096
	truncated := len(b) > maxLog
	if truncated {
		b = b[:maxLog]
	}
	// zappy.log lines share the module's output budget with stdout and
	// stderr: a module cannot flood the host's log either way.
	if !in.out.allow("log", len(b)) {
		return
	}
	msg := string(b)
	if !utf8.ValidString(msg) {
		msg = fmt.Sprintf("%q", msg)
	}
	if truncated {
		msg += "…"
	}
	attrs := []any{}
	if _, r := lookup(ctx, int64(s[0])); r != nil {
		attrs = append(attrs, "monitor", r.req.Name)
	}
	in.m.log.Log(ctx, level, msg, attrs...)
}

// json_index(json_ptr i32, json_len i32, ix_ptr i32, ix_cap i32) -> i32:
// indexes the JSON document [json_ptr, json_ptr+json_len) of the guest's
// memory, writing its records to ix_ptr when ix_cap records fit there;
// returns the number of records either way, -5 when the document is not
// JSON, -6 when it has more than zjson.MaxIndexRecords values (which bounds
// the host memory a call can take), -1 for a range outside memory. A pure
// function of guest memory: it touches no check, so a bad range fails none
// (the guest parses instead). Exported so that a stub host
// (internal/tools/wasmbench) indexes exactly as the engine does.
func JSONIndex(_ context.Context, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	ixPtr, ixCap := uint32(s[2]), uint64(uint32(s[3]))
	mem := mod.Memory()
	data, ok := mem.Read(ptr, n)
	size := ixCap * zjson.IndexRecordSize
	var dst []byte
	if ok && size > 0 {
		if size > uint64(mem.Size()) {
			ok = false
		} else {
			dst, ok = mem.Read(ixPtr, uint32(size))
		}
	}
	if !ok {
		s[0] = api.EncodeI32(errFault)
		return
	}
	count, err := zjson.Index(data, dst)
	switch {
	case errors.Is(err, zjson.ErrTooMany):
		s[0] = api.EncodeI32(errTooMany)
		return
	case err != nil:
		s[0] = api.EncodeI32(errNotJSON)
		return
	}
	s[0] = api.EncodeI32(int32(count))
}
