//go:build linux

package hostfuncs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// icmpRequireRoot skips tests that need raw ICMP sockets.
func icmpRequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("raw ICMP sockets need root (CAP_NET_RAW)")
	}
}

// icmpHasIPv6Loopback reports whether ::1 is configured.
func icmpHasIPv6Loopback() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func newICMPTestEngine(t testing.TB) *ICMPEngine {
	t.Helper()
	e := &ICMPEngine{}
	t.Cleanup(func() { e.Close() })
	return e
}

// icmpProcInt reads an integer sysctl (read only; tests never write the
// host's sysctls).
func icmpProcInt(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantPingCode(t *testing.T, err error, code Code) *Error {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("error = %v (%T), want *Error with code %s", err, err, code)
	}
	if ze.Code != code {
		t.Fatalf("code = %s (%s), want %s", ze.Code, ze.Message, code)
	}
	return ze
}

// checkPingAllAnswered asserts a complete, consistent response.
func checkPingAllAnswered(t *testing.T, resp PingResponse, addr, mode string, count, ttl int) {
	t.Helper()
	if resp.Address != addr || resp.Mode != mode || resp.Sent != count || resp.Received != count || resp.LossPct != 0 {
		t.Fatalf("got address=%s mode=%s sent=%d received=%d loss=%v, want %s %s %d %d 0",
			resp.Address, resp.Mode, resp.Sent, resp.Received, resp.LossPct, addr, mode, count, count)
	}
	if len(resp.RTTsMS) != count {
		t.Fatalf("len(rtts_ms) = %d, want %d", len(resp.RTTsMS), count)
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for i, r := range resp.RTTsMS {
		if r < 0 {
			t.Fatalf("rtts_ms[%d] = %v for a received reply", i, r)
		}
		lo, hi, sum = math.Min(lo, r), math.Max(hi, r), sum+r
	}
	if resp.MinMS != lo || resp.MaxMS != hi {
		t.Fatalf("min/max = %v/%v, want %v/%v from %v", resp.MinMS, resp.MaxMS, lo, hi, resp.RTTsMS)
	}
	if avg := sum / float64(count); math.Abs(resp.AvgMS-avg) > 0.001 {
		t.Fatalf("avg = %v, want %v", resp.AvgMS, avg)
	}
	if resp.StddevMS < 0 || resp.StddevMS > hi-lo+0.001 {
		t.Fatalf("stddev = %v outside [0, max-min]", resp.StddevMS)
	}
	if ttl != 0 && resp.TTL != ttl {
		t.Fatalf("ttl = %d, want %d", resp.TTL, ttl)
	}
}

func TestPingLoopbackRaw(t *testing.T) {
	icmpRequireRoot(t)
	cases := []struct {
		addr    string
		mode    string
		ttlFile string
		v6      bool
	}{
		{"127.0.0.1", ICMPModeRaw, "/proc/sys/net/ipv4/ip_default_ttl", false},
		{"::1", ICMPModeRaw, "/proc/sys/net/ipv6/conf/lo/hop_limit", true},
		{"127.0.0.1", ICMPModeAuto, "/proc/sys/net/ipv4/ip_default_ttl", false}, // root: auto picks raw
	}
	for _, tc := range cases {
		t.Run(tc.addr+"/"+tc.mode, func(t *testing.T) {
			if tc.v6 && !icmpHasIPv6Loopback() {
				t.Skip("no IPv6 loopback address on this host")
			}
			e := newICMPTestEngine(t)
			resp, err := e.Ping(context.Background(), PingRequest{Address: tc.addr, Count: 3, IntervalMS: 20, Mode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			checkPingAllAnswered(t, resp, tc.addr, ICMPModeRaw, 3, icmpProcInt(t, tc.ttlFile))
			if got := e.SocketsOpened(); got != 1 {
				t.Fatalf("sockets opened = %d, want 1", got)
			}
		})
	}
}

func TestPingSharedConcurrent(t *testing.T) {
	icmpRequireRoot(t)
	e := newICMPTestEngine(t)
	const pings = 1000
	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan error, pings)
	for range pings {
		wg.Go(func() {
			resp, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Count: 2, IntervalMS: 10, Mode: ICMPModeRaw})
			if err != nil {
				errs <- err
				return
			}
			if resp.Sent != 2 || resp.Received != 2 || resp.RTTsMS[0] < 0 || resp.RTTsMS[1] < 0 {
				bad.Add(1)
				errs <- fmt.Errorf("sent=%d received=%d rtts=%v", resp.Sent, resp.Received, resp.RTTsMS)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%d of %d pings failed, first: %v", len(errs)+1, pings, err)
	}
	if got := e.SocketsOpened(); got != 1 {
		t.Fatalf("sockets opened = %d, want 1 shared raw socket", got)
	}
	if got := e.OpenSockets(); got != 1 {
		t.Fatalf("open sockets = %d, want 1", got)
	}
	e.Close()
	if got := e.OpenSockets(); got != 0 {
		t.Fatalf("open sockets after Close = %d, want 0", got)
	}
}

// icmpSniffer is a raw socket of the test's own that sees the echo requests
// the engine sends on loopback, with their TTL / hop limit.
type icmpSniffer struct {
	c  *icmp.PacketConn
	v6 bool
}

func newICMPSniffer(t *testing.T, v6 bool) *icmpSniffer {
	t.Helper()
	network, addr := "ip4:icmp", "0.0.0.0"
	if v6 {
		network, addr = "ip6:ipv6-icmp", "::"
	}
	c, err := icmp.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if v6 {
		err = c.IPv6PacketConn().SetControlMessage(ipv6.FlagHopLimit, true)
	} else {
		err = c.IPv4PacketConn().SetControlMessage(ipv4.FlagTTL, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &icmpSniffer{c: c, v6: v6}
}

// requests reads until it has seen n echo requests with identifier id and
// returns how many carried each TTL.
func (s *icmpSniffer) requests(t *testing.T, id uint16, n int) map[int]int {
	t.Helper()
	ttls := map[int]int{}
	buf := make([]byte, 1<<16)
	s.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for seen := 0; seen < n; {
		var msg []byte
		var ttl int
		if s.v6 {
			k, cm, _, err := s.c.IPv6PacketConn().ReadFrom(buf)
			if err != nil {
				t.Fatalf("sniffed %d of %d echo requests (%v): %v", seen, n, ttls, err)
			}
			msg, ttl = buf[:k], cm.HopLimit
			if msg[0] != byte(ipv6.ICMPTypeEchoRequest) {
				continue
			}
		} else {
			k, cm, _, err := s.c.IPv4PacketConn().ReadFrom(buf)
			if err != nil {
				t.Fatalf("sniffed %d of %d echo requests (%v): %v", seen, n, ttls, err)
			}
			msg, ttl = buf[:k], cm.TTL
			if msg[0] != byte(ipv4.ICMPTypeEcho) {
				continue
			}
		}
		if binary.BigEndian.Uint16(msg[4:]) != id {
			continue
		}
		ttls[ttl]++
		seen++
	}
	return ttls
}

func (e *ICMPEngine) testSocket(t *testing.T, key icmpKey) *icmpSocket {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.socks[key]
	if s == nil {
		t.Fatalf("no open socket %+v", key)
	}
	return s
}

// TestPingTTL checks that every echo request leaves with the TTL its own
// request asked for, also when pings with different TTLs share the socket.
func TestPingTTL(t *testing.T) {
	icmpRequireRoot(t)
	cases := []struct {
		addr        string
		v6          bool
		defaultFile string
	}{
		{"127.0.0.1", false, "/proc/sys/net/ipv4/ip_default_ttl"},
		{"::1", true, "/proc/sys/net/ipv6/conf/lo/hop_limit"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if tc.v6 && !icmpHasIPv6Loopback() {
				t.Skip("no IPv6 loopback address on this host")
			}
			sniff := newICMPSniffer(t, tc.v6)
			e := newICMPTestEngine(t)
			ctx := context.Background()

			// TTL 1 still reaches loopback.
			resp, err := e.Ping(ctx, PingRequest{Address: tc.addr, TTL: 1, Mode: ICMPModeRaw})
			if err != nil {
				t.Fatal(err)
			}
			checkPingAllAnswered(t, resp, tc.addr, ICMPModeRaw, 1, 0)
			id := e.testSocket(t, icmpKey{v6: tc.v6, raw: true}).id
			if got := sniff.requests(t, id, 1); got[1] != 1 {
				t.Fatalf("sniffed TTLs %v, want one request with TTL 1", got)
			}

			// Two pings with different TTLs interleave on the shared socket.
			var wg sync.WaitGroup
			for _, ttl := range []int{5, 9} {
				wg.Go(func() {
					resp, err := e.Ping(ctx, PingRequest{Address: tc.addr, Count: 5, IntervalMS: 10, TTL: ttl, Mode: ICMPModeRaw})
					if err != nil || resp.Received != 5 {
						t.Errorf("ttl %d: received %d, err %v", ttl, resp.Received, err)
					}
				})
			}
			wg.Wait()
			if got := sniff.requests(t, id, 10); got[5] != 5 || got[9] != 5 || len(got) != 2 {
				t.Fatalf("sniffed TTLs %v, want 5 with TTL 5 and 5 with TTL 9", got)
			}

			// TTL 0 goes back to the OS default.
			if _, err := e.Ping(ctx, PingRequest{Address: tc.addr, Mode: ICMPModeRaw}); err != nil {
				t.Fatal(err)
			}
			def := icmpProcInt(t, tc.defaultFile)
			if got := sniff.requests(t, id, 1); got[def] != 1 {
				t.Fatalf("sniffed TTLs %v, want one request with the default TTL %d", got, def)
			}
		})
	}
}

func TestPingProBing(t *testing.T) {
	icmpRequireRoot(t)
	v4TTL := icmpProcInt(t, "/proc/sys/net/ipv4/ip_default_ttl")
	cases := []struct {
		name string
		req  PingRequest
		v6   bool
		ttl  int
	}{
		{"dont_fragment", PingRequest{Address: "127.0.0.1", DontFragment: true}, false, v4TTL},
		{"source", PingRequest{Address: "127.0.0.1", Source: "127.0.0.1"}, false, v4TTL},
		{"source_and_df_auto", PingRequest{Address: "127.0.0.1", Source: "127.0.0.1", DontFragment: true, Mode: ICMPModeAuto}, false, v4TTL},
		{"source_v6", PingRequest{Address: "::1", Source: "::1"}, true, 0},
		{"dont_fragment_v6", PingRequest{Address: "::1", DontFragment: true}, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v6 && !icmpHasIPv6Loopback() {
				t.Skip("no IPv6 loopback address on this host")
			}
			e := newICMPTestEngine(t)
			req := tc.req
			req.Count, req.IntervalMS = 3, 20
			resp, err := e.Ping(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkPingAllAnswered(t, resp, tc.req.Address, ICMPModeRaw, 3, tc.ttl)
			if got := e.SocketsOpened(); got != 0 {
				t.Fatalf("shared sockets opened = %d, want 0 (dedicated pinger)", got)
			}
		})
	}
	t.Run("source_not_local", func(t *testing.T) {
		// 192.0.2.1 (TEST-NET-1) is not configured here: bind fails, nothing is sent.
		_, err := newICMPTestEngine(t).Ping(context.Background(), PingRequest{Address: "127.0.0.1", Source: "192.0.2.1", Mode: ICMPModeRaw})
		ze := wantPingCode(t, err, CodeInvalid)
		if want := "ping 127.0.0.1: source 192.0.2.1 is not an address of this host"; ze.Message != want {
			t.Fatalf("message = %q, want %q", ze.Message, want)
		}
	})
}

func TestPingInvalid(t *testing.T) {
	cases := []struct {
		req  PingRequest
		want string
	}{
		{PingRequest{Address: ""}, "ping: address is empty"},
		{PingRequest{Address: "999.1.1.1"}, "ping 999.1.1.1: not a valid IPv4 address"},
		{PingRequest{Address: "10.1.1"}, "ping 10.1.1: not a valid IPv4 address"},
		{PingRequest{Address: "127.0.0.1", Count: -1}, "ping 127.0.0.1: count must be between 1 and 10000, got -1"},
		{PingRequest{Address: "127.0.0.1", Count: 10001}, "ping 127.0.0.1: count must be between 1 and 10000, got 10001"},
		{PingRequest{Address: "127.0.0.1", IntervalMS: 9}, "ping 127.0.0.1: interval_ms must be at least 10, got 9"},
		{PingRequest{Address: "127.0.0.1", Size: 15}, "ping 127.0.0.1: size must be between 16 and 65507, got 15"},
		{PingRequest{Address: "127.0.0.1", Size: 65508}, "ping 127.0.0.1: size must be between 16 and 65507, got 65508"},
		{PingRequest{Address: "127.0.0.1", Size: 20, DontFragment: true}, "ping 127.0.0.1: size must be between 24 and 65507 with source or dont_fragment, got 20"},
		{PingRequest{Address: "127.0.0.1", TTL: 256}, "ping 127.0.0.1: ttl must be between 1 and 255 (0 = OS default), got 256"},
		{PingRequest{Address: "127.0.0.1", TimeoutMS: -5}, "ping 127.0.0.1: timeout_ms must not be negative, got -5"},
		{PingRequest{Address: "127.0.0.1", Mode: "udp"}, `ping 127.0.0.1: mode must be "auto", "raw" or "unprivileged", got "udp"`},
		{PingRequest{Address: "127.0.0.1", Source: "localhost"}, `ping 127.0.0.1: source "localhost" is not an IP address`},
		{PingRequest{Address: "127.0.0.1", Source: "::1"}, "ping 127.0.0.1: source ::1 and destination 127.0.0.1 are of different IP versions"},
	}
	e := newICMPTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := e.Ping(context.Background(), tc.req)
			ze := wantPingCode(t, err, CodeInvalid)
			if ze.Message != tc.want {
				t.Fatalf("message = %q, want %q", ze.Message, tc.want)
			}
		})
	}
	if got := e.SocketsOpened(); got != 0 {
		t.Fatalf("invalid requests opened %d sockets", got)
	}
}

// icmpFakeDNS is a DNS server on loopback: loop.zappy.test has A 127.0.0.1
// and no AAAA; every other name is NXDOMAIN. It counts the queries it gets.
func icmpFakeDNS(t *testing.T) (*net.Resolver, *atomic.Int64) {
	t.Helper()
	queries := new(atomic.Int64)
	addr := testutil.ServeUDP(t, func(b []byte) []byte {
		var req dnsmessage.Message
		if err := req.Unpack(b); err != nil || len(req.Questions) != 1 {
			return nil
		}
		queries.Add(1)
		q := req.Questions[0]
		resp := dnsmessage.Message{
			Header:    dnsmessage.Header{ID: req.ID, Response: true, Authoritative: true, RecursionDesired: req.RecursionDesired, RecursionAvailable: true},
			Questions: req.Questions,
		}
		switch {
		case q.Name.String() != "loop.zappy.test.":
			resp.RCode = dnsmessage.RCodeNameError
		case q.Type == dnsmessage.TypeA:
			resp.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}},
			}}
		}
		out, err := resp.Pack()
		if err != nil {
			return nil
		}
		return out
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	return r, queries
}

func TestPingResolve(t *testing.T) {
	r, queries := icmpFakeDNS(t)
	e := newICMPTestEngine(t)
	e.Resolver = r
	ctx := context.Background()

	for _, name := range []string{"host.invalid", "HOST.INVALID."} {
		_, err := e.Ping(ctx, PingRequest{Address: name})
		ze := wantPingCode(t, err, CodeDNS)
		if !strings.Contains(ze.Message, name) {
			t.Fatalf("message %q does not name %s", ze.Message, name)
		}
	}
	if _, err := e.Ping(ctx, PingRequest{Address: "999.1.1.1"}); err == nil {
		t.Fatal("999.1.1.1 resolved")
	}
	if n := queries.Load(); n != 0 {
		t.Fatalf("%d DNS queries for names that must not be looked up", n)
	}

	_, err := e.Ping(ctx, PingRequest{Address: "nosuch.zappy.test"})
	ze := wantPingCode(t, err, CodeDNS)
	if !strings.HasPrefix(ze.Message, "ping nosuch.zappy.test: lookup nosuch.zappy.test") {
		t.Fatalf("message = %q", ze.Message)
	}
	if queries.Load() == 0 {
		t.Fatal("the resolver was not asked")
	}

	if os.Geteuid() == 0 {
		resp, err := e.Ping(ctx, PingRequest{Address: "loop.zappy.test", Mode: ICMPModeRaw})
		if err != nil {
			t.Fatal(err)
		}
		checkPingAllAnswered(t, resp, "127.0.0.1", ICMPModeRaw, 1, 0)
	}
}

// TestPingDispatch feeds crafted replies to a socket's demultiplexer: only a
// reply with the right identifier, sequence, token and stamp counts, once.
func TestPingDispatch(t *testing.T) {
	s := &icmpSocket{key: icmpKey{raw: true}, id: 0x1234, pending: map[uint16]icmpPending{}}
	run := &echoRun{token: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, replies: make(chan echoReply, 8)}
	sentAt := time.Now()
	s.pending[7] = icmpPending{run: run, index: 1, stamp: 42, sentAt: sentAt}

	reply := func(typ byte, id, seq uint16, token [8]byte, stamp uint64, size int) []byte {
		b := make([]byte, 8+size)
		b[0] = typ
		binary.BigEndian.PutUint16(b[4:], id)
		binary.BigEndian.PutUint16(b[6:], seq)
		if size >= 16 {
			copy(b[8:], token[:])
			binary.BigEndian.PutUint64(b[16:], stamp)
		}
		return b
	}
	tok := run.token
	other := [8]byte{9}
	ignored := []struct {
		name string
		msg  []byte
	}{
		{"echo request", reply(8, 0x1234, 7, tok, 42, 56)},
		{"foreign identifier", reply(0, 0x4321, 7, tok, 42, 56)},
		{"unknown sequence", reply(0, 0x1234, 8, tok, 42, 56)},
		{"foreign token", reply(0, 0x1234, 7, other, 42, 56)},
		{"stale stamp", reply(0, 0x1234, 7, tok, 41, 56)},
		{"short payload", reply(0, 0x1234, 7, tok, 42, 8)},
	}
	for _, tc := range ignored {
		s.dispatch(tc.msg, 64, sentAt.Add(time.Millisecond))
		if len(run.replies) != 0 {
			t.Fatalf("%s was delivered", tc.name)
		}
	}
	s.dispatch(reply(0, 0x1234, 7, tok, 42, 56), 63, sentAt.Add(5*time.Millisecond))
	s.dispatch(reply(0, 0x1234, 7, tok, 42, 56), 63, sentAt.Add(6*time.Millisecond)) // duplicate
	if len(run.replies) != 1 {
		t.Fatalf("%d replies delivered, want 1", len(run.replies))
	}
	if got := <-run.replies; got != (echoReply{index: 1, rtt: 5 * time.Millisecond, ttl: 63}) {
		t.Fatalf("reply = %+v", got)
	}
	if len(s.pending) != 0 {
		t.Fatalf("pending after reply: %v", s.pending)
	}

	// Unprivileged sockets: the kernel owns the identifier, so any is fine.
	u := &icmpSocket{key: icmpKey{v6: true}, pending: map[uint16]icmpPending{3: {run: run, index: 0, stamp: 9, sentAt: sentAt}}}
	u.dispatch(reply(129, 0xbeef, 3, tok, 9, 56), 0, sentAt.Add(time.Millisecond))
	if len(run.replies) != 1 {
		t.Fatal("ICMPv6 echo reply on an unprivileged socket was not delivered")
	}
}

func TestPingSequenceSpace(t *testing.T) {
	s := &icmpSocket{pending: map[uint16]icmpPending{}, nextSeq: 65535}
	run := &echoRun{}
	s.pending[65535] = icmpPending{run: run}
	s.pending[0] = icmpPending{run: run}
	if seq, ok := s.allocSeq(); !ok || seq != 1 {
		t.Fatalf("allocSeq = %d, %v; want 1 (65535 and 0 in use, wrapping)", seq, ok)
	}
	for i := range 1 << 16 {
		s.pending[uint16(i)] = icmpPending{run: run}
	}
	if _, ok := s.allocSeq(); ok {
		t.Fatal("allocated a sequence number with all 65536 in flight")
	}
}

func TestPingDeadlines(t *testing.T) {
	icmpRequireRoot(t)
	e := newICMPTestEngine(t)

	t.Run("timeout_ms ends the measurement", func(t *testing.T) {
		resp, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Count: 5, IntervalMS: 200, TimeoutMS: 300, Mode: ICMPModeRaw})
		if err != nil {
			t.Fatal(err)
		}
		checkPingAllAnswered(t, resp, "127.0.0.1", ICMPModeRaw, 2, 0)
	})
	t.Run("context deadline ends the measurement", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		resp, err := e.Ping(ctx, PingRequest{Address: "127.0.0.1", Count: 5, IntervalMS: 200, Mode: ICMPModeRaw})
		if err != nil {
			t.Fatal(err)
		}
		checkPingAllAnswered(t, resp, "127.0.0.1", ICMPModeRaw, 2, 0)
	})
	t.Run("cancel is an error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.Ping(ctx, PingRequest{Address: "127.0.0.1", Count: 3, IntervalMS: 1000, Mode: ICMPModeRaw})
		wantPingCode(t, err, CodeCanceled)
	})
	t.Run("Close fails pings in flight", func(t *testing.T) {
		e := newICMPTestEngine(t)
		done := make(chan error, 1)
		go func() {
			_, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Count: 3, IntervalMS: 10000, Mode: ICMPModeRaw})
			done <- err
		}()
		// Wait for the ping to hold the socket.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			e.mu.Lock()
			s := e.socks[icmpKey{raw: true}]
			users := 0
			if s != nil {
				users = s.users
			}
			e.mu.Unlock()
			if users == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("ping never acquired the socket")
			}
		}
		e.Close()
		wantPingCode(t, <-done, CodeCanceled)
	})
}

func TestPingIdleClose(t *testing.T) {
	icmpRequireRoot(t)
	e := &ICMPEngine{IdleTimeout: 20 * time.Millisecond}
	t.Cleanup(func() { e.Close() })
	if _, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Mode: ICMPModeRaw}); err != nil {
		t.Fatal(err)
	}
	s := e.testSocket(t, icmpKey{raw: true})
	select {
	case <-s.readerDone:
	case <-time.After(5 * time.Second):
		t.Fatal("idle socket was not closed")
	}
	if n := e.OpenSockets(); n != 0 {
		t.Fatalf("open sockets = %d after idle close", n)
	}
	resp, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Mode: ICMPModeRaw})
	if err != nil {
		t.Fatal(err)
	}
	checkPingAllAnswered(t, resp, "127.0.0.1", ICMPModeRaw, 1, 0)
	if n := e.SocketsOpened(); n != 2 {
		t.Fatalf("sockets opened = %d, want 2 (reopened after idle close)", n)
	}
}

// Network-namespace tests: the parent re-executes the test binary under
// `unshare -n` (optionally without CAP_NET_RAW), and the child changes
// sysctls that belong to that namespace only.
const (
	icmpNetnsEnv       = "ZAPPY_ICMP_NETNS_SCENARIO"
	icmpParentNetnsEnv = "ZAPPY_ICMP_PARENT_NETNS"
)

func TestPingNetns(t *testing.T) {
	if os.Getenv(icmpNetnsEnv) != "" {
		t.Skip("inside the namespace child")
	}
	icmpRequireRoot(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("util-linux unshare is not installed")
	}
	if out, err := exec.Command(unshare, "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace with unshare -n: %v %s", err, out)
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []struct {
		name    string
		dropRaw bool
	}{{"root", false}, {"noraw", true}} {
		t.Run(sc.name, func(t *testing.T) {
			args := []string{"-n", "--"}
			if sc.dropRaw {
				setpriv, err := exec.LookPath("setpriv")
				if err != nil {
					t.Skip("util-linux setpriv is not installed (needed to drop CAP_NET_RAW)")
				}
				args = append(args, setpriv, "--bounding-set", "-net_raw", "--")
			}
			args = append(args, os.Args[0], "-test.run=^TestPingNetnsChild$", "-test.v", "-test.count=1", "-test.timeout=60s")
			cmd := exec.Command(unshare, args...)
			cmd.Env = append(os.Environ(), icmpNetnsEnv+"="+sc.name, icmpParentNetnsEnv+"="+self)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestPingNetnsChild") {
				t.Fatalf("namespace child %s: %v\n%s", sc.name, err, out)
			}
			if testing.Verbose() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

// icmpNetnsSysctl writes a sysctl of the child's own network namespace.
func icmpNetnsSysctl(t *testing.T, name, value string) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/"+strings.ReplaceAll(name, ".", "/"), []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
}

// icmpNetnsLink sets lo up and its MTU through ioctls.
func icmpNetnsLink(t *testing.T, mtu uint32) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if mtu > 0 {
		ifr.SetUint32(mtu)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
			t.Fatalf("set lo mtu %d: %v", mtu, err)
		}
		return
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		t.Fatal(err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		t.Fatalf("set lo up: %v", err)
	}
}

func TestPingNetnsChild(t *testing.T) {
	scenario := os.Getenv(icmpNetnsEnv)
	if scenario == "" {
		t.Skip("runs only inside the network namespace that TestPingNetns creates")
	}
	// Never touch the host's sysctls: insist on a namespace of our own.
	self, err := os.Readlink("/proc/self/ns/net")
	if parent := os.Getenv(icmpParentNetnsEnv); err != nil || parent == "" || self == parent {
		t.Fatalf("refusing to change sysctls: not in a fresh network namespace (%s, parent %s, %v)", self, parent, err)
	}
	icmpNetnsLink(t, 0)
	ctx := context.Background()
	gid := os.Getegid()
	const v4 = "127.0.0.1"

	switch scenario {
	case "root":
		t.Run("unprivileged allowed", func(t *testing.T) {
			icmpNetnsSysctl(t, "net.ipv4.ping_group_range", fmt.Sprintf("%d %d", gid, gid))
			e := newICMPTestEngine(t)
			addrs := []string{v4}
			if icmpHasIPv6Loopback() {
				addrs = append(addrs, "::1")
			}
			for _, addr := range addrs {
				resp, err := e.Ping(ctx, PingRequest{Address: addr, Count: 3, IntervalMS: 20, Mode: ICMPModeUnprivileged})
				if err != nil {
					t.Fatal(err)
				}
				checkPingAllAnswered(t, resp, addr, ICMPModeUnprivileged, 3, 0)
			}
			resp, err := e.Ping(ctx, PingRequest{Address: v4, Count: 2, IntervalMS: 20, Mode: ICMPModeUnprivileged, DontFragment: true})
			if err != nil {
				t.Fatal(err)
			}
			checkPingAllAnswered(t, resp, v4, ICMPModeUnprivileged, 2, 0)
		})
		t.Run("unprivileged refused", func(t *testing.T) {
			icmpNetnsSysctl(t, "net.ipv4.ping_group_range", "1 0")
			want := fmt.Sprintf("ping 127.0.0.1: unprivileged ICMP needs net.ipv4.ping_group_range to include gid %d (currently '1 0')", gid)
			for _, df := range []bool{false, true} {
				_, err := newICMPTestEngine(t).Ping(ctx, PingRequest{Address: v4, Mode: ICMPModeUnprivileged, DontFragment: df})
				if ze := wantPingCode(t, err, CodePermission); ze.Message != want {
					t.Fatalf("dont_fragment=%v: message = %q, want %q", df, ze.Message, want)
				}
			}
		})
		t.Run("all lost", func(t *testing.T) {
			icmpNetnsSysctl(t, "net.ipv4.icmp_echo_ignore_all", "1")
			defer icmpNetnsSysctl(t, "net.ipv4.icmp_echo_ignore_all", "0")
			for _, df := range []bool{false, true} {
				resp, err := newICMPTestEngine(t).Ping(ctx, PingRequest{Address: v4, Count: 2, IntervalMS: 20, TimeoutMS: 300, Mode: ICMPModeRaw, DontFragment: df})
				if err != nil {
					t.Fatalf("dont_fragment=%v: %v", df, err)
				}
				want := PingResponse{Address: v4, Mode: ICMPModeRaw, Sent: 2, Received: 0, LossPct: 100, RTTsMS: []float64{-1, -1}}
				if !reflect.DeepEqual(resp, want) {
					t.Fatalf("dont_fragment=%v: got %+v, want %+v", df, resp, want)
				}
			}
		})
		t.Run("dont_fragment applied", func(t *testing.T) {
			icmpNetnsLink(t, 1280)
			e := newICMPTestEngine(t)
			// Without DF a 2000-byte echo is fragmented and answered.
			for _, req := range []PingRequest{
				{Address: v4, Size: 2000, Mode: ICMPModeRaw},
				{Address: v4, Size: 2000, Mode: ICMPModeRaw, Source: v4},
			} {
				resp, err := e.Ping(ctx, req)
				if err != nil {
					t.Fatalf("%+v: %v", req, err)
				}
				checkPingAllAnswered(t, resp, v4, ICMPModeRaw, 1, 0)
			}
			// With DF it does not fit the 1280-byte MTU.
			_, err := e.Ping(ctx, PingRequest{Address: v4, Size: 2000, Mode: ICMPModeRaw, DontFragment: true})
			if err == nil || !strings.Contains(err.Error(), "message too long") {
				t.Fatalf("err = %v, want message too long", err)
			}
			t.Logf("dont_fragment over the MTU: %v (code %s)", err, Classify(err))
			resp, err := e.Ping(ctx, PingRequest{Address: v4, Size: 1000, Mode: ICMPModeRaw, DontFragment: true})
			if err != nil {
				t.Fatal(err)
			}
			checkPingAllAnswered(t, resp, v4, ICMPModeRaw, 1, 0)
		})

	case "noraw":
		if c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err == nil {
			c.Close()
			t.Fatal("raw ICMP socket opened although CAP_NET_RAW was dropped")
		}
		t.Run("nothing permitted", func(t *testing.T) {
			icmpNetnsSysctl(t, "net.ipv4.ping_group_range", "1 0")
			both := fmt.Sprintf("ping 127.0.0.1: raw ICMP needs root or CAP_NET_RAW; unprivileged ICMP needs net.ipv4.ping_group_range to include gid %d (currently '1 0')", gid)
			for _, tc := range []struct {
				req  PingRequest
				want string
			}{
				{PingRequest{Address: v4}, both},
				{PingRequest{Address: v4, DontFragment: true}, both},
				{PingRequest{Address: v4, Mode: ICMPModeRaw}, "ping 127.0.0.1: raw ICMP needs root or CAP_NET_RAW"},
				{PingRequest{Address: v4, Mode: ICMPModeRaw, Source: v4}, "ping 127.0.0.1: raw ICMP needs root or CAP_NET_RAW"},
			} {
				_, err := newICMPTestEngine(t).Ping(ctx, tc.req)
				if ze := wantPingCode(t, err, CodePermission); ze.Message != tc.want {
					t.Fatalf("%+v: message = %q, want %q", tc.req, ze.Message, tc.want)
				}
			}
		})
		t.Run("auto falls back to unprivileged", func(t *testing.T) {
			icmpNetnsSysctl(t, "net.ipv4.ping_group_range", fmt.Sprintf("%d %d", gid, gid))
			e := newICMPTestEngine(t)
			for _, req := range []PingRequest{
				{Address: v4, Count: 3, IntervalMS: 20},
				{Address: v4, Count: 3, IntervalMS: 20},
				{Address: v4, Count: 3, IntervalMS: 20, DontFragment: true},
			} {
				resp, err := e.Ping(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				checkPingAllAnswered(t, resp, v4, ICMPModeUnprivileged, 3, 0)
			}
			if got := e.SocketsOpened(); got != 1 {
				t.Fatalf("sockets opened = %d, want 1", got)
			}
		})
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
}

// The ping benchmarks run 64 concurrent pingers (2 vCPU × SetParallelism 32)
// against loopback and report how many sockets were opened and how many
// replies were lost.

func BenchmarkPingShared(b *testing.B) {
	icmpRequireRoot(b)
	e := &ICMPEngine{}
	defer e.Close()
	var lost atomic.Int64
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := e.Ping(context.Background(), PingRequest{Address: "127.0.0.1", Mode: ICMPModeRaw, TimeoutMS: 5000})
			if err != nil {
				b.Error(err)
				return
			}
			lost.Add(int64(resp.Sent - resp.Received))
		}
	})
	b.ReportMetric(float64(e.SocketsOpened()), "sockets")
	b.ReportMetric(float64(lost.Load()), "lost")
}

func BenchmarkPingProBing(b *testing.B) {
	icmpRequireRoot(b)
	var sockets, lost atomic.Int64
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := probing.New("")
			p.SetLogger(probing.NoopLogger{})
			p.SetIPAddr(&net.IPAddr{IP: net.IPv4(127, 0, 0, 1)})
			p.SetPrivileged(true)
			p.Count = 1
			p.Timeout = 5 * time.Second
			p.OnSetup = func() { sockets.Add(1) }
			if err := p.Run(); err != nil {
				b.Error(err)
				return
			}
			st := p.Statistics()
			lost.Add(int64(st.PacketsSent - st.PacketsRecv))
		}
	})
	b.ReportMetric(float64(sockets.Load()), "sockets")
	b.ReportMetric(float64(lost.Load()), "lost")
}
