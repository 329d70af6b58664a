package hostfuncs

import (
	"context"
	"io"
	"net"
	"os"
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

	mu        sync.Mutex
	over      bool // decided: the fields below are final
	delivered bool
	id        uint64 // reactor registration, 0 when not registered
	timer     *time.Timer
	stopCtx   func() bool
	data      []byte
	resp      TCPReadResponse
	err       error
}

// useReactor lets tests run reads of plain connections on goroutines too.
var useReactor = true

var scratchBufs = sync.Pool{New: func() any { return new([tcpReadChunk]byte) }}

// startAsync runs op without blocking: whatever is already readable is read
// at once; when more is needed the socket is handed to the reactor.
func (op *readOp) startAsync(ctx context.Context, rc syscall.RawConn, timeoutMS int, done func([]byte, TCPReadResponse, error)) {
	ar := &asyncRead{op: op, ctx: ctx, rc: rc, done: done}
	ar.mu.Lock()
	// A deadline left by an earlier blocking call would make every raw
	// read fail; the reactor's timer bounds this read instead.
	op.conn.SetReadDeadline(time.Time{})
	if err := ctx.Err(); err != nil {
		ar.finish(err)
	} else if ar.pump() {
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
	}
	ar.unlockAndDeliver()
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
		if scratch != nil {
			if n > 0 {
				copy(ar.op.space(n), scratch[:n])
			}
			scratchBufs.Put(scratch)
		}
		switch {
		case err != nil:
			ar.finish(err)
		case errno == errAgain:
			return true
		case errno != nil:
			ar.finish(&net.OpError{Op: "read", Net: "tcp", Addr: ar.op.conn.RemoteAddr(), Err: os.NewSyscallError("read", errno)})
		case n == 0:
			ar.op.got(0, io.EOF)
		default:
			ar.op.got(n, nil)
		}
	}
	return false
}

// ready is the reactor's call when the socket is readable (or closed, or in
// error): read on, then wait again or deliver.
func (ar *asyncRead) ready() {
	ar.mu.Lock()
	if !ar.over && ar.pump() {
		if err := theReactor.rearm(ar); err != nil {
			ar.finish(err)
		}
	}
	ar.unlockAndDeliver()
}

// fail ends the read with err unless it has already ended.
func (ar *asyncRead) fail(err error) {
	ar.mu.Lock()
	ar.finish(err)
	ar.unlockAndDeliver()
}

// finish decides the read with ioErr (nil: need said it is complete) and
// releases everything it held. Called with mu held.
func (ar *asyncRead) finish(ioErr error) {
	if ar.over {
		return
	}
	ar.over = true
	if ar.timer != nil {
		ar.timer.Stop()
	}
	if ar.stopCtx != nil {
		ar.stopCtx()
	}
	if ar.id != 0 {
		theReactor.remove(ar)
	}
	c := ar.op.c
	c.waiting.CompareAndSwap(ar, nil)
	ar.data, ar.resp, ar.err = ar.op.end(ar.ctx, ioErr)
	c.reading.Store(false)
}

// unlockAndDeliver releases mu and, the first time the read is decided,
// calls done outside the lock.
func (ar *asyncRead) unlockAndDeliver() {
	deliver := ar.over && !ar.delivered
	ar.delivered = ar.delivered || deliver
	ar.mu.Unlock()
	if deliver {
		ar.done(ar.data, ar.resp, ar.err)
	}
}
