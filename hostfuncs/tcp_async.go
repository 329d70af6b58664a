package hostfuncs

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// asyncRead is a read waiting in the reactor (reactor_linux.go) instead of on
// a goroutine. Its events — the socket became readable, the read's timeout,
// the context ending, Close — may come from several goroutines at once; mu
// serializes them and the first one that decides the read delivers it.
type asyncRead struct {
	op   *readOp
	ctx  context.Context
	rc   syscall.RawConn
	done func([]byte, TCPReadResponse, error)

	decision        // when decided, the fields below are final
	id       uint64 // reactor registration, 0 when not registered
	timer    *time.Timer
	stopCtx  func() bool
	data     []byte
	resp     TCPReadResponse
	err      error
}

// useReactor lets tests run reads of plain connections on goroutines too.
var useReactor = true

var scratchBufs = sync.Pool{New: func() any { return new([tcpReadChunk]byte) }}

// startAsync runs op without blocking: whatever is already readable is read
// at once; when more is needed the socket is handed to the reactor.
func (op *readOp) startAsync(ctx context.Context, rc syscall.RawConn, timeoutMS int, done func([]byte, TCPReadResponse, error)) {
	ar := &asyncRead{op: op, ctx: ctx, rc: rc, done: done}
	ar.locked(func() {
		// What is already buffered decides a read even after ctx ended,
		// as on the blocking path.
		if op.need() > 0 && ctx.Err() != nil {
			ar.finish(ctx.Err())
			return
		}
		if !ar.pump() {
			return
		}
		op.c.waiting.Store(ar)
		if timeoutMS > 0 {
			ar.timer = time.AfterFunc(time.Duration(timeoutMS)*time.Millisecond, func() { ar.fail(os.ErrDeadlineExceeded) })
		}
		if ctx.Done() != nil {
			ar.stopCtx = context.AfterFunc(ctx, func() { ar.fail(ctx.Err()) })
		}
		if err := theReactor.arm(ar); err != nil {
			ar.finish(err)
		}
	})
}

// decision serializes the events of a wait (a read, a connect) that may
// come from several goroutines at once: the first event that decides it
// (sets over) delivers it, once mu is released.
type decision struct {
	mu   sync.Mutex
	over bool // decided: the waiter's outcome is final
}

// decide runs f with mu held, unless the wait is decided already, and
// reports whether this call decided it. A panic in f, which would be a bug
// here, goes to failed (mu held; it must decide the wait) instead of
// killing the module instance or, on the reactor's goroutine, the process.
func (d *decision) decide(f func(), failed func(panicked any)) (decided bool) {
	d.mu.Lock()
	if d.over {
		d.mu.Unlock()
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			slog.Error("hostfuncs: internal error", "panic", r, "stack", string(debug.Stack()))
			failed(r)
		}
		decided = d.over
		d.mu.Unlock()
	}()
	f()
	return false
}

// locked runs f under the read's decision and delivers the read if f
// decided it.
func (ar *asyncRead) locked(f func()) {
	if ar.decide(f, ar.panicked) {
		ar.done(ar.data, ar.resp, ar.err)
	}
}

// panicked fails the read on an internal error. Called with mu held.
func (ar *asyncRead) panicked(r any) {
	ar.over = true
	ar.release()
	ar.data, ar.resp, ar.err = nil, TCPReadResponse{}, Errorf(CodeInvalid, "%s: internal error: %v", ar.op.doing, r)
	ar.op.c.reading.Store(false)
}

// pump reads what the socket has until the read is decided (false) or the
// socket has nothing more for now (true: wait for it). Called with mu held.
func (ar *asyncRead) pump() (wait bool) {
	for !ar.over {
		room := ar.op.need()
		if room == 0 {
			ar.finish(nil)
			return false
		}
		// Read into c.buf when it has room; otherwise into a scratch
		// buffer first, so that a read waiting for its first byte holds no
		// buffer at all.
		buf := ar.op.roomLeft(room)
		var scratch *[tcpReadChunk]byte
		if len(buf) == 0 {
			scratch = scratchBufs.Get().(*[tcpReadChunk]byte)
			buf = scratch[:min(room, tcpReadChunk)]
		}
		n, errno, err := rawRead(ar.rc, buf)
		switch {
		case err != nil:
			ar.finish(err)
		case errno == errAgain:
			wait = true
		case errno != nil:
			ar.finish(&net.OpError{Op: "read", Net: "tcp", Addr: ar.op.conn.RemoteAddr(), Err: os.NewSyscallError("read", errno)})
		case n == 0:
			ar.op.got(0, io.EOF)
		case scratch != nil:
			ar.op.c.buf = append(ar.op.c.buf, scratch[:n]...)
		default:
			ar.op.got(n, nil)
		}
		if scratch != nil {
			scratchBufs.Put(scratch)
		}
		if wait {
			return true
		}
	}
	return false
}

// ready is the reactor's call when the socket is readable (or closed, or in
// error): read on, then wait again or deliver.
func (ar *asyncRead) ready() {
	ar.locked(func() {
		if ar.pump() {
			if err := theReactor.rearm(ar); err != nil {
				ar.finish(err)
			}
		}
	})
}

// fail ends the read with err unless it has already ended.
func (ar *asyncRead) fail(err error) {
	ar.locked(func() { ar.finish(err) })
}

// finish decides the read with ioErr (nil: need said it is complete) and
// releases everything it held. Called with mu held.
func (ar *asyncRead) finish(ioErr error) {
	if ar.over {
		return
	}
	ar.over = true
	ar.release()
	ar.data, ar.resp, ar.err = ar.op.end(ar.ctx, ioErr)
	ar.op.c.reading.Store(false)
}

// release lets go of the timer, the context and the reactor. Idempotent;
// called with mu held.
func (ar *asyncRead) release() {
	if ar.timer != nil {
		ar.timer.Stop()
	}
	if ar.stopCtx != nil {
		ar.stopCtx()
	}
	if ar.id != 0 {
		theReactor.remove(ar)
	}
	ar.op.c.waiting.CompareAndSwap(ar, nil)
}
