package hostfuncs

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// TCPConnectAsync is TCPConnect without the caller waiting. A connect waits
// on a goroutine of its own (the net package's dialer) while fewer than
// maxDialGoroutines do; beyond that, on Linux, it waits in the package's
// epoll reactor, where it holds no goroutine (a host name is resolved on a
// goroutine first; its addresses are then tried one after another, each
// given an equal share of the time left, at least 2 s, as the net package's
// dialer does without its "happy eyeballs" race). Either way a later
// ReadAsync of the connection waits in the reactor. TLS, when requested,
// runs its handshake on a goroutine.
//
// done is called exactly once with what TCPConnect would return: maybe
// before TCPConnectAsync returns, maybe on the reactor's goroutine, so it
// must not block.
func TCPConnectAsync(ctx context.Context, req TCPConnectRequest, done func(*TCPConn, TCPConnectResponse, error)) {
	tcpConnect(ctx, req, goIO, func(c *TCPConn, resp TCPConnectResponse, err error, _ bool) { done(c, resp, err) })
}

// runOn says where the blocking parts of a connect run (a connect waiting
// on a goroutine, name resolution, the TLS handshake): goIO for the
// asynchronous calls, inline (the caller's goroutine) for the synchronous.
type runOn func(func())

func inline(f func()) { f() }

// tcpConnect is TCPConnectAsync; done's owned says it runs on a goroutine
// of run's that the connect no longer needs.
func tcpConnect(ctx context.Context, req TCPConnectRequest, run runOn, done func(*TCPConn, TCPConnectResponse, error, bool)) {
	startDial(ctx, req, run, func(dl *tcpDial, got dialed, err error) {
		resp := TCPConnectResponse{ConnectMS: durationMS(time.Since(dl.start))}
		var raw net.Conn
		if err == nil {
			raw, err = got.netConn()
		}
		if err != nil {
			done(nil, resp, netFailure(ctx, err, "connect "+req.Address), dl.owned)
			return
		}
		c := &TCPConn{addr: req.Address, host: dl.host, remote: got.remote, local: got.local, conn: raw}
		resp.Remote, resp.Local = c.remote, c.local
		if req.TLS == nil {
			done(c, resp, nil, dl.owned)
			return
		}
		handshake := func() {
			hctx, cancel := dl.bounded()
			c, resp, err := c.handshake(hctx, req, resp)
			cancel()
			done(c, resp, err, true)
		}
		if dl.owned {
			handshake() // on the goroutine that dialed
		} else {
			goIO(handshake) // never on the reactor's
		}
	})
}

// TCPProbe connects to req.Address and closes the connection at once: the
// connect-only check ("is the port open"). The response is TCPConnect's. A
// plain probe that waited in the reactor never becomes a Go net.Conn; with
// req.TLS set the handshake is part of the probe.
func TCPProbe(ctx context.Context, req TCPConnectRequest) (TCPConnectResponse, error) {
	resp, _, err := await(func(done func(TCPConnectResponse, struct{}, error)) {
		tcpProbe(ctx, req, inline, func(resp TCPConnectResponse, err error, _ bool) { done(resp, struct{}{}, err) })
	})
	return resp, err
}

// TCPProbeAsync is TCPProbe without a goroutine waiting for it; done is
// called as TCPConnectAsync's is.
func TCPProbeAsync(ctx context.Context, req TCPConnectRequest, done func(TCPConnectResponse, error)) {
	tcpProbe(ctx, req, goIO, func(resp TCPConnectResponse, err error, _ bool) { done(resp, err) })
}

// tcpProbe is TCPProbeAsync; done's owned as tcpConnect's.
func tcpProbe(ctx context.Context, req TCPConnectRequest, run runOn, done func(TCPConnectResponse, error, bool)) {
	if req.TLS != nil {
		tcpConnect(ctx, req, run, func(c *TCPConn, resp TCPConnectResponse, err error, owned bool) {
			if c != nil {
				c.Close()
			}
			done(resp, err, owned)
		})
		return
	}
	startDial(ctx, req, run, func(dl *tcpDial, got dialed, err error) {
		resp := TCPConnectResponse{ConnectMS: durationMS(time.Since(dl.start))}
		if err != nil {
			done(resp, netFailure(ctx, err, "connect "+req.Address), dl.owned)
			return
		}
		got.close()
		resp.Remote, resp.Local = got.remote, got.local
		done(resp, nil, dl.owned)
	})
}

// dialed is an established connection: a socket of the reactor's connect,
// or the net package's connection where there is no reactor.
type dialed struct {
	fd            int      // the connected socket; -1 when conn is set
	conn          net.Conn // set by the net package's dialer
	remote, local string   // ip:port
}

// netConn makes the connection a net.Conn, which owns it from then on.
func (d dialed) netConn() (net.Conn, error) {
	if d.conn != nil {
		return d.conn, nil
	}
	return fdConn(d.fd)
}

func (d dialed) close() {
	if d.conn != nil {
		d.conn.Close()
		return
	}
	closeFD(d.fd)
}

// tcpDial is one connect request: its addresses are tried in order, each
// through dialRaw.
type tcpDial struct {
	ctx      context.Context
	host     string
	port     uint16
	start    time.Time
	deadline time.Time // the earlier of req.TimeoutMS from start and ctx's; zero: none
	addrs    []netip.Addr
	next     int
	firstErr error
	owned    bool // done runs on the goroutine that waited for the connect
	// ownDeadline: deadline is the request's, earlier than ctx's (a child
	// context must carry it); else it is ctx's own, or zero.
	ownDeadline bool
	done        func(dl *tcpDial, got dialed, err error)
}

// startDial validates req and connects to its address; done gets the
// connected socket (which it owns) or the first error. Without a reactor
// the connect runs on a goroutine of its own through the net package.
func startDial(ctx context.Context, req TCPConnectRequest, run runOn, done func(dl *tcpDial, got dialed, err error)) {
	dl := &tcpDial{ctx: ctx, start: time.Now(), done: done}
	host, port, err := net.SplitHostPort(req.Address)
	if err != nil {
		done(dl, dialed{}, Errorf(CodeInvalid, "address %q: %v", req.Address, err))
		return
	}
	if req.TimeoutMS < 0 {
		done(dl, dialed{}, Errorf(CodeInvalid, "timeout_ms %d is negative", req.TimeoutMS))
		return
	}
	dl.host = host
	if req.TimeoutMS > 0 {
		dl.deadline = dl.start.Add(time.Duration(req.TimeoutMS) * time.Millisecond)
		dl.ownDeadline = true
	}
	if ctxDL, ok := ctx.Deadline(); ok && (dl.deadline.IsZero() || ctxDL.Before(dl.deadline)) {
		dl.deadline, dl.ownDeadline = ctxDL, false
	}
	blocking := func() {
		got, err := dl.dialBlocking(req.Address)
		dl.owned = true
		dl.done(dl, got, err)
	}
	if !reactorWorks() || host == "" {
		// No reactor; or no host, which the net package takes as this
		// machine.
		run(blocking)
		return
	}
	if dialGoroutines.Add(1) <= maxDialGoroutines {
		run(func() {
			defer dialGoroutines.Add(-1)
			blocking()
		})
		return
	}
	dialGoroutines.Add(-1)
	rawDials.Add(1)
	if ip, err := netip.ParseAddr(host); err == nil {
		dl.addrs = []netip.Addr{ip.Unmap()}
	}
	p, portErr := strconv.ParseUint(port, 10, 16)
	dl.port = uint16(p)
	if dl.addrs != nil && portErr == nil {
		dl.try()
		return
	}
	// A name, or a named port: resolve on a goroutine, then connect.
	run(func() {
		if err := dl.resolve(host, port, portErr == nil); err != nil {
			dl.done(dl, dialed{}, err)
			return
		}
		dl.try()
	})
}

// resolve looks up what startDial could not parse, the port (unless
// havePort) and the addresses, bounded by the deadline.
func (dl *tcpDial) resolve(host, port string, havePort bool) error {
	ctx, cancel := dl.bounded()
	defer cancel()
	if !havePort {
		p, err := net.DefaultResolver.LookupPort(ctx, "tcp", port)
		if err != nil {
			return err
		}
		dl.port = uint16(p)
	}
	if dl.addrs != nil {
		return nil
	}
	addrs, err := lookupIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	dl.addrs = addrs
	return nil
}

// lookupIP resolves host names (a variable for tests).
var lookupIP = net.DefaultResolver.LookupNetIP

// bounded is dl's context bounded by its deadline.
func (dl *tcpDial) bounded() (context.Context, context.CancelFunc) {
	if dl.ownDeadline {
		return context.WithDeadline(dl.ctx, dl.deadline)
	}
	return dl.ctx, func() {}
}

// rawDials counts the connects that waited in the reactor (for tests).
var rawDials atomic.Int64

// try connects to the next address.
func (dl *tcpDial) try() {
	ap := netip.AddrPortFrom(dl.addrs[dl.next], dl.port)
	left := len(dl.addrs) - dl.next
	dl.next++
	deadline, err := partialDeadline(time.Now(), dl.deadline, left)
	if err != nil {
		dl.tried(ap, -1, netip.AddrPort{}, err)
		return
	}
	dialRaw(dl.ctx, ap, deadline, func(fd int, local netip.AddrPort, err error) { dl.tried(ap, fd, local, err) })
}

// tried takes an attempt's outcome: done on success, on the context's end
// or after the last address (with the first error), else the next address.
func (dl *tcpDial) tried(ap netip.AddrPort, fd int, local netip.AddrPort, err error) {
	if err == nil {
		dl.done(dl, dialed{fd: fd, remote: ap.String(), local: local.String()}, nil)
		return
	}
	if dl.firstErr == nil {
		dl.firstErr = err
	}
	if dl.next >= len(dl.addrs) || dl.ctx.Err() != nil || (!dl.deadline.IsZero() && !time.Now().Before(dl.deadline)) {
		if dl.ctx.Err() != nil || isTimeout(err) {
			dl.firstErr = err // the time ran out: say so rather than an earlier address's refusal
		}
		dl.done(dl, dialed{}, dl.firstErr)
		return
	}
	dl.try()
}

// partialDeadline is the deadline of one of addrsRemaining attempts: an
// equal share of the time left, at least 2 s (the net package's rule).
func partialDeadline(now, deadline time.Time, addrsRemaining int) (time.Time, error) {
	if deadline.IsZero() {
		return deadline, nil
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return time.Time{}, os.ErrDeadlineExceeded
	}
	share := left / time.Duration(addrsRemaining)
	const saneMinimum = 2 * time.Second
	if share < saneMinimum {
		share = min(left, saneMinimum)
	}
	return now.Add(share), nil
}

// dialGoroutines counts the connects waiting on goroutines of their own
// (dialBlocking), plus one for a moment per connect deciding where to wait.
var dialGoroutines atomic.Int32

// maxDialGoroutines is how many connects wait on goroutines of their own
// before further ones wait in the reactor. A connect on its own goroutine,
// through the net package, returns soonest when the machine is busy (the
// goroutine that sees the connection finish runs the check on), but holds
// a goroutine stack of 8-16 KiB until the connect ends; in the reactor it
// holds a few hundred bytes. So a burst of 10,000 connects, or connects to
// targets that drop SYNs until the deadline, cost at most this many stacks.
var maxDialGoroutines int32 = 256

// dialBlocking connects through the net package on the calling goroutine.
func (dl *tcpDial) dialBlocking(address string) (dialed, error) {
	ctx, cancel := dl.bounded()
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return dialed{}, err
	}
	return dialed{fd: -1, conn: raw, remote: raw.RemoteAddr().String(), local: raw.LocalAddr().String()}, nil
}
