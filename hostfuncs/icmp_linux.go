package hostfuncs

import (
	"net"
	"syscall"
)

// setReadBuffer enlarges a shared ICMP socket's receive buffer so that a
// burst of replies to thousands of concurrent pings is not dropped. With
// CAP_NET_ADMIN (root) SO_RCVBUFFORCE goes past net.core.rmem_max; otherwise
// the kernel caps the request at rmem_max. Failure only costs headroom.
func setReadBuffer(c net.PacketConn, n int) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
			}); err == nil && serr == nil {
				return
			}
		}
	}
	if rb, ok := c.(interface{ SetReadBuffer(int) error }); ok {
		_ = rb.SetReadBuffer(n)
	}
}
