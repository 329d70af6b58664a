package hostfuncs

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

func connect(t testing.TB, addr string) *TCPConn {
	t.Helper()
	c, _, err := TCPConnect(context.Background(), TCPConnectRequest{Address: addr, TimeoutMS: 5000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor spins until cond holds; it replaces sleeps for ordering goroutines.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		runtime.Gosched()
	}
}

func TestTCPConnectAndBanner(t *testing.T) { bothDialPaths(t, testTCPConnectAndBanner) }

func testTCPConnectAndBanner(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		addr := testutil.ServeTCP(t, func(c net.Conn) {
			c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 zappy\r\n"))
			testutil.HoldOpen(c)
		})
		c, resp, err := TCPConnect(context.Background(), TCPConnectRequest{Address: addr, TimeoutMS: 5000})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp.Remote != addr || c.Remote() != addr {
			t.Errorf("remote = %q / %q, want %q", resp.Remote, c.Remote(), addr)
		}
		if !strings.HasPrefix(resp.Local, "127.0.0.1:") || resp.Local == addr {
			t.Errorf("local = %q", resp.Local)
		}
		if resp.ConnectMS <= 0 || resp.TLS != nil {
			t.Errorf("connect_ms = %v, tls = %v", resp.ConnectMS, resp.TLS)
		}
		data, rr, err := c.Read(context.Background(), TCPReadRequest{Mode: "line", TimeoutMS: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != "SSH-2.0-OpenSSH_9.2p1 zappy\r\n" || rr.N != len(data) || rr.EOF || rr.TimedOut || rr.Truncated {
			t.Errorf("banner = %q, %+v", data, rr)
		}
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
		_, _, err = c.Read(context.Background(), TCPReadRequest{})
		if ze := wantCode(t, err, CodeInvalid); ze.Message != "read from "+addr+": connection is closed" {
			t.Errorf("message = %q", ze.Message)
		}
		_, err = c.Write(context.Background(), []byte("x"))
		wantCode(t, err, CodeInvalid)
	})
}

func TestTCPConnectByName(t *testing.T) {
	addr := testutil.ServeTCP(t, testutil.HoldOpen)
	_, port, _ := net.SplitHostPort(addr)
	c, resp, err := TCPConnect(context.Background(), TCPConnectRequest{Address: "localhost:" + port, TimeoutMS: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp.Remote != addr {
		t.Errorf("remote = %q, want %q", resp.Remote, addr)
	}
}

func TestTCPDialogue(t *testing.T) { bothDialPaths(t, testTCPDialogue) }

func testTCPDialogue(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		addr := testutil.ServeTCP(t, func(c net.Conn) {
			r := bufio.NewReader(c)
			c.Write([]byte("220 ready\r\n"))
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimRight(line, "\r\n")
				if line == "QUIT" {
					c.Write([]byte("221 bye\r\n"))
					return
				}
				c.Write([]byte("250 you said " + line + "\r\n"))
			}
		})
		c := connect(t, addr)
		ctx := context.Background()
		expect := func(want string) {
			t.Helper()
			data, _, err := c.Read(ctx, TCPReadRequest{Mode: "until", Delim: "\r\n", TimeoutMS: 5000})
			if err != nil || string(data) != want {
				t.Fatalf("read = %q, %v; want %q", data, err, want)
			}
		}
		send := func(s string) {
			t.Helper()
			wr, err := c.Write(ctx, []byte(s))
			if err != nil || wr.N != len(s) {
				t.Fatalf("write = %+v, %v", wr, err)
			}
		}
		expect("220 ready\r\n")
		send("HELO zappy\r\n")
		expect("250 you said HELO zappy\r\n")
		send("NOOP\r\nQUIT\r\n")
		expect("250 you said NOOP\r\n")
		expect("221 bye\r\n")
		data, rr, err := c.Read(ctx, TCPReadRequest{Mode: "eof", TimeoutMS: 5000})
		if err != nil || len(data) != 0 || !rr.EOF {
			t.Errorf("after QUIT: %q, %+v, %v", data, rr, err)
		}
	})
}

type readStep struct {
	req       TCPReadRequest
	want      string
	code      Code
	msg       string // exact error message; ADDR is replaced by the server address
	eof       bool
	timedOut  bool
	truncated bool
}

func TestTCPReadModes(t *testing.T) {
	x100 := strings.Repeat("x", 100)
	tests := []readModeCase{
		{name: "n", send: "abcdefgh", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "n", N: 3}, want: "abc"},
			{req: TCPReadRequest{Mode: "n", N: 5}, want: "defgh"},
			{req: TCPReadRequest{Mode: "n", N: 1}, code: CodeEOF, eof: true, msg: "read 1 bytes from ADDR: connection closed by peer after 0 bytes"},
		}},
		{name: "n short", send: "abc", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "n", N: 10}, want: "abc", code: CodeEOF, eof: true, msg: "read 10 bytes from ADDR: connection closed by peer after 3 bytes"},
		}},
		{name: "n over cap", send: "abc", steps: []readStep{
			{req: TCPReadRequest{Mode: "n", N: 100, MaxBytes: 10}, code: CodeLimit, msg: "read 100 bytes from ADDR: 100 bytes exceed max_bytes 10"},
			{req: TCPReadRequest{Mode: "n", N: 3}, want: "abc"},
		}},
		{name: "n timeout", send: "ab", steps: []readStep{
			{req: TCPReadRequest{Mode: "n", N: 3, TimeoutMS: 50}, want: "ab", code: CodeTimeout, timedOut: true},
		}},
		{name: "until with leftovers", send: "line1\r\nline2\nrest", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "until", Delim: "\r\n"}, want: "line1\r\n"},
			{req: TCPReadRequest{Mode: "line"}, want: "line2\n"},
			{req: TCPReadRequest{Mode: "eof"}, want: "rest", eof: true},
			{req: TCPReadRequest{Mode: "any"}, code: CodeEOF, eof: true, msg: "read from ADDR: connection closed by peer"},
			{req: TCPReadRequest{Mode: "eof"}, eof: true},
		}},
		{name: "leftovers served without the network", send: "a\nb\nc\n", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "line"}, want: "a\n"},
			{req: TCPReadRequest{Mode: "n", N: 2}, want: "b\n"},
			{req: TCPReadRequest{Mode: "any"}, want: "c\n"},
		}},
		{name: "until multi-byte delimiter", send: "+OK POP3\r\n.\r\nafter", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "until", Delim: "\r\n.\r\n"}, want: "+OK POP3\r\n.\r\n"},
			{req: TCPReadRequest{Mode: "any"}, want: "after"},
		}},
		{name: "line without newline before eof", send: "partial", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "line"}, want: "partial", code: CodeEOF, eof: true, msg: "read line from ADDR: connection closed by peer after 7 bytes without \"\\n\""},
		}},
		{name: "line timeout", send: "partial", steps: []readStep{
			{req: TCPReadRequest{Mode: "line", TimeoutMS: 50}, want: "partial", code: CodeTimeout, timedOut: true},
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 20}, timedOut: true},
		}},
		{name: "until cap", send: x100, steps: []readStep{
			{req: TCPReadRequest{Mode: "line", MaxBytes: 50, TimeoutMS: 5000}, want: x100[:50], code: CodeLimit, msg: "read line from ADDR: no \"\\n\" within max_bytes 50"},
			{req: TCPReadRequest{Mode: "n", N: 50}, want: x100[50:]},
		}},
		{name: "until delimiter beyond cap", send: "0123456789\n", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "line"}, want: "0123456789\n"},
		}},
		{name: "until delimiter just past cap", send: "0123456789\n", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "line", MaxBytes: 10}, want: "0123456789", code: CodeLimit},
			{req: TCPReadRequest{Mode: "line"}, want: "\n"},
		}},
		{name: "until delimiter exactly at cap", send: "0123456789\n", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "line", MaxBytes: 11}, want: "0123456789\n"},
		}},
		{name: "any", send: "hello", steps: []readStep{
			{req: TCPReadRequest{Mode: "any", TimeoutMS: 5000}, want: "hello"},
			{req: TCPReadRequest{TimeoutMS: 50}, code: CodeTimeout, timedOut: true},
		}},
		{name: "any cap", send: "abcdef", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "any", MaxBytes: 4}, want: "abcd"},
			{req: TCPReadRequest{Mode: "any", MaxBytes: 4}, want: "ef"},
		}},
		{name: "timeout mode", send: "hello", steps: []readStep{
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 100}, want: "hello", timedOut: true},
		}},
		{name: "timeout mode ends at eof", send: "hello", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 5000}, want: "hello", eof: true},
		}},
		{name: "timeout mode cap", send: x100, steps: []readStep{
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 5000, MaxBytes: 30}, want: x100[:30], truncated: true},
			{req: TCPReadRequest{Mode: "n", N: 70}, want: x100[30:]},
		}},
		{name: "eof mode", send: "goodbye", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", TimeoutMS: 5000}, want: "goodbye", eof: true},
		}},
		{name: "eof mode cap", send: x100, close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", MaxBytes: 30}, want: x100[:30], truncated: true},
			{req: TCPReadRequest{Mode: "eof"}, want: x100[30:], eof: true},
		}},
		{name: "eof mode timeout", send: "data", steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", TimeoutMS: 50}, want: "data", code: CodeTimeout, timedOut: true},
		}},
		// Exactly max_bytes is not truncated: truncated means the peer sent
		// more than max_bytes, as for udp and http.
		{name: "eof mode exactly at cap", send: "hello", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", MaxBytes: 5}, want: "hello", eof: true},
		}},
		{name: "eof mode exactly at cap, peer stays", send: "hello", steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", MaxBytes: 5, TimeoutMS: 50}, want: "hello", code: CodeTimeout, timedOut: true},
		}},
		{name: "eof mode one byte over cap", send: "hello!", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "eof", MaxBytes: 5}, want: "hello", truncated: true},
			{req: TCPReadRequest{Mode: "eof", MaxBytes: 5}, want: "!", eof: true},
		}},
		{name: "timeout mode exactly at cap", send: "hello", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 5000, MaxBytes: 5}, want: "hello", eof: true},
		}},
		{name: "timeout mode exactly at cap, peer stays", send: "hello", steps: []readStep{
			{req: TCPReadRequest{Mode: "timeout", TimeoutMS: 50, MaxBytes: 5}, want: "hello", timedOut: true},
		}},
		{name: "invalid requests", send: "z", close: true, steps: []readStep{
			{req: TCPReadRequest{Mode: "word"}, code: CodeInvalid, msg: `read: unknown mode "word" (want n, until, line, any, timeout or eof)`},
			{req: TCPReadRequest{Mode: "n"}, code: CodeInvalid},
			{req: TCPReadRequest{Mode: "until"}, code: CodeInvalid},
			{req: TCPReadRequest{Mode: "timeout"}, code: CodeInvalid},
			{req: TCPReadRequest{Mode: "any", MaxBytes: -1}, code: CodeInvalid},
			{req: TCPReadRequest{Mode: "any", TimeoutMS: -1}, code: CodeInvalid},
			{req: TCPReadRequest{Mode: "any"}, want: "z"},
		}},
	}
	bothReadPaths(t, func(t *testing.T) { runReadModes(t, tests) })
}

// bothReadPaths runs test with plain connections reading through the
// reactor and again reading on goroutines, the path of TLS connections and
// other platforms, which must behave the same.
func bothReadPaths(t *testing.T, test func(t *testing.T)) {
	for _, path := range []string{"reactor", "goroutine"} {
		t.Run(path, func(t *testing.T) {
			if path == "goroutine" {
				useReactor = false
				t.Cleanup(func() { useReactor = true })
			}
			test(t)
		})
	}
}

// bothDialPaths runs test with connects waiting on goroutines, then in the
// reactor.
func bothDialPaths(t *testing.T, test func(t *testing.T)) {
	for _, path := range []string{"goroutine", "reactor"} {
		t.Run(path, func(t *testing.T) {
			if path == "reactor" {
				reactorDials(t)
			}
			test(t)
		})
	}
}

// reactorDials makes every connect of the test wait in the reactor, and
// fails the test if none did (where there is a reactor).
func reactorDials(t *testing.T) {
	saved, before := maxDialGoroutines, rawDials.Load()
	maxDialGoroutines = 0
	t.Cleanup(func() {
		maxDialGoroutines = saved
		if reactorWorks() && rawDials.Load() == before {
			t.Error("no connect waited in the reactor")
		}
	})
}

type readModeCase struct {
	name  string
	send  string
	close bool // the server closes after sending; else it holds the connection open
	steps []readStep
}

func runReadModes(t *testing.T, tests []readModeCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := testutil.ServeTCP(t, func(c net.Conn) {
				c.Write([]byte(tt.send))
				if !tt.close {
					testutil.HoldOpen(c)
				}
			})
			c := connect(t, addr)
			for i, s := range tt.steps {
				if s.req.TimeoutMS == 0 && s.req.Mode != "timeout" {
					s.req.TimeoutMS = 5000
				}
				data, rr, err := c.Read(context.Background(), s.req)
				ze := wantCode(t, err, s.code)
				if ze != nil && s.msg != "" {
					if want := strings.ReplaceAll(s.msg, "ADDR", addr); ze.Message != want {
						t.Errorf("step %d: message = %q, want %q", i, ze.Message, want)
					}
				}
				if string(data) != s.want || rr.N != len(s.want) {
					t.Errorf("step %d: data = %q (n %d), want %q", i, data, rr.N, s.want)
				}
				if rr.EOF != s.eof || rr.TimedOut != s.timedOut || rr.Truncated != s.truncated {
					t.Errorf("step %d: eof=%v timed_out=%v truncated=%v, want %v %v %v", i, rr.EOF, rr.TimedOut, rr.Truncated, s.eof, s.timedOut, s.truncated)
				}
			}
		})
	}
}

// TestTCPReadDelimiterAcrossReads feeds the delimiter in two separate writes
// through a synchronous pipe, so that it straddles two reads.
func TestTCPReadDelimiterAcrossReads(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		client, server := net.Pipe()
		c := &TCPConn{remote: "pipe", conn: client}
		defer c.Close()
		go func() {
			defer server.Close()
			for _, s := range []string{"250-first\r", "\n250 last\r", "\nleft", "over"} {
				if _, err := server.Write([]byte(s)); err != nil {
					return
				}
			}
		}()
		var got []string
		for range 2 {
			data, _, err := c.Read(context.Background(), TCPReadRequest{Mode: "until", Delim: "\r\n", TimeoutMS: 5000})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(data))
		}
		data, rr, err := c.Read(context.Background(), TCPReadRequest{Mode: "eof", TimeoutMS: 5000})
		if err != nil || !rr.EOF {
			t.Fatalf("eof read: %+v, %v", rr, err)
		}
		got = append(got, string(data))
		if want := []string{"250-first\r\n", "250 last\r\n", "leftover"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("reads = %q, want %q", got, want)
		}
	})
}

func TestTCPConnectFailures(t *testing.T) { bothDialPaths(t, testTCPConnectFailures) }

func testTCPConnectFailures(t *testing.T) {
	closed := closedPort(t, "tcp")
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		req  TCPConnectRequest
		code Code
		msg  string
	}{
		{name: "refused", req: TCPConnectRequest{Address: closed, TimeoutMS: 5000}, code: CodeRefused, msg: "connect " + closed + ": connection refused"},
		{name: "no port", req: TCPConnectRequest{Address: "127.0.0.1"}, code: CodeInvalid},
		{name: "negative timeout", req: TCPConnectRequest{Address: closed, TimeoutMS: -1}, code: CodeInvalid},
		{name: "deadline passed", ctx: expired, req: TCPConnectRequest{Address: closed}, code: CodeTimeout, msg: "connect " + closed + ": timed out"},
		{name: "canceled", ctx: canceled, req: TCPConnectRequest{Address: closed}, code: CodeCanceled, msg: "connect " + closed + ": canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			c, _, err := TCPConnect(ctx, tt.req)
			if c != nil {
				t.Error("got a connection")
			}
			ze := wantCode(t, err, tt.code)
			if tt.msg != "" && ze.Message != tt.msg {
				t.Errorf("message = %q, want %q", ze.Message, tt.msg)
			}
		})
	}
}

func TestTCPCancelAndClose(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		// The server answers "go\n" with "after\n" and otherwise stays silent.
		addr := testutil.ServeTCP(t, func(c net.Conn) {
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "go\n" {
					c.Write([]byte("after\n"))
				}
			}
		})

		t.Run("cancel interrupts a blocked read", func(t *testing.T) {
			c := connect(t, addr)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, _, err := c.Read(ctx, TCPReadRequest{Mode: "line"})
				done <- err
			}()
			waitFor(t, c.reading.Load)
			cancel()
			select {
			case err := <-done:
				if ze := wantCode(t, err, CodeCanceled); ze.Message != "read line from "+addr+": canceled (0 bytes received)" {
					t.Errorf("message = %q", ze.Message)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("read not interrupted by cancel")
			}
			// The connection stays usable: the stale cancellation must not leak
			// into the next read's deadline.
			if _, err := c.Write(context.Background(), []byte("go\n")); err != nil {
				t.Fatal(err)
			}
			data, _, err := c.Read(context.Background(), TCPReadRequest{Mode: "line", TimeoutMS: 5000})
			if err != nil || string(data) != "after\n" {
				t.Fatalf("read after cancel = %q, %v", data, err)
			}
		})

		t.Run("already canceled", func(t *testing.T) {
			c := connect(t, addr)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, _, err := c.Read(ctx, TCPReadRequest{Mode: "any"})
			wantCode(t, err, CodeCanceled)
			_, err = c.Write(ctx, []byte("go\n"))
			wantCode(t, err, CodeCanceled)
		})

		t.Run("close interrupts a blocked read", func(t *testing.T) {
			c := connect(t, addr)
			done := make(chan error, 1)
			go func() {
				_, _, err := c.Read(context.Background(), TCPReadRequest{Mode: "n", N: 10})
				done <- err
			}()
			waitFor(t, c.reading.Load)
			c.Close()
			select {
			case err := <-done:
				wantCode(t, err, CodeCanceled)
			case <-time.After(5 * time.Second):
				t.Fatal("read not interrupted by close")
			}
		})
	})
}

// TestTCPWriteBlocked fills the send path towards a server that never reads,
// then checks that a second writer and a STARTTLS are refused while the write
// is blocked, and that cancellation frees it.
func TestTCPWriteBlocked(t *testing.T) {
	release := make(chan struct{})
	addr := testutil.ServeTCP(t, func(c net.Conn) { <-release })
	defer close(release)
	c := connect(t, addr)

	big := make([]byte, 64<<20)
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		resp TCPWriteResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.Write(ctx, big)
		done <- result{resp, err}
	}()
	waitFor(t, c.writing.Load)

	_, err := c.Write(context.Background(), []byte("x"))
	if ze := wantCode(t, err, CodeInvalid); ze.Message != "write to "+addr+": another write is in progress on this connection" {
		t.Errorf("message = %q", ze.Message)
	}
	_, err = c.StartTLS(context.Background(), TLSOptions{Insecure: true})
	wantCode(t, err, CodeInvalid)

	// The writing flag is set just before the first write system call; a
	// cancel arriving before that call (seen once under -race) writes
	// nothing, which is correct but not what this test is about. Give
	// the write time to fill the socket buffers first.
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case r := <-done:
		wantCode(t, r.err, CodeCanceled)
		if r.resp.N <= 0 || r.resp.N >= len(big) {
			t.Errorf("written %d of %d", r.resp.N, len(big))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write not interrupted by cancel")
	}
}

func TestTCPConcurrentReadWrite(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		addr := testutil.ServeTCP(t, func(c net.Conn) { io.Copy(c, c) })
		c := connect(t, addr)

		type result struct {
			data []byte
			err  error
		}
		done := make(chan result, 1)
		go func() {
			data, _, err := c.Read(context.Background(), TCPReadRequest{Mode: "line", TimeoutMS: 5000})
			done <- result{data, err}
		}()
		waitFor(t, c.reading.Load)

		_, _, err := c.Read(context.Background(), TCPReadRequest{Mode: "any"})
		if ze := wantCode(t, err, CodeInvalid); ze.Message != "read from "+addr+": another read is in progress on this connection" {
			t.Errorf("message = %q", ze.Message)
		}
		if _, err := c.Write(context.Background(), []byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || string(r.data) != "ping\n" {
			t.Fatalf("read = %q, %v", r.data, r.err)
		}
	})
}

// bufConn reads through a bufio.Reader so that a line-oriented server can hand
// the same stream to tls.Server.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// smtpServer is a minimal SMTP server offering STARTTLS. inject is sent right
// after the "220 Ready" reply in the same write, like a man in the middle
// would.
func smtpServer(t *testing.T, cfg *tls.Config, inject string) string {
	return testutil.ServeTCP(t, func(raw net.Conn) {
		var c net.Conn = bufConn{raw, bufio.NewReader(raw)}
		say := func(s string) { c.Write([]byte(s)) }
		hear := func() string {
			b := make([]byte, 0, 64)
			one := make([]byte, 1)
			for {
				if _, err := c.Read(one); err != nil {
					return ""
				}
				b = append(b, one[0])
				if one[0] == '\n' {
					return string(b)
				}
			}
		}
		say("220 mail.test ESMTP zappy\r\n")
		secure := false
		for {
			switch line := hear(); {
			case line == "":
				return
			case strings.HasPrefix(line, "EHLO "):
				if secure {
					say("250-mail.test secured\r\n250 AUTH PLAIN\r\n")
				} else {
					say("250-mail.test\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n")
				}
			case line == "STARTTLS\r\n" && !secure:
				say("220 2.0.0 Ready to start TLS\r\n" + inject)
				tc := tls.Server(c, cfg)
				if err := tc.Handshake(); err != nil {
					return
				}
				c, secure = tc, true
			case line == "QUIT\r\n":
				say("221 2.0.0 Bye\r\n")
				return
			default:
				say("500 unrecognised\r\n")
			}
		}
	})
}

func TestTCPStartTLS(t *testing.T) { bothDialPaths(t, testTCPStartTLS) }

func testTCPStartTLS(t *testing.T) {
	ca := testutil.NewCA(t, "mail CA")
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"localhost"}})
	ctx := context.Background()

	// dialogue runs the plaintext part up to the server's go-ahead.
	dialogue := func(t *testing.T, addr string) *TCPConn {
		t.Helper()
		_, port, _ := net.SplitHostPort(addr)
		c, _, err := TCPConnect(ctx, TCPConnectRequest{Address: "localhost:" + port, TimeoutMS: 5000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		read := func(want string) {
			t.Helper()
			data, _, err := c.Read(ctx, TCPReadRequest{Mode: "line", TimeoutMS: 5000})
			if err != nil || string(data) != want {
				t.Fatalf("read %q, %v; want %q", data, err, want)
			}
		}
		read("220 mail.test ESMTP zappy\r\n")
		c.Write(ctx, []byte("EHLO zappy\r\n"))
		read("250-mail.test\r\n")
		read("250-SIZE 10240000\r\n")
		read("250 STARTTLS\r\n")
		c.Write(ctx, []byte("STARTTLS\r\n"))
		read("220 2.0.0 Ready to start TLS\r\n")
		return c
	}

	t.Run("upgrade", func(t *testing.T) {
		c := dialogue(t, smtpServer(t, leaf.ServerConfig(), ""))
		info, err := c.StartTLS(ctx, TLSOptions{RootCAsPEM: string(ca.PEM)})
		if err != nil {
			t.Fatal(err)
		}
		if !info.Verified || info.ServerName != "localhost" || info.Fingerprint != leaf.Fingerprint || len(info.Chain) != 2 || info.Version != "TLS 1.3" {
			t.Errorf("info = %+v", info)
		}
		if _, err := c.Write(ctx, []byte("EHLO zappy\r\n")); err != nil {
			t.Fatal(err)
		}
		data, _, err := c.Read(ctx, TCPReadRequest{Mode: "until", Delim: "250 ", TimeoutMS: 5000})
		if err != nil || string(data) != "250-mail.test secured\r\n250 " {
			t.Fatalf("EHLO over TLS = %q, %v", data, err)
		}
		data, _, err = c.Read(ctx, TCPReadRequest{Mode: "line", TimeoutMS: 5000})
		if err != nil || string(data) != "AUTH PLAIN\r\n" {
			t.Fatalf("rest of EHLO = %q, %v", data, err)
		}
		c.Write(ctx, []byte("QUIT\r\n"))
		data, rr, err := c.Read(ctx, TCPReadRequest{Mode: "eof", TimeoutMS: 5000})
		if err != nil || string(data) != "221 2.0.0 Bye\r\n" || !rr.EOF {
			t.Fatalf("QUIT over TLS = %q, %+v, %v", data, rr, err)
		}
		_, err = c.StartTLS(ctx, TLSOptions{Insecure: true})
		wantCode(t, err, CodeInvalid)
	})

	t.Run("pin mismatch", func(t *testing.T) {
		c := dialogue(t, smtpServer(t, leaf.ServerConfig(), ""))
		wrong := strings.Repeat("0", 64)
		info, err := c.StartTLS(ctx, TLSOptions{Fingerprint: wrong})
		ze := wantCode(t, err, CodePinMismatch)
		if !strings.Contains(ze.Message, wrong) || !strings.Contains(ze.Message, leaf.Fingerprint) {
			t.Errorf("message = %q", ze.Message)
		}
		if info.Fingerprint != leaf.Fingerprint || info.Pinned || info.Verified {
			t.Errorf("info = %+v", info)
		}
		_, err = c.Write(ctx, []byte("EHLO zappy\r\n"))
		wantCode(t, err, CodeInvalid)
	})

	t.Run("pin match", func(t *testing.T) {
		c := dialogue(t, smtpServer(t, leaf.ServerConfig(), ""))
		info, err := c.StartTLS(ctx, TLSOptions{Fingerprint: leaf.Fingerprint})
		if err != nil || !info.Pinned || info.Verified {
			t.Fatalf("info = %+v, %v", info, err)
		}
	})

	t.Run("plaintext injection", func(t *testing.T) {
		c := dialogue(t, smtpServer(t, leaf.ServerConfig(), "250 injected\r\n"))
		_, err := c.StartTLS(ctx, TLSOptions{RootCAsPEM: string(ca.PEM)})
		ze := wantCode(t, err, CodeProtocol)
		if !strings.Contains(ze.Message, "14 bytes of plaintext") || !strings.Contains(ze.Message, `"250 injected\r\n"`) {
			t.Errorf("message = %q", ze.Message)
		}
	})
}

func TestTCPConnectImplicitTLS(t *testing.T) { bothDialPaths(t, testTCPConnectImplicitTLS) }

func testTCPConnectImplicitTLS(t *testing.T) {
	ca := testutil.NewCA(t, "imaps CA")
	leaf := ca.Issue(t, testutil.LeafOptions{})
	cfg := leaf.ServerConfig("imap")
	addr := testutil.Accept(t, func(raw net.Conn) {
		go func() {
			c := tls.Server(raw, cfg)
			defer c.Close()
			c.Write([]byte("* OK IMAP4rev1 ready\r\n"))
			io.Copy(c, c)
		}()
	})
	ctx := context.Background()

	c, resp, err := TCPConnect(ctx, TCPConnectRequest{Address: addr, TimeoutMS: 5000, TLS: &TLSOptions{RootCAsPEM: string(ca.PEM), ALPN: []string{"imap"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp.TLS == nil || !resp.TLS.Verified || resp.TLS.ALPN != "imap" || resp.TLS.Fingerprint != leaf.Fingerprint {
		t.Fatalf("tls = %+v", resp.TLS)
	}
	data, _, err := c.Read(ctx, TCPReadRequest{Mode: "line", TimeoutMS: 5000})
	if err != nil || string(data) != "* OK IMAP4rev1 ready\r\n" {
		t.Fatalf("greeting = %q, %v", data, err)
	}
	c.Write(ctx, []byte("a1 NOOP\r\n"))
	data, _, err = c.Read(ctx, TCPReadRequest{Mode: "n", N: 9, TimeoutMS: 5000})
	if err != nil || string(data) != "a1 NOOP\r\n" {
		t.Fatalf("echo = %q, %v", data, err)
	}
	_, err = c.StartTLS(ctx, TLSOptions{})
	wantCode(t, err, CodeInvalid)

	// Verification failure: no connection, but the chain is reported.
	c2, resp, err := TCPConnect(ctx, TCPConnectRequest{Address: addr, TimeoutMS: 5000, TLS: &TLSOptions{}})
	wantCode(t, err, CodeCertUntrusted)
	if c2 != nil {
		t.Error("got a connection after a failed verification")
	}
	if resp.TLS == nil || resp.TLS.Fingerprint != leaf.Fingerprint || resp.Remote != addr {
		t.Errorf("response = %+v", resp)
	}
}

func benchListener(b *testing.B) string { return testutil.AcceptAndClose(b) }

// BenchmarkTCPConnectDirect measures a TCP check without WASM: connect to a
// loopback listener (which accepts and closes) and close.
func BenchmarkTCPConnectDirect(b *testing.B) {
	addr := benchListener(b)
	ctx := context.Background()
	req := TCPConnectRequest{Address: addr, TimeoutMS: 5000}
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := TCPConnect(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkTCPConnectDirectParallel is BenchmarkTCPConnectDirect with
// concurrent checks.
func BenchmarkTCPConnectDirectParallel(b *testing.B) {
	addr := benchListener(b)
	ctx := context.Background()
	req := TCPConnectRequest{Address: addr, TimeoutMS: 5000}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, _, err := TCPConnect(ctx, req)
			if err != nil {
				b.Error(err)
				return
			}
			c.Close()
		}
	})
}

// BenchmarkTCPBannerDirect measures a banner check without WASM: connect,
// read the greeting line, close.
func BenchmarkTCPBannerDirect(b *testing.B) {
	addr := testutil.Accept(b, func(c net.Conn) {
		c.Write([]byte("220 mail.test ESMTP ready\r\n"))
		c.Close()
	})
	ctx := context.Background()
	req := TCPConnectRequest{Address: addr, TimeoutMS: 5000}
	read := TCPReadRequest{Mode: TCPReadLine, TimeoutMS: 5000}
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := TCPConnect(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx, read); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func TestTCPReset(t *testing.T) {
	bothReadPaths(t, func(t *testing.T) {
		addr := testutil.ServeTCP(t, func(c net.Conn) {
			c.Write([]byte("bye"))
			// Wait for the client's request so that the reset comes while it reads.
			buf := make([]byte, 3)
			io.ReadFull(c, buf)
			c.(*net.TCPConn).SetLinger(0) // close with RST
		})
		c := connect(t, addr)
		if _, err := c.Write(context.Background(), []byte("go\n")); err != nil {
			t.Fatal(err)
		}
		data, rr, err := c.Read(context.Background(), TCPReadRequest{Mode: "eof", TimeoutMS: 5000})
		ze := wantCode(t, err, CodeReset)
		if want := "read to end of stream from " + addr + ": connection reset by peer (3 bytes received)"; ze.Message != want {
			t.Errorf("message = %q, want %q", ze.Message, want)
		}
		if string(data) != "bye" || rr.EOF {
			t.Errorf("data = %q, %+v", data, rr)
		}
	})
}

// TestTCPReadLargeReplies reads replies larger than a connection's first
// buffer (512 bytes) and than one read syscall (16 KiB), both when they are
// already waiting when the read starts and when they arrive after the read
// has parked.
func TestTCPReadLargeReplies(t *testing.T) {
	long := strings.Repeat("x", 3000) + "\n"
	huge := strings.Repeat("0123456789abcdef", 2600) // 41,600 bytes
	bothReadPaths(t, func(t *testing.T) {
		tests := []struct {
			name  string
			late  bool // the server sends only after the client's "go\n"
			send  string
			req   TCPReadRequest
			want  string
			close bool
		}{
			{name: "long line waiting", send: long, req: TCPReadRequest{Mode: "line"}, want: long},
			{name: "long line arriving", late: true, send: long, req: TCPReadRequest{Mode: "line"}, want: long},
			{name: "huge to eof waiting", send: huge, close: true, req: TCPReadRequest{Mode: "eof"}, want: huge},
			{name: "huge to eof arriving", late: true, send: huge, close: true, req: TCPReadRequest{Mode: "eof"}, want: huge},
			{name: "huge n arriving", late: true, send: huge, req: TCPReadRequest{Mode: "n", N: len(huge)}, want: huge},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sent := make(chan struct{})
				addr := testutil.ServeTCP(t, func(c net.Conn) {
					if tt.late {
						bufio.NewReader(c).ReadString('\n')
					}
					c.Write([]byte(tt.send))
					close(sent)
					if !tt.close {
						testutil.HoldOpen(c)
					}
				})
				c := connect(t, addr)
				if !tt.late {
					<-sent
				}
				type outcome struct {
					data []byte
					err  error
				}
				got := make(chan outcome, 1)
				go func() {
					tt.req.TimeoutMS = 5000
					data, _, err := c.Read(context.Background(), tt.req)
					got <- outcome{data, err}
				}()
				if tt.late {
					waitFor(t, c.reading.Load)
					if _, err := c.Write(context.Background(), []byte("go\n")); err != nil {
						t.Fatal(err)
					}
				}
				o := <-got
				if o.err != nil || string(o.data) != tt.want {
					t.Fatalf("read %d bytes, %v; want %d bytes", len(o.data), o.err, len(tt.want))
				}
			})
		}
	})
}
