package testutil

import (
	"net"
	"testing"
)

// ClosedPort returns a loopback address ("127.0.0.1:port") where nothing
// listens on network ("tcp" or "udp"): connecting is refused.
func ClosedPort(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		pc.Close()
		return addr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// AcceptAndClose starts a loopback TCP listener that accepts every
// connection and closes it at once (a port that is up and says nothing),
// stopped when the test ends. It returns the listener's address.
func AcceptAndClose(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}
