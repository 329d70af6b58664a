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

// The SDK's shared state. Go in wasm runs one goroutine at a time, but a
// goroutine can still be switched out in the middle of a map or slice update
// (an allocation may park it to assist the garbage collector), so every
// access goes through mu.
var (
	mu      sync.Mutex
	checks  = map[int64]*Check{}
	pending = map[int64]chan completion{}
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
	checks[checkID] = c
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
		delete(checks, c.ID)
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
	ch, ok := pending[token]
	delete(pending, token)
	mu.Unlock()
	if !ok {
		return
	}
	v, data, err := takeResult(token, jsonLen, dataLen)
	ch <- completion{v, data, err} // buffered: never blocks
}

//go:wasmexport zappy_cancel
func exportCancel(checkID int64) {
	mu.Lock()
	c, ok := checks[checkID]
	mu.Unlock()
	if ok {
		c.canceled = true
	}
}

var runnable = []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}

//go:wasmexport zappy_run
func exportRun() {
	for {
		runtime.Gosched()
		metrics.Read(runnable)
		if runnable[0].Value.Kind() != metrics.KindUint64 || runnable[0].Value.Uint64() == 0 {
			return
		}
	}
}

// call starts op and parks the calling check goroutine until it completes.
// call starts op with the request in w (recycled once the host has copied
// it) and waits for its result.
func call(c *Check, op int32, w *zjson.Writer, data []byte) (zjson.Value, []byte, error) {
	if c.canceled {
		putWriter(w)
		return zjson.Value{}, nil, &Error{Code: "canceled", Message: "check canceled"}
	}
	req := w.Bytes()
	tok := hostOp(c.ID, op, bufPtr(req), int32(len(req)), bufPtr(data), int32(len(data)))
	putWriter(w)
	if tok < 0 {
		return zjson.Value{}, nil, abiError(tok, opName(op))
	}
	if tok&readyBit != 0 {
		return takeResult(tok, 0, 0)
	}
	mu.Lock()
	var ch chan completion
	if n := len(chanBin); n > 0 {
		ch = chanBin[n-1]
		chanBin = chanBin[:n-1]
	} else {
		ch = make(chan completion, 1)
	}
	pending[tok] = ch
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
