//go:build !linux

package hostfuncs

import "net"

// setReadBuffer enlarges a shared ICMP socket's receive buffer so that a
// burst of replies to thousands of concurrent pings is not dropped; the
// kernel may cap it. Failure only costs headroom.
func setReadBuffer(c net.PacketConn, n int) {
	if rb, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(n)
	}
}
