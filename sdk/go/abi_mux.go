//go:build wasip1 && !tinygo && !zappy_blocking

package zappy

// The multiplexed runtime: one module instance serves many checks at once.
// Each check runs on a goroutine; a primitive parks its goroutine on a
// channel until the host delivers the completion through zappy_complete. The
// host batches zappy_start / zappy_complete / zappy_cancel calls and then calls
// zappy_run, which lets every runnable goroutine run until all are parked
// again. No export ever blocks (ABI.md, "Multiplexed mode").

import (
	"runtime"
	"runtime/metrics"
	"sync"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

type completion struct {
	json zjson.Value
	data []byte
	err  error
}

// checkRuntime is what the multiplexed runtime keeps per check.
type checkRuntime struct {
	then  bool // runs as a ThenHandler, on no goroutine of its own
	ended bool // a ThenHandler check called done
}

// waiter is who waits for an operation: a parked check goroutine (ch) or
// a ThenHandler's callback (then), run by zappy_complete itself.
type waiter struct {
	ch   chan completion
	then delivery
	c    *Check
}

// The SDK's shared state. Go in wasm runs one goroutine at a time, but a
// goroutine can still be switched out in the middle of a map or slice update
// (an allocation may park it to assist the garbage collector), so every
// access goes through mu.
var (
	mu      sync.Mutex
	checks  idMap[*Check]
	pending idMap[waiter]
	idle    []chan *Check // parked workers waiting for their next check
	chanBin []chan completion
)

// maxIdleWorkers bounds how many finished check goroutines are kept for reuse;
// starting a goroutine costs ~4 µs inside wasm, reusing one ~1 µs.
const maxIdleWorkers = 256

//go:wasmexport zappy_manifest
func exportManifest() int64 { return exportManifestFor("multiplexed") }

//go:wasmexport zappy_start
func exportStart(checkID int64, inputLen int32) {
	c := acceptInput(checkID, inputLen)
	if c == nil {
		return
	}
	mu.Lock()
	checks.set(checkID, c)
	if r := lookupType(c.Type); r != nil && r.then != nil {
		mu.Unlock()
		c.rt.then = true
		step(c, func() { r.then(c, func(res Result) { endThen(c, res) }) })
		return
	}
	var w chan *Check
	if n := len(idle); n > 0 {
		w = idle[n-1]
		idle = idle[:n-1]
	}
	mu.Unlock()
	if w != nil {
		w <- c // buffered: never blocks
		return
	}
	go worker(c)
}

func worker(c *Check) {
	next := make(chan *Check, 1)
	for {
		res := runHandler(handlerFor(c.Type), c)
		mu.Lock()
		checks.take(c.ID)
		mu.Unlock()
		finish(c, res)
		mu.Lock()
		if len(idle) >= maxIdleWorkers {
			mu.Unlock()
			return
		}
		idle = append(idle, next)
		mu.Unlock()
		c = <-next
	}
}

//go:wasmexport zappy_complete
func exportComplete(token int64, jsonLen, dataLen int32) {
	mu.Lock()
	w, ok := pending.take(token)
	mu.Unlock()
	if !ok {
		return
	}
	if w.then != nil {
		completeThen(w.c, w.then, token, jsonLen, dataLen)
		return
	}
	v, data, err := takeResult(token, jsonLen, dataLen, false)
	w.ch <- completion{v, data, err} // buffered: never blocks
}

// resultBusy is set while a callback is handed a result on resultDoc's
// tape: a result taken meanwhile (an operation the callback starts that
// completes at once, a check goroutine that runs while this one is parked)
// gets a tape of its own.
var resultBusy bool

// deliverTaken takes token's completed result and hands it to then.
func deliverTaken(c *Check, then delivery, token int64, jsonLen, dataLen int32) {
	if resultBusy {
		v, data, err := takeResult(token, jsonLen, dataLen, false)
		then.deliver(c, v, data, err)
		return
	}
	resultBusy = true
	defer clearBusy()
	v, data, err := takeResult(token, jsonLen, dataLen, true)
	then.deliver(c, v, data, err)
}

func clearBusy() { resultBusy = false }

// step runs part of a ThenHandler check on the calling export, turning a
// panic into the check's error result.
func step(c *Check, f func()) {
	defer recoverThen(c)
	f()
}

// completeThen is step for an operation's result.
func completeThen(c *Check, then delivery, token int64, jsonLen, dataLen int32) {
	defer recoverThen(c)
	deliverTaken(c, then, token, jsonLen, dataLen)
}

// recoverThen, deferred, ends c with an error result if its code panicked.
func recoverThen(c *Check) {
	if r := recover(); r != nil {
		endThen(c, Result{Status: StatusError, Class: ClassExceptionError, Message: "check panicked: " + panicText(r)})
	}
}

// endThen reports a ThenHandler check's result; calls after the first are
// ignored.
func endThen(c *Check, res Result) {
	if c.rt.ended {
		return
	}
	c.rt.ended = true
	mu.Lock()
	checks.take(c.ID)
	mu.Unlock()
	finish(c, res)
}

// callThen starts op and hands its result to then: at once when the host
// completes it synchronously, else from zappy_complete.
func callThen(c *Check, op int32, w *zjson.Writer, data []byte, then delivery) {
	if c.canceled || c.rt.ended {
		putWriter(w)
		then.deliver(c, zjson.Value{}, nil, &Error{Code: "canceled", Message: "check canceled"})
		return
	}
	tok, ready, err := startOp(c, op, w, data)
	switch {
	case err != nil:
		then.deliver(c, zjson.Value{}, nil, err)
	case ready:
		deliverTaken(c, then, tok, 0, 0)
	default:
		mu.Lock()
		pending.set(tok, waiter{then: then, c: c})
		mu.Unlock()
	}
}

//go:wasmexport zappy_cancel
func exportCancel(checkID int64) {
	mu.Lock()
	c, ok := checks.get(checkID)
	if ok && c.rt.then {
		// The host has ended the check: nothing waits for its done, and
		// a callback check has no goroutine whose return would drop it.
		checks.take(checkID)
		c.rt.ended = true
	}
	mu.Unlock()
	if ok {
		c.canceled = true
	}
}

var runnable = []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}

// idleRuns counts the zappy_run calls that found nothing runnable.
var idleRuns uint

// timerEvery: one in this many idle zappy_run calls yields anyway.
const timerEvery = 8

//go:wasmexport zappy_run
func exportRun() {
	for i := 0; ; i++ {
		if !maybeRunnable() {
			// Nothing runnable: return without yielding, which is most
			// calls of a module whose checks run as callbacks. But a
			// goroutine in time.Sleep is not runnable until the scheduler
			// sees its timer expire, and the runtime's own goroutines (the
			// garbage collector's worker) run only when something yields:
			// every timerEvery-th idle call yields once and looks again.
			if i > 0 {
				return
			}
			if idleRuns++; idleRuns%timerEvery != 0 {
				return
			}
		}
		runtime.Gosched()
	}
}

// maybeRunnable reports whether a goroutine of the module may be runnable:
// never while the goroutine running this export is the only one (checks
// written as callbacks keep none: the count costs far less than the
// scheduler metric, ~0.7 µs in wasm), else what the metric says.
func maybeRunnable() bool {
	if runtime.NumGoroutine() <= 1 {
		return false
	}
	metrics.Read(runnable)
	return runnable[0].Value.Kind() == metrics.KindUint64 && runnable[0].Value.Uint64() != 0
}

// call starts op with the request in w and parks the calling check
// goroutine until the result comes.
func call(c *Check, op int32, w *zjson.Writer, data []byte) (zjson.Value, []byte, error) {
	if c.canceled {
		putWriter(w)
		return zjson.Value{}, nil, &Error{Code: "canceled", Message: "check canceled"}
	}
	if c.rt.then && op != opTCPClose {
		// No goroutine of its own to park, whether or not this result
		// would happen to be ready; only close never waits.
		putWriter(w)
		return zjson.Value{}, nil, &Error{Code: "invalid", Message: "zappy: " + opName(op) + " would block a check registered with RegisterThen; use the ...Then form"}
	}
	tok, v, out, err := startCall(c, op, w, data)
	if tok == 0 {
		return v, out, err
	}
	mu.Lock()
	var ch chan completion
	if n := len(chanBin); n > 0 {
		ch = chanBin[n-1]
		chanBin = chanBin[:n-1]
	} else {
		ch = make(chan completion, 1)
	}
	pending.set(tok, waiter{ch: ch})
	mu.Unlock()
	r := <-ch
	mu.Lock()
	chanBin = append(chanBin, ch)
	mu.Unlock()
	return r.json, r.data, r.err
}

func logf(c *Check, level int32, msg string) {
	var id int64
	if c != nil {
		id = c.ID
	}
	logHost(id, level, msg)
}
