package hostfuncs

import (
	"context"
	"sync"
)

// Begin prepares an operation and returns how to start it, whatever its
// kind: PrepareStart's Start as it is; a Sync operation's Exec run inline,
// so that done is called before Start returns; any other Exec run on a
// goroutine of its own while it runs (goIO).
func (op *Op) Begin(env Env, req, data []byte) (Start, error) {
	if op.PrepareStart != nil {
		return op.PrepareStart(env, req, data)
	}
	exec, err := op.Prepare(env, req, data)
	if err != nil {
		return nil, err
	}
	if op.Sync {
		return func(ctx context.Context, done Done) {
			resp, out, err := exec(ctx)
			done(resp, out, err, false)
		}, nil
	}
	return func(ctx context.Context, done Done) {
		goIO(func() {
			resp, out, err := exec(ctx)
			done(resp, out, err, true)
		})
	}, nil
}

// I/O goroutines are kept for reuse: an operation's goroutine grows its
// stack inside net.Dial and friends (copying it, twice, on every fresh
// goroutine: ~2 µs of CPU per connect), and a parked goroutine keeps the
// grown stack for the next operation.
var ioWorkers struct {
	mu   sync.Mutex
	idle []chan func()
}

// maxIdleIO bounds the parked I/O goroutines (a few KiB of stack each).
const maxIdleIO = 128

// goIO runs f on an idle I/O goroutine, or a new one.
func goIO(f func()) {
	ioWorkers.mu.Lock()
	if n := len(ioWorkers.idle); n > 0 {
		ch := ioWorkers.idle[n-1]
		ioWorkers.idle = ioWorkers.idle[:n-1]
		ioWorkers.mu.Unlock()
		ch <- f // buffered: never blocks
		return
	}
	ioWorkers.mu.Unlock()
	go ioWorker(f)
}

func ioWorker(f func()) {
	var ch chan func()
	for {
		f()
		f = nil
		ioWorkers.mu.Lock()
		if len(ioWorkers.idle) >= maxIdleIO {
			ioWorkers.mu.Unlock()
			return
		}
		if ch == nil {
			ch = make(chan func(), 1)
		}
		ioWorkers.idle = append(ioWorkers.idle, ch)
		ioWorkers.mu.Unlock()
		f = <-ch
	}
}
