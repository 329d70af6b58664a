package testutil

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// listenTCP listens on a free TCP port of 127.0.0.1.
func listenTCP(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// listenUDP listens on a free UDP port of 127.0.0.1.
func listenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// acceptLoop calls handle with every connection ln accepts, until ln is
// closed.
func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		handle(c)
	}
}

// ClosedPort returns a loopback address ("127.0.0.1:port") where nothing
// listens on network ("tcp" or "udp"): connecting is refused.
func ClosedPort(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		pc := listenUDP(t)
		addr := pc.LocalAddr().String()
		pc.Close()
		return addr
	}
	ln := listenTCP(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Accept starts a loopback TCP listener that calls handle with every
// connection it accepts, on its one accepting goroutine: a handle with more
// to do than closing the connection starts a goroutine of its own. The
// listener is closed when the test ends; nothing waits for the goroutines.
// It returns the listener's address.
func Accept(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln := listenTCP(t)
	t.Cleanup(func() { ln.Close() })
	go acceptLoop(ln, handle)
	return ln.Addr().String()
}

// AcceptAndClose starts a loopback TCP listener that accepts every
// connection and closes it at once (a port that is up and says nothing),
// stopped when the test ends. It returns the listener's address.
func AcceptAndClose(t testing.TB) string {
	t.Helper()
	return Accept(t, func(c net.Conn) { c.Close() })
}

// ServeTCP starts a loopback TCP listener that runs handle, on a goroutine
// of its own, on every connection it accepts, with a deadline 10 seconds
// ahead, and closes the connection when handle returns. When the test ends
// it closes the listener and waits for the accepting goroutine and every
// handle to return. It returns the listener's address.
func ServeTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln := listenTCP(t)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		acceptLoop(ln, func(c net.Conn) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		})
	}()
	return ln.Addr().String()
}

// HoldOpen is a ServeTCP handler that waits until the client closes (or the
// connection's deadline passes).
func HoldOpen(c net.Conn) { io.Copy(io.Discard, c) }

// ServeUDP starts a loopback UDP server that answers each datagram with
// reply(datagram); a nil reply stays silent. When the test ends it closes
// the socket and waits for the serving goroutine to return. It returns the
// socket's address.
func ServeUDP(t testing.TB, reply func([]byte) []byte) string {
	t.Helper()
	pc := listenUDP(t)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n]); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}
