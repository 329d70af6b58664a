package hostfuncs

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// unanswered returns a loopback address whose connects stay in progress: a
// listener with a backlog of 0 that never accepts, its one queue slot taken,
// so that the kernel drops further SYNs (until TCP retries them a second or
// more later).
func unanswered(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := addrPortOf(sa).String()
	// Fill the queue: connects complete until it is full.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
		if i == 8 {
			t.Skip("the kernel keeps accepting connections into a backlog-0 queue; no way to hold a connect in progress here")
		}
	}
	return addr
}

// reactorIdle waits for the reactor to hold no registrations.
func reactorIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		theReactor.mu.Lock()
		left := len(theReactor.waiters)
		theReactor.mu.Unlock()
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d registrations left in the reactor", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectInProgress ends connects that are still in progress: by the
// request's timeout, by the context's deadline, by cancellation.
func TestConnectInProgress(t *testing.T) {
	addr := unanswered(t)
	tests := []struct {
		name    string
		timeout int // request timeout_ms
		ctxTime time.Duration
		cancel  time.Duration
		code    Code
		msg     string
	}{
		{name: "request timeout", timeout: 150, code: CodeTimeout, msg: "connect " + addr + ": timed out"},
		{name: "context deadline", timeout: 5000, ctxTime: 150 * time.Millisecond, code: CodeTimeout, msg: "connect " + addr + ": timed out"},
		{name: "canceled", timeout: 5000, cancel: 150 * time.Millisecond, code: CodeCanceled, msg: "connect " + addr + ": canceled"},
	}
	bothDialPaths(t, func(t *testing.T) {
		for _, tt := range tests {
			for _, probe := range []bool{false, true} {
				name := tt.name
				if probe {
					name += "/probe"
				}
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					var cancel context.CancelFunc = func() {}
					if tt.ctxTime > 0 {
						ctx, cancel = context.WithTimeout(ctx, tt.ctxTime)
					} else if tt.cancel > 0 {
						ctx, cancel = context.WithCancel(ctx)
						time.AfterFunc(tt.cancel, cancel)
					}
					defer cancel()
					req := TCPConnectRequest{Address: addr, TimeoutMS: tt.timeout}
					start := time.Now()
					var err error
					if probe {
						_, err = TCPProbe(ctx, req)
					} else {
						var c *TCPConn
						c, _, err = TCPConnect(ctx, req)
						if c != nil {
							t.Error("got a connection")
						}
					}
					took := time.Since(start)
					ze := wantCode(t, err, tt.code)
					if ze.Message != tt.msg {
						t.Errorf("message = %q, want %q", ze.Message, tt.msg)
					}
					if took < 140*time.Millisecond || took > 2*time.Second {
						t.Errorf("took %s, want about 150ms", took)
					}
					reactorIdle(t)
				})
			}
		}
	})
}

// TestConnectsWaitWithoutGoroutines starts 1,000 connects that stay in
// progress and checks that all but maxDialGoroutines of them wait in the
// reactor, not on goroutines; canceling their context ends them all.
func TestConnectsWaitWithoutGoroutines(t *testing.T) {
	addr := unanswered(t)
	const n = 1000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	errs := make(chan error, n)
	for i := range n {
		req := TCPConnectRequest{Address: addr, TimeoutMS: 30000}
		if i%2 == 0 {
			TCPProbeAsync(ctx, req, func(_ TCPConnectResponse, err error) { errs <- err })
		} else {
			TCPConnectAsync(ctx, req, func(c *TCPConn, _ TCPConnectResponse, err error) {
				if c != nil {
					c.Close()
				}
				errs <- err
			})
		}
	}
	if grew := runtime.NumGoroutine() - before; grew > int(maxDialGoroutines)+20 {
		t.Errorf("%d connects in progress added %d goroutines, want at most %d", n, grew, maxDialGoroutines+20)
	}
	theReactor.mu.Lock()
	waiting := len(theReactor.waiters)
	theReactor.mu.Unlock()
	if want := n - int(maxDialGoroutines); waiting < want {
		t.Errorf("%d registrations in the reactor, want at least %d", waiting, want)
	}
	select {
	case err := <-errs:
		t.Fatalf("a connect ended before its cancellation: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	for range n {
		select {
		case err := <-errs:
			wantCode(t, err, CodeCanceled)
		case <-time.After(5 * time.Second):
			t.Fatal("connects did not all end")
		}
	}
	reactorIdle(t)
}

// TestProbe is the connect-only check: success reports both ends and
// leaves nothing open; failures read as TCPConnect's.
func TestProbe(t *testing.T) { bothDialPaths(t, testProbe) }

func testProbe(t *testing.T) {
	accepted := make(chan net.Addr, 1)
	addr := testutil.Accept(t, func(c net.Conn) {
		accepted <- c.RemoteAddr()
		c.Close()
	})
	resp, err := TCPProbe(context.Background(), TCPConnectRequest{Address: addr, TimeoutMS: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Remote != addr || resp.ConnectMS <= 0 {
		t.Errorf("response %+v, want remote %s and a connect time", resp, addr)
	}
	select {
	case peer := <-accepted:
		if peer.String() != resp.Local {
			t.Errorf("local = %s, the server saw %s", resp.Local, peer)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server saw no connection")
	}
	closed := testutil.ClosedPort(t, "tcp")
	_, err = TCPProbe(context.Background(), TCPConnectRequest{Address: closed, TimeoutMS: 5000})
	if ze := wantCode(t, err, CodeRefused); ze.Message != "connect "+closed+": connection refused" {
		t.Errorf("message = %q", ze.Message)
	}
	_, err = TCPProbe(context.Background(), TCPConnectRequest{Address: "nowhere"})
	wantCode(t, err, CodeInvalid)
	reactorIdle(t)
}

// TestConnectNextAddress: a name whose first address refuses is connected
// through the next one; with every address refusing, the error is the first
// address's. "multi.test" resolves to 127.0.0.2 and 127.0.0.1 (both
// loopback), the listener is on 127.0.0.1 only.
func TestConnectNextAddress(t *testing.T) {
	lookupIP = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		if host != "multi.test" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::ffff:127.0.0.1")}, nil
	}
	t.Cleanup(func() { lookupIP = net.DefaultResolver.LookupNetIP })
	reactorDials(t) // the goroutine path resolves through the net package
	addr := testutil.AcceptAndClose(t)
	_, port, _ := net.SplitHostPort(addr)
	resp, err := TCPProbe(context.Background(), TCPConnectRequest{Address: "multi.test:" + port, TimeoutMS: 5000})
	if err != nil || resp.Remote != addr {
		t.Fatalf("probe multi.test:%s = %+v, %v; want remote %s", port, resp, err, addr)
	}
	c, resp, err := TCPConnect(context.Background(), TCPConnectRequest{Address: "multi.test:" + port, TimeoutMS: 5000})
	if err != nil || resp.Remote != addr || c.Remote() != addr {
		t.Fatalf("connect multi.test:%s = %+v, %v; want remote %s", port, resp, err, addr)
	}
	c.Close()
	_, cport, _ := net.SplitHostPort(testutil.ClosedPort(t, "tcp"))
	_, err = TCPProbe(context.Background(), TCPConnectRequest{Address: "multi.test:" + cport, TimeoutMS: 5000})
	if ze := wantCode(t, err, CodeRefused); ze.Message != "connect multi.test:"+cport+": connection refused" {
		t.Errorf("message = %q", ze.Message)
	}
	_, err = TCPProbe(context.Background(), TCPConnectRequest{Address: "nohost.test:" + cport, TimeoutMS: 5000})
	wantCode(t, err, CodeDNS)
	reactorIdle(t)
}

func TestPartialDeadline(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		left time.Duration
		n    int
		want time.Duration // from now; -1: an error
	}{
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 2, 5 * time.Second},
		{10 * time.Second, 10, 2 * time.Second}, // at least 2 s
		{time.Second, 3, time.Second},           // unless less is left
		{0, 1, -1},
	}
	for _, tt := range tests {
		got, err := partialDeadline(now, now.Add(tt.left), tt.n)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("left %s: no error", tt.left)
			}
			continue
		}
		if err != nil || got.Sub(now) != tt.want {
			t.Errorf("left %s over %d: %s, %v; want %s", tt.left, tt.n, got.Sub(now), err, tt.want)
		}
	}
	if got, err := partialDeadline(now, time.Time{}, 3); !got.IsZero() || err != nil {
		t.Errorf("no deadline: %v, %v", got, err)
	}
}

// TestHandshakeNotOnReactor: the TLS handshake of a connect that waited in
// the reactor runs elsewhere, so a server that never answers the handshake
// holds up nothing else waiting in the reactor.
func TestHandshakeNotOnReactor(t *testing.T) {
	reactorDials(t)
	accepted := make(chan struct{}, 1)
	silent := testutil.ServeTCP(t, func(c net.Conn) {
		accepted <- struct{}{}
		testutil.HoldOpen(c)
	})
	open := testutil.AcceptAndClose(t)
	tlsDone := make(chan error, 1)
	go func() {
		_, _, err := TCPConnect(context.Background(), TCPConnectRequest{Address: silent, TimeoutMS: 1500, TLS: &TLSOptions{}})
		tlsDone <- err
	}()
	<-accepted // connected; the handshake waits for the server
	start := time.Now()
	if _, err := TCPProbe(context.Background(), TCPConnectRequest{Address: open, TimeoutMS: 5000}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("a probe during a stalled handshake took %s", took)
	}
	wantCode(t, <-tlsDone, CodeTimeout)
}

// TestConnectSplitsContextDeadline: with no timeout_ms, the context's
// deadline is what the addresses share: the first address (which never
// answers) gets half of 4 s, the second connects.
func TestConnectSplitsContextDeadline(t *testing.T) {
	reactorDials(t)
	dead := unanswered(t)
	_, port, _ := net.SplitHostPort(dead)
	ln, err := net.Listen("tcp", "127.0.0.2:"+port)
	if err != nil {
		t.Skipf("no listener on 127.0.0.2:%s: %v", port, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	lookupIP = func(context.Context, string, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}, nil
	}
	t.Cleanup(func() { lookupIP = net.DefaultResolver.LookupNetIP })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := TCPProbe(ctx, TCPConnectRequest{Address: "split.test:" + port})
	took := time.Since(start)
	if err != nil || resp.Remote != ln.Addr().String() {
		t.Fatalf("probe = %+v, %v after %s; want remote %s", resp, err, took, ln.Addr())
	}
	if took < 1900*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %s, want about 2s (half the context's 4s)", took)
	}
}
