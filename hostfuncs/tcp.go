package hostfuncs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Read modes of TCPReadRequest.Mode. A check picks the one that matches how
// the protocol frames its replies, so that it never has to loop over raw reads
// itself.
const (
	TCPReadN       = "n"       // exactly N bytes
	TCPReadUntil   = "until"   // up to and including the first Delim
	TCPReadLine    = "line"    // until with Delim "\n"
	TCPReadAny     = "any"     // whatever arrives first, at least one byte (the default)
	TCPReadTimeout = "timeout" // everything that arrives until TimeoutMS elapses
	TCPReadEOF     = "eof"     // everything until the peer closes
)

// tcpDefaultMaxBytes caps a read when TCPReadRequest.MaxBytes is zero.
const tcpDefaultMaxBytes = 64 << 10

// tcpReadChunk is the most a single read syscall asks for.
const tcpReadChunk = 16 << 10

// tcpFirstRead is the room a read starts with. Reads go straight into the
// connection's own buffer, which grows geometrically from here, so that
// thousands of checks parked waiting for a banner pin a few hundred bytes
// each rather than a 16 KiB scratch buffer.
const tcpFirstRead = 512

// TCPConnectRequest opens a TCP connection, optionally with implicit TLS
// right after the connect (SMTPS on 465, IMAPS on 993, ...).
type TCPConnectRequest struct {
	Address   string      `json:"address"`              // host:port
	TimeoutMS int         `json:"timeout_ms,omitempty"` // bounds name resolution, connect and the TLS handshake together
	TLS       *TLSOptions `json:"tls,omitempty"`        // implicit TLS; nil for plain TCP
}

// TCPConnectResponse reports how the connection was made.
type TCPConnectResponse struct {
	Remote    string   `json:"remote"`        // resolved ip:port actually connected to
	Local     string   `json:"local"`         // local ip:port
	ConnectMS float64  `json:"connect_ms"`    // name resolution plus TCP handshake
	TLS       *TLSInfo `json:"tls,omitempty"` // set when TLS was requested, also when its verification failed
}

// TCPReadRequest says how much to read and when to stop. Every mode is
// bounded by MaxBytes and by TimeoutMS (and the context).
//
// Outcomes per mode:
//   - n, until, line: running out of time is an error (code timeout), reaching
//     MaxBytes first is an error (code limit), the peer closing first is an
//     error (code eof);
//   - any: running out of time is an error (timeout), the peer having closed
//     with nothing left to read is an error (eof);
//   - timeout: running out of time is the normal end (TimedOut set, no error);
//     so are the peer closing (EOF) and the peer sending more than MaxBytes
//     (Truncated);
//   - eof: the peer closing is the normal end, the peer sending more than
//     MaxBytes sets Truncated without an error, running out of time is an
//     error (timeout). Exactly MaxBytes followed by the close is EOF, not
//     Truncated.
//
// With an error the bytes received so far are returned too, so that a check
// can show what the service said. Returned bytes are consumed; bytes received
// beyond what a read returns stay buffered for the next read.
type TCPReadRequest struct {
	Mode      string `json:"mode,omitempty"`       // n, until, line, any (default), timeout, eof
	N         int    `json:"n,omitempty"`          // mode n: the byte count, at most MaxBytes
	Delim     string `json:"delim,omitempty"`      // mode until: the delimiter, returned with the data
	MaxBytes  int    `json:"max_bytes,omitempty"`  // cap on the bytes returned; 0 means 64 KiB
	TimeoutMS int    `json:"timeout_ms,omitempty"` // 0 means only the context deadline
}

// TCPReadResponse describes how a read ended.
type TCPReadResponse struct {
	N         int     `json:"n"`         // bytes returned
	EOF       bool    `json:"eof"`       // the peer has closed and everything it sent has been returned
	TimedOut  bool    `json:"timed_out"` // the read ended because time ran out
	Truncated bool    `json:"truncated"` // the peer sent more than MaxBytes (modes timeout and eof)
	ReadMS    float64 `json:"read_ms"`
}

// TCPWriteResponse describes a write.
type TCPWriteResponse struct {
	N       int     `json:"n"` // bytes written, also when the write failed part way
	WriteMS float64 `json:"write_ms"`
}

// TCPConn is an open TCP (or TLS-over-TCP) connection. One Read and one Write
// may run at the same time, so that a check can send while it waits for a
// reply; a second concurrent Read (or Write) fails with code invalid rather
// than interleaving data. Close may be called at any time and interrupts both.
type TCPConn struct {
	addr   string // as requested, host:port
	host   string // host part of addr, the default TLS server name
	remote string
	local  string

	mu     sync.Mutex // guards conn and closed against Close and StartTLS
	conn   net.Conn   // *net.TCPConn or *tls.Conn
	tls    bool
	closed atomic.Bool

	reading atomic.Bool
	writing atomic.Bool

	// Owned by the holder of reading.
	buf []byte // received but not yet returned
	eof bool   // the peer closed its side

	waiting atomic.Pointer[asyncRead] // a read parked in the reactor, for Close
}

// TCPConnect opens a TCP connection to req.Address and, when req.TLS is set,
// performs a TLS handshake under its verification rule. On a TLS failure the
// connection is closed and the response still describes the presented chain.
// It is TCPConnectAsync waited for, the waits that need a goroutine on the
// caller's.
func TCPConnect(ctx context.Context, req TCPConnectRequest) (*TCPConn, TCPConnectResponse, error) {
	return await(func(done func(*TCPConn, TCPConnectResponse, error)) {
		tcpConnect(ctx, req, inline, func(c *TCPConn, resp TCPConnectResponse, err error, _ bool) { done(c, resp, err) })
	})
}

// handshake is TCPConnect's implicit TLS on the new connection c, bounded
// by ctx; on failure c is closed.
func (c *TCPConn) handshake(ctx context.Context, req TCPConnectRequest, resp TCPConnectResponse) (*TCPConn, TCPConnectResponse, error) {
	raw := c.conn
	info, tc, err := Handshake(ctx, raw, c.host, *req.TLS)
	if err != nil {
		raw.Close()
		if info.Version != "" || len(info.Chain) > 0 {
			resp.TLS = &info
		}
		return nil, resp, err
	}
	resp.TLS = &info
	c.conn, c.tls = tc, true
	return c, resp, nil
}

// Remote returns the ip:port the connection is made to.
func (c *TCPConn) Remote() string { return c.remote }

// Close closes the connection. It is safe to call more than once and from any
// goroutine; a Read or Write in progress returns with code canceled. It always
// returns nil: once a check is done with a connection, failing to say goodbye
// (a TLS close_notify to a peer that already left) is not a fact worth
// reporting.
func (c *TCPConn) Close() error {
	c.mu.Lock()
	if c.closed.Swap(true) {
		c.mu.Unlock()
		return nil
	}
	c.conn.Close()
	c.mu.Unlock()
	if ar := c.waiting.Load(); ar != nil {
		// Closing the socket took it out of the reactor; end the read.
		ar.fail(net.ErrClosed)
	}
	return nil
}

// current returns the connection to use, or an error if it was closed.
func (c *TCPConn) current(doing string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, Errorf(CodeInvalid, "%s: connection is closed", doing)
	}
	return c.conn, nil
}

// Write sends data. The context bounds the write; canceling it interrupts a
// write blocked on a full send buffer.
func (c *TCPConn) Write(ctx context.Context, data []byte) (TCPWriteResponse, error) {
	var resp TCPWriteResponse
	doing := "write to " + c.remote
	if !c.writing.CompareAndSwap(false, true) {
		return resp, Errorf(CodeInvalid, "%s: another write is in progress on this connection", doing)
	}
	defer c.writing.Store(false)
	conn, err := c.current(doing)
	if err != nil {
		return resp, err
	}
	if err := ctx.Err(); err != nil {
		return resp, c.opFailure(ctx, err, doing, "0 bytes written")
	}
	disarm := armDeadline(ctx, conn.SetWriteDeadline)
	start := time.Now()
	n, err := conn.Write(data)
	resp.WriteMS = durationMS(time.Since(start))
	disarm()
	resp.N = n
	if err != nil {
		return resp, c.opFailure(ctx, err, doing, fmt.Sprintf("%d of %d bytes written", n, len(data)))
	}
	return resp, nil
}

// Read reads according to req.Mode; see TCPReadRequest for the modes and how
// each one ends. It blocks until the read ends; ReadAsync is the same read
// without a goroutine waiting for it.
func (c *TCPConn) Read(ctx context.Context, req TCPReadRequest) ([]byte, TCPReadResponse, error) {
	return await(func(done func([]byte, TCPReadResponse, error)) { c.ReadAsync(ctx, req, done) })
}

// await runs an asynchronous operation and waits for its outcome.
func await[A, B any](start func(done func(A, B, error))) (A, B, error) {
	type outcome struct {
		a   A
		b   B
		err error
	}
	ch := make(chan outcome, 1)
	start(func(a A, b B, err error) { ch <- outcome{a, b, err} })
	o := <-ch
	return o.a, o.b, o.err
}

// ReadAsync is Read without a goroutine parked on the connection while it
// waits: on Linux a plain TCP connection's read waits in the package's epoll
// reactor, so that ten thousand checks waiting for a banner cost a few
// hundred bytes each instead of a goroutine stack each. TLS connections (and
// other platforms) fall back to a goroutine running the read.
//
// done is called exactly once with what Read would return: maybe before
// ReadAsync returns, maybe on the reactor's goroutine, so it must not block.
func (c *TCPConn) ReadAsync(ctx context.Context, req TCPReadRequest, done func([]byte, TCPReadResponse, error)) {
	op, err := c.beginRead(req)
	if err != nil {
		done(nil, TCPReadResponse{}, err)
		return
	}
	if rc := reactorConn(op.conn); rc != nil {
		op.startAsync(ctx, rc, req.TimeoutMS, done)
		return
	}
	go func() { done(op.block(ctx, req.TimeoutMS)) }()
}

// block runs the read on the calling goroutine, each read syscall bounded by
// the connection's read deadline, and releases the read slot.
func (op *readOp) block(ctx context.Context, timeoutMS int) ([]byte, TCPReadResponse, error) {
	defer op.c.reading.Store(false)
	ctx, cancel := withTimeout(ctx, timeoutMS)
	defer cancel()
	var disarm func()
	var ioErr error
	for room := op.need(); room > 0; room = op.need() {
		if disarm == nil {
			disarm = armDeadline(ctx, op.conn.SetReadDeadline)
		}
		if ioErr = ctx.Err(); ioErr != nil {
			break
		}
		n, err := op.conn.Read(op.space(room))
		if ioErr = op.got(n, err); ioErr != nil {
			break
		}
	}
	if disarm != nil {
		disarm()
	}
	return op.end(ctx, ioErr)
}

// readOp is one read in progress, shared by the blocking and the
// asynchronous path: need says whether it wants more bytes, space and got
// take them in, end decides what it returns.
type readOp struct {
	c        *TCPConn
	conn     net.Conn
	mode     string
	n        int
	delim    []byte
	maxBytes int
	scanned  int // modes until and line: c.buf[:scanned] holds no delimiter
	doing    string
	start    time.Time
}

// beginRead validates req and takes the connection's read slot; the caller
// releases it (c.reading) after end.
func (c *TCPConn) beginRead(req TCPReadRequest) (*readOp, error) {
	mode, delim, err := req.check()
	doing := readDoing(mode, req, delim, c.remote)
	if err != nil {
		return nil, err
	}
	maxBytes := req.MaxBytes
	if maxBytes == 0 {
		maxBytes = tcpDefaultMaxBytes
	}
	if mode == TCPReadN && req.N > maxBytes {
		return nil, Errorf(CodeLimit, "%s: %d bytes exceed max_bytes %d", doing, req.N, maxBytes)
	}
	if !c.reading.CompareAndSwap(false, true) {
		return nil, Errorf(CodeInvalid, "%s: another read is in progress on this connection", doing)
	}
	conn, err := c.current(doing)
	if err != nil {
		c.reading.Store(false)
		return nil, err
	}
	return &readOp{c: c, conn: conn, mode: mode, n: req.N, delim: delim, maxBytes: maxBytes, doing: doing, start: time.Now()}, nil
}

// need returns how many more bytes the read may take in, or 0 when what is
// buffered (or the peer's close) already decides it.
func (op *readOp) need() int {
	c := op.c
	switch op.mode {
	case TCPReadN:
		if len(c.buf) < op.n && !c.eof {
			return op.n - len(c.buf)
		}
	case TCPReadUntil, TCPReadLine:
		if bytes.Contains(c.buf[op.scanned:], op.delim) || len(c.buf) >= op.maxBytes || c.eof {
			return 0
		}
		op.scanned = max(0, len(c.buf)-len(op.delim)+1)
		return op.maxBytes - len(c.buf)
	case TCPReadAny:
		if len(c.buf) == 0 && !c.eof {
			return op.maxBytes
		}
	case TCPReadTimeout, TCPReadEOF:
		// One byte more than the cap tells a stream that went on past it
		// (Truncated) from one that ended exactly there; the byte stays
		// buffered for the next read.
		if len(c.buf) <= op.maxBytes && !c.eof {
			return op.maxBytes + 1 - len(c.buf)
		}
	}
	return 0
}

// space returns where one read syscall of at most room bytes goes: the free
// end of c.buf, grown geometrically from tcpFirstRead.
func (op *readOp) space(room int) []byte {
	c := op.c
	want := min(room, tcpReadChunk)
	if free := cap(c.buf) - len(c.buf); free < want {
		grow := max(cap(c.buf), tcpFirstRead)
		nb := make([]byte, len(c.buf), len(c.buf)+min(want, max(grow, free)))
		copy(nb, c.buf)
		c.buf = nb
	}
	end := len(c.buf) + min(want, cap(c.buf)-len(c.buf))
	return c.buf[len(c.buf):end]
}

// roomLeft is the free end of c.buf, at most room bytes, without growing it.
func (op *readOp) roomLeft(room int) []byte {
	c := op.c
	return c.buf[len(c.buf):min(cap(c.buf), len(c.buf)+min(room, tcpReadChunk))]
}

// got records a read of n bytes into space; the peer's clean close sets
// c.eof and is not an error.
func (op *readOp) got(n int, err error) error {
	op.c.buf = op.c.buf[:len(op.c.buf)+max(n, 0)]
	if errors.Is(err, io.EOF) {
		op.c.eof = true
		return nil
	}
	return err
}

// end decides the read's outcome once need returned 0 or ioErr stopped it,
// and consumes the returned bytes from c.buf.
func (op *readOp) end(ctx context.Context, ioErr error) ([]byte, TCPReadResponse, error) {
	c := op.c
	var (
		resp   TCPReadResponse
		take   int   // bytes to return
		result error // already decided outcome
	)
	switch op.mode {
	case TCPReadN:
		take = min(len(c.buf), op.n)
		if take < op.n && ioErr == nil {
			result = Errorf(CodeEOF, "%s: connection closed by peer after %d bytes", op.doing, take)
		}
	case TCPReadUntil, TCPReadLine:
		i := bytes.Index(c.buf[op.scanned:], op.delim)
		switch {
		case ioErr != nil:
			take = len(c.buf)
		case i >= 0 && op.scanned+i+len(op.delim) <= op.maxBytes:
			take = op.scanned + i + len(op.delim)
		case i >= 0 || len(c.buf) >= op.maxBytes:
			take = op.maxBytes
			result = Errorf(CodeLimit, "%s: no %q within max_bytes %d", op.doing, op.delim, op.maxBytes)
		default: // the peer closed
			take = len(c.buf)
			result = Errorf(CodeEOF, "%s: connection closed by peer after %d bytes without %q", op.doing, take, op.delim)
		}
	case TCPReadAny:
		take = min(len(c.buf), op.maxBytes)
		if take > 0 {
			ioErr = nil
		} else if ioErr == nil {
			result = Errorf(CodeEOF, "%s: connection closed by peer", op.doing)
		}
	case TCPReadTimeout, TCPReadEOF:
		take = min(len(c.buf), op.maxBytes)
		resp.Truncated = len(c.buf) > op.maxBytes
	}
	resp.ReadMS = durationMS(time.Since(op.start))

	data := c.buf[:take:take]
	if rest := c.buf[take:]; len(rest) > 0 {
		c.buf = bytes.Clone(rest)
	} else {
		c.buf = nil
	}
	resp.N = take
	resp.EOF = c.eof && len(c.buf) == 0

	if result == nil && ioErr != nil {
		timedOut := isTimeout(ioErr) && !errors.Is(ctx.Err(), context.Canceled) && !c.closed.Load()
		switch {
		case timedOut && op.mode == TCPReadTimeout:
			resp.TimedOut = true
		case timedOut:
			resp.TimedOut = true
			result = &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: timed out after %s (%d bytes received)", op.doing, roundDuration(time.Since(op.start)), take), Err: ioErr}
		default:
			result = c.opFailure(ctx, ioErr, op.doing, fmt.Sprintf("%d bytes received", take))
		}
	}
	return data, resp, result
}

// check validates a read request and returns its mode and delimiter.
func (r TCPReadRequest) check() (string, []byte, error) {
	mode := r.Mode
	if mode == "" {
		mode = TCPReadAny
	}
	if r.MaxBytes < 0 {
		return mode, nil, Errorf(CodeInvalid, "read: max_bytes %d is negative", r.MaxBytes)
	}
	if r.TimeoutMS < 0 {
		return mode, nil, Errorf(CodeInvalid, "read: timeout_ms %d is negative", r.TimeoutMS)
	}
	switch mode {
	case TCPReadN:
		if r.N <= 0 {
			return mode, nil, Errorf(CodeInvalid, "read mode n: n must be positive, got %d", r.N)
		}
	case TCPReadUntil:
		if r.Delim == "" {
			return mode, nil, Errorf(CodeInvalid, "read mode until: delim is empty")
		}
		return mode, []byte(r.Delim), nil
	case TCPReadLine:
		return mode, []byte("\n"), nil
	case TCPReadAny, TCPReadEOF:
	case TCPReadTimeout:
		if r.TimeoutMS == 0 {
			return mode, nil, Errorf(CodeInvalid, "read mode timeout: timeout_ms must be positive")
		}
	default:
		return mode, nil, Errorf(CodeInvalid, "read: unknown mode %q (want n, until, line, any, timeout or eof)", r.Mode)
	}
	return mode, nil, nil
}

// readDoing names a read for error messages, e.g. `read line from 127.0.0.1:25`.
func readDoing(mode string, r TCPReadRequest, delim []byte, remote string) string {
	switch mode {
	case TCPReadN:
		return fmt.Sprintf("read %d bytes from %s", r.N, remote)
	case TCPReadUntil:
		return fmt.Sprintf("read until %q from %s", delim, remote)
	case TCPReadLine:
		return "read line from " + remote
	case TCPReadEOF:
		return "read to end of stream from " + remote
	}
	return "read from " + remote
}

// StartTLS upgrades the connection to TLS in place (SMTP STARTTLS, IMAP
// STARTTLS, ...). The server name defaults to the host part of the connect
// address. Bytes already received and not yet read are an error (code
// protocol): they arrived in plaintext after the server's go-ahead, which is
// the STARTTLS command-injection attack. No Read or Write may be in progress.
// On a handshake failure the connection is closed, since its stream is then in
// an unknown state; the returned TLSInfo still describes the presented chain.
func (c *TCPConn) StartTLS(ctx context.Context, o TLSOptions) (TLSInfo, error) {
	doing := "starttls with " + c.remote
	if !c.reading.CompareAndSwap(false, true) {
		return TLSInfo{}, Errorf(CodeInvalid, "%s: a read is in progress on this connection", doing)
	}
	defer c.reading.Store(false)
	if !c.writing.CompareAndSwap(false, true) {
		return TLSInfo{}, Errorf(CodeInvalid, "%s: a write is in progress on this connection", doing)
	}
	defer c.writing.Store(false)
	conn, err := c.current(doing)
	if err != nil {
		return TLSInfo{}, err
	}
	if c.tls {
		return TLSInfo{}, Errorf(CodeInvalid, "%s: the connection already uses TLS", doing)
	}
	if len(c.buf) > 0 {
		return TLSInfo{}, Errorf(CodeProtocol, "%s: %d bytes of plaintext were received after the server's reply and before the handshake (%q); refusing to upgrade", doing, len(c.buf), preview(c.buf))
	}
	if c.eof {
		return TLSInfo{}, Errorf(CodeEOF, "%s: connection closed by peer", doing)
	}
	// Clear deadlines left by earlier reads and writes; the handshake is
	// bounded by ctx.
	conn.SetDeadline(time.Time{})
	info, tc, err := Handshake(ctx, conn, c.host, o)
	if err != nil {
		c.Close()
		return info, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		tc.Close()
		return info, Errorf(CodeCanceled, "%s: connection was closed during the handshake", doing)
	}
	c.conn, c.tls = tc, true
	return info, nil
}

// preview shortens data for an error message.
func preview(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// armDeadline applies ctx's deadline through set (SetReadDeadline or
// SetWriteDeadline) and moves it into the past when ctx is canceled, so that
// a blocked call returns promptly. The returned function detaches from ctx and
// waits for a concurrently firing cancellation to finish, so that it cannot
// spoil the deadline of a later call.
func armDeadline(ctx context.Context, set func(time.Time) error) (disarm func()) {
	dl, _ := ctx.Deadline()
	set(dl)
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		set(time.Unix(1, 0))
		close(done)
	})
	return func() {
		if !stop() {
			<-done
		}
	}
}

// opFailure classifies an error of a Read or Write on c.
func (c *TCPConn) opFailure(ctx context.Context, err error, doing, progress string) *Error {
	if c.closed.Load() {
		return &Error{Code: CodeCanceled, Message: fmt.Sprintf("%s: connection was closed (%s)", doing, progress), Err: err}
	}
	e := netFailure(ctx, err, doing)
	e.Message += " (" + progress + ")"
	return e
}

// netFailure turns an error of the net package into an *Error whose message
// names the operation and the cause without Go's internal layering, e.g.
// "connect 127.0.0.1:9: connection refused" instead of "dial tcp
// 127.0.0.1:9: connect: connection refused". When ctx has ended, its reason
// (timeout or canceled) wins over the I/O error it provoked.
func netFailure(ctx context.Context, err error, doing string) *Error {
	var ze *Error
	if errors.As(err, &ze) {
		return Wrap(ze, doing)
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return &Error{Code: CodeCanceled, Message: doing + ": canceled", Err: err}
	case ctx.Err() != nil || isTimeout(err):
		return &Error{Code: CodeTimeout, Message: doing + ": timed out", Err: err}
	}
	cause := err
	var op *net.OpError
	if errors.As(cause, &op) {
		cause = op.Err
	}
	var sc *os.SyscallError
	if errors.As(cause, &sc) {
		cause = sc.Err
	}
	return &Error{Code: Classify(err), Message: doing + ": " + cause.Error(), Err: err}
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// roundDuration makes a duration readable in a message.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
