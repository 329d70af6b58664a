//go:build !linux

package hostfuncs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

var errNoReactor = errors.New("no reactor on this platform")

// Without epoll every read waits on a goroutine (ReadAsync falls back).
type reactor struct{}

var theReactor reactor

func reactorConn(net.Conn) syscall.RawConn { return nil }

var errAgain = errors.New("again")

func rawRead(syscall.RawConn, []byte) (int, error, error) { return 0, nil, errNoReactor }

func (reactor) arm(*asyncRead) error   { return errNoReactor }
func (reactor) rearm(*asyncRead) error { return errNoReactor }
func (reactor) remove(*asyncRead)      {}

// Without epoll every connect runs on a goroutine through the net package.
func reactorWorks() bool { return false }

// Never called: startDial dials through the net package here.
func dialRaw(_ context.Context, _ netip.AddrPort, _ time.Time, done func(int, netip.AddrPort, error)) {
	done(-1, netip.AddrPort{}, errNoReactor)
}

func closeFD(int) {}

func fdConn(int) (net.Conn, error) { return nil, errNoReactor }
