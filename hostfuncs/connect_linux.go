package hostfuncs

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// A connect in progress waits in the reactor, not on a goroutine: ten
// thousand checks connecting at once (a burst at start-up, or targets that
// drop SYNs until the deadline) then hold a few hundred bytes each instead
// of a goroutine stack each.

// rawDial is one non-blocking connect to one address. Its events — the
// socket became writable, the deadline, the context ending — may come from
// several goroutines at once; its decision serializes them and the first
// one that decides the connect delivers it.
type rawDial struct {
	ctx      context.Context
	ap       netip.AddrPort
	deadline time.Time // zero: only ctx
	done     func(fd int, local netip.AddrPort, err error)

	decision        // when decided, the fields below are final
	fd       int    // the socket of the current attempt, -1 when none
	id       uint64 // reactor registration, 0 when not registered
	retries  int    // attempts repeated after a self-connect or EADDRNOTAVAIL
	timer    *time.Timer
	stopCtx  func() bool
	local    netip.AddrPort
	err      error
}

// dialRaw starts connecting a new TCP socket to ap and calls done exactly
// once: with the connected socket, which done then owns, and its local
// address, or with an error shaped like the net package's (a *net.OpError
// around the connect errno), os.ErrDeadlineExceeded when deadline passed
// first, or ctx's error. done may run before dialRaw returns or on the
// reactor's goroutine, so it must not block. The caller has checked that
// the reactor works (reactorWorks).
func dialRaw(ctx context.Context, ap netip.AddrPort, deadline time.Time, done func(fd int, local netip.AddrPort, err error)) {
	d := &rawDial{ctx: ctx, ap: ap, deadline: deadline, done: done, fd: -1}
	d.locked(func() {
		if err := ctx.Err(); err != nil {
			d.finish(err)
			return
		}
		if !deadline.IsZero() {
			if ctxDL, ok := ctx.Deadline(); !ok || deadline.Before(ctxDL) {
				d.timer = time.AfterFunc(time.Until(deadline), func() { d.fail(os.ErrDeadlineExceeded) })
			}
		}
		if ctx.Done() != nil {
			d.stopCtx = context.AfterFunc(ctx, func() { d.fail(ctx.Err()) })
		}
		d.attempt()
	})
}

// locked runs f under the connect's decision and delivers the connect if f
// decided it.
func (d *rawDial) locked(f func()) {
	if !d.decide(f, func(r any) { d.finish(d.opError(fmt.Errorf("internal error: %v", r))) }) {
		return
	}
	if d.err != nil {
		d.done(-1, netip.AddrPort{}, d.err)
	} else {
		d.done(d.fd, d.local, nil)
	}
}

// attempt opens a socket and starts its connect. Called with mu held.
func (d *rawDial) attempt() {
	family, sa, err := sockaddrOf(d.ap)
	if err != nil {
		d.finish(d.opError(err))
		return
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		d.finish(d.opError(os.NewSyscallError("socket", err)))
		return
	}
	d.fd = fd
	switch err := syscall.Connect(fd, sa); err {
	case nil, syscall.EISCONN:
		d.connected()
		return
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
	default:
		d.refused(err)
		return
	}
	d.id = theReactor.register(d)
	if err := theReactor.ctlFD(fd, syscall.EPOLL_CTL_ADD, syscall.EPOLLOUT|syscall.EPOLLONESHOT, d.id); err != nil {
		d.finish(err)
	}
}

// ready is the reactor's call when the socket is writable or in error.
func (d *rawDial) ready() {
	d.locked(func() {
		n, err := syscall.GetsockoptInt(d.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			d.finish(d.opError(os.NewSyscallError("getsockopt", err)))
			return
		}
		errno := syscall.Errno(n)
		if errno == 0 {
			// No error is not yet connected when the wake-up was
			// spurious (the net package checks the same way).
			if _, err := syscall.Getpeername(d.fd); err == syscall.ENOTCONN {
				errno = syscall.EINPROGRESS
			}
		}
		switch errno {
		case 0, syscall.EISCONN:
			d.unregister()
			d.connected()
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			// Not connected yet: wait for the next event.
			if err := theReactor.ctlFD(d.fd, syscall.EPOLL_CTL_MOD, syscall.EPOLLOUT|syscall.EPOLLONESHOT, d.id); err != nil {
				d.finish(err)
			}
		default:
			d.refused(errno)
		}
	})
}

// connected checks the established connection: a socket connected to
// itself (TCP's simultaneous open, when the kernel picks the destination's
// own port as the local one on loopback) is tried again, twice at most, as
// the net package does. Called with mu held.
func (d *rawDial) connected() {
	sa, err := syscall.Getsockname(d.fd)
	if err != nil {
		d.finish(d.opError(os.NewSyscallError("getsockname", err)))
		return
	}
	d.local = addrPortOf(sa)
	if d.local == d.ap && d.retries < 2 {
		d.retries++
		d.closeSocket()
		d.attempt()
		return
	}
	d.finish(nil)
}

// refused ends the attempt on a connect errno; EADDRNOTAVAIL (no local
// port free for a moment) is tried again, twice at most, as the net package
// does. Called with mu held.
func (d *rawDial) refused(errno error) {
	if errno == syscall.EADDRNOTAVAIL && d.retries < 2 {
		d.retries++
		d.closeSocket()
		d.attempt()
		return
	}
	d.finish(d.opError(os.NewSyscallError("connect", errno)))
}

func (d *rawDial) opError(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(d.ap), Err: err}
}

// fail ends the connect with err unless it has already ended.
func (d *rawDial) fail(err error) { d.locked(func() { d.finish(err) }) }

// finish decides the connect: err nil hands the socket to done, otherwise
// the socket is closed. Called with mu held.
func (d *rawDial) finish(err error) {
	d.over, d.err = true, err
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.stopCtx != nil {
		d.stopCtx()
	}
	if err != nil {
		d.closeSocket()
	} else {
		d.unregister()
	}
}

// unregister takes the socket out of the reactor. Called with mu held.
func (d *rawDial) unregister() {
	if d.id == 0 {
		return
	}
	theReactor.unregister(d.id)
	theReactor.ctlFD(d.fd, syscall.EPOLL_CTL_DEL, 0, d.id)
	d.id = 0
}

// closeSocket drops the current attempt's socket. Called with mu held.
func (d *rawDial) closeSocket() {
	if d.fd < 0 {
		return
	}
	d.unregister()
	syscall.Close(d.fd)
	d.fd = -1
}

// reactorWorks says whether connects can wait in the reactor.
func reactorWorks() bool { return theReactor.usable() }

func closeFD(fd int) { syscall.Close(fd) }

// fdConn makes a connected socket a net.Conn, which owns it from then on.
func fdConn(fd int) (net.Conn, error) {
	// Blocking, os.NewFile leaves fd out of the runtime's poller (two
	// epoll_ctl saved); FileConn makes a non-blocking duplicate and puts
	// that in.
	syscall.SetNonblock(fd, false)
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f)
	f.Close()
	return c, err
}

// sockaddrOf is ap as a socket address; a zone names an interface (or is
// its index), as in the net package.
func sockaddrOf(ap netip.AddrPort) (int, syscall.Sockaddr, error) {
	ip := ap.Addr()
	if ip.Is4() {
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}, nil
	}
	sa := &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	if zone := ip.Zone(); zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else if n, perr := strconv.ParseUint(zone, 10, 32); perr == nil {
			sa.ZoneId = uint32(n)
		} else {
			return 0, nil, err
		}
	}
	return syscall.AF_INET6, sa, nil
}

// addrPortOf is the inverse of sockaddrOf (zones as indexes).
func addrPortOf(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		ip := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.ZoneId), 10))
		}
		return netip.AddrPortFrom(ip, uint16(sa.Port))
	}
	return netip.AddrPort{}
}
