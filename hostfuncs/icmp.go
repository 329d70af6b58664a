package hostfuncs

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP socket modes, as used in PingRequest.Mode and PingResponse.Mode.
const (
	ICMPModeAuto         = "auto"         // raw if permitted, else unprivileged
	ICMPModeRaw          = "raw"          // SOCK_RAW: needs root or CAP_NET_RAW
	ICMPModeUnprivileged = "unprivileged" // ICMP datagram socket: needs net.ipv4.ping_group_range
)

// Limits of a PingRequest.
const (
	pingDefaultInterval = time.Second
	pingMinInterval     = 10 * time.Millisecond
	pingDefaultSize     = 56
	pingMinSize         = 16    // token (8) + send stamp (8), verified on every reply
	pingMinSizeProBing  = 24    // pro-bing's timestamp (8) + tracker UUID (16)
	pingMaxSize         = 65507 // largest ICMP payload that fits an IPv4 datagram
	pingMaxCount        = 10000
	icmpDefaultIdle     = 30 * time.Second
	icmpReadBuffer      = 4 << 20 // SO_RCVBUF of a shared socket: a burst of thousands of replies
)

// PingRequest asks for ICMP echo requests to one address. It is the wire
// format of the ping host function.
//
// Requests that need a socket of their own (Source or DontFragment, both
// socket options) run on a dedicated pro-bing pinger; all others share one
// socket per address family and mode (see ICMPEngine).
type PingRequest struct {
	Address      string `json:"address"`                 // hostname, IPv4 or IPv6 (a zone is allowed: fe80::1%eth0)
	Count        int    `json:"count,omitempty"`         // echo requests to send; 0 = 1, at most 10000
	IntervalMS   int    `json:"interval_ms,omitempty"`   // between sends; 0 = 1000, at least 10
	Size         int    `json:"size,omitempty"`          // payload bytes; 0 = 56, at least 16 (24 with source or dont_fragment), at most 65507
	TTL          int    `json:"ttl,omitempty"`           // IPv4 TTL / IPv6 hop limit, 1-255; 0 = OS default (64 on the pro-bing path)
	TimeoutMS    int    `json:"timeout_ms,omitempty"`    // overall, resolution included; 0 = count*interval + 1000
	Mode         string `json:"mode,omitempty"`          // "auto" (default), "raw" or "unprivileged"
	Source       string `json:"source,omitempty"`        // source IP, must be an address of this host
	DontFragment bool   `json:"dont_fragment,omitempty"` // set DF (IPv4) / do not fragment locally (IPv6)
}

// PingResponse is the outcome of a PingRequest. Losing every packet is not an
// error: it is reported as LossPct 100 and the check decides what it means.
type PingResponse struct {
	Address  string    `json:"address"`   // the IP that was pinged
	Mode     string    `json:"mode"`      // socket kind used: "raw" or "unprivileged"
	Sent     int       `json:"sent"`      // echo requests attempted (a failed send counts as sent and lost)
	Received int       `json:"received"`  // distinct, verified echo replies
	LossPct  float64   `json:"loss_pct"`  // 100*(sent-received)/sent
	RTTsMS   []float64 `json:"rtts_ms"`   // per request in send order; -1 when lost
	MinMS    float64   `json:"min_ms"`    // over received replies; 0 when none
	AvgMS    float64   `json:"avg_ms"`    // over received replies; 0 when none
	MaxMS    float64   `json:"max_ms"`    // over received replies; 0 when none
	StddevMS float64   `json:"stddev_ms"` // population standard deviation (ping's mdev); 0 when none
	TTL      int       `json:"ttl"`       // TTL / hop limit of the last reply; 0 when unknown
}

// DefaultICMPEngine is the engine behind Ping. Its sockets close by
// themselves after 30 s without pings, so a one-shot CLI needs no cleanup;
// a long-running host may Close it on shutdown.
var DefaultICMPEngine = &ICMPEngine{}

// Ping sends ICMP echo requests through DefaultICMPEngine.
func Ping(ctx context.Context, req PingRequest) (PingResponse, error) {
	return DefaultICMPEngine.Ping(ctx, req)
}

// ICMPEngine sends pings for many concurrent callers over shared sockets.
//
// Why: every raw ICMP socket on a host receives a copy of every echo reply, so
// thousands of pingers with one socket each (pro-bing's model) cost quadratic
// work. The engine opens at most one socket per (address family, mode),
// lazily, and one reader goroutine per socket hands each reply to the ping
// waiting for its (identifier, sequence); the payload carries a per-request
// random token and the send timestamp, and a reply that does not carry both
// is ignored, so stale replies to a reused sequence number and foreign
// replies never count. Sequence numbers come from a per-socket counter, so up
// to 65536 echo requests can be in flight on one socket.
//
// A socket closes after IdleTimeout without users; Close closes them at once.
// The zero value is ready to use, and an engine stays usable after Close (it
// reopens sockets on demand).
type ICMPEngine struct {
	// IdleTimeout is how long a socket stays open without pings; 0 means
	// 30 s, a negative value keeps sockets open until Close.
	IdleTimeout time.Duration
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver

	mu     sync.Mutex
	socks  map[icmpKey]*icmpSocket
	opened atomic.Int64
}

type icmpKey struct {
	v6  bool
	raw bool
}

// SocketsOpened returns how many sockets the engine has opened in its
// lifetime (shared sockets only; pro-bing pingers are not counted).
func (e *ICMPEngine) SocketsOpened() int64 { return e.opened.Load() }

// OpenSockets returns how many shared sockets are open now.
func (e *ICMPEngine) OpenSockets() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.socks)
}

// Close closes the engine's sockets and waits for their reader goroutines.
// Pings in flight on them fail with code canceled.
func (e *ICMPEngine) Close() error {
	e.mu.Lock()
	socks := e.socks
	e.socks = nil
	for _, s := range socks {
		if s.idleTimer != nil {
			s.idleTimer.Stop()
		}
	}
	e.mu.Unlock()
	for _, s := range socks {
		s.conn.Close()
		<-s.readerDone
	}
	return nil
}

// pingParams is a validated PingRequest with defaults applied.
type pingParams struct {
	address      string
	count        int
	interval     time.Duration
	size         int
	ttl          int
	timeout      time.Duration
	mode         string
	source       netip.Addr
	dontFragment bool
}

func (p *pingParams) dedicated() bool { return p.source.IsValid() || p.dontFragment }

func normalizePing(req PingRequest) (pingParams, error) {
	p := pingParams{
		address:      strings.TrimSpace(req.Address),
		count:        req.Count,
		size:         req.Size,
		ttl:          req.TTL,
		mode:         req.Mode,
		dontFragment: req.DontFragment,
	}
	if p.address == "" {
		return p, Errorf(CodeInvalid, "ping: address is empty")
	}
	if p.count == 0 {
		p.count = 1
	}
	if p.count < 1 || p.count > pingMaxCount {
		return p, Errorf(CodeInvalid, "ping %s: count must be between 1 and %d, got %d", p.address, pingMaxCount, req.Count)
	}
	switch {
	case req.IntervalMS == 0:
		p.interval = pingDefaultInterval
	case req.IntervalMS < int(pingMinInterval/time.Millisecond):
		return p, Errorf(CodeInvalid, "ping %s: interval_ms must be at least %d, got %d", p.address, pingMinInterval/time.Millisecond, req.IntervalMS)
	default:
		p.interval = time.Duration(req.IntervalMS) * time.Millisecond
	}
	if req.Source != "" {
		src, err := netip.ParseAddr(strings.TrimSpace(req.Source))
		if err != nil {
			return p, Errorf(CodeInvalid, "ping %s: source %q is not an IP address", p.address, req.Source)
		}
		p.source = src.Unmap()
	}
	minSize := pingMinSize
	if p.dedicated() {
		minSize = pingMinSizeProBing
	}
	if p.size == 0 {
		p.size = pingDefaultSize
	}
	if p.size < minSize || p.size > pingMaxSize {
		extra := ""
		if p.dedicated() {
			extra = " with source or dont_fragment"
		}
		return p, Errorf(CodeInvalid, "ping %s: size must be between %d and %d%s, got %d", p.address, minSize, pingMaxSize, extra, req.Size)
	}
	if p.ttl < 0 || p.ttl > 255 {
		return p, Errorf(CodeInvalid, "ping %s: ttl must be between 1 and 255 (0 = OS default), got %d", p.address, req.TTL)
	}
	switch {
	case req.TimeoutMS == 0:
		p.timeout = time.Duration(p.count)*p.interval + time.Second
	case req.TimeoutMS < 0:
		return p, Errorf(CodeInvalid, "ping %s: timeout_ms must not be negative, got %d", p.address, req.TimeoutMS)
	default:
		p.timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	switch p.mode {
	case "":
		p.mode = ICMPModeAuto
	case ICMPModeAuto, ICMPModeRaw, ICMPModeUnprivileged:
	default:
		return p, Errorf(CodeInvalid, "ping %s: mode must be %q, %q or %q, got %q", p.address, ICMPModeAuto, ICMPModeRaw, ICMPModeUnprivileged, req.Mode)
	}
	return p, nil
}

// Ping sends req.Count echo requests to req.Address and collects the replies.
func (e *ICMPEngine) Ping(ctx context.Context, req PingRequest) (PingResponse, error) {
	p, err := normalizePing(req)
	if err != nil {
		return PingResponse{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	dst, err := e.resolve(wctx, p.address)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return PingResponse{}, Wrap(ctx.Err(), "ping "+p.address)
		}
		return PingResponse{}, err
	}
	if p.source.IsValid() && p.source.Is4() != dst.Is4() {
		return PingResponse{}, Errorf(CodeInvalid, "ping %s: source %s and destination %s are of different IP versions", p.address, p.source, dst)
	}
	if p.dedicated() {
		return pingProBing(ctx, wctx, p, dst)
	}
	return e.pingShared(ctx, wctx, p, dst)
}

// resolve turns an address into one IP: a literal as is, a name through the
// resolver (its first IPv4 address, else its first IPv6 address).
func (e *ICMPEngine) resolve(ctx context.Context, address string) (netip.Addr, error) {
	host := address
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	if strings.Trim(host, "0123456789.") == "" && strings.Contains(host, ".") {
		// Digits and dots only: a mistyped IPv4 literal, not a name to look up.
		return netip.Addr{}, Errorf(CodeInvalid, "ping %s: not a valid IPv4 address", address)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "invalid" || strings.HasSuffix(name, ".invalid") {
		// RFC 6761 §6.4: resolvers answer names under .invalid negatively
		// without asking a server.
		return netip.Addr{}, Errorf(CodeDNS, "ping %s: lookup %s: no such host (.invalid never resolves)", address, host)
	}
	r := e.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, Wrap(err, "ping "+address)
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, Errorf(CodeDNS, "ping %s: lookup %s: no addresses", address, host)
	}
	return ips[0], nil
}

// pingCanceled decides how a ping whose wait context ended returns: a
// cancellation of the caller's context is an error (code canceled), a
// deadline (timeout_ms or the caller's) just ends the measurement (nil).
func pingCanceled(parent context.Context, address string) error {
	if errors.Is(parent.Err(), context.Canceled) {
		return Wrap(parent.Err(), "ping "+address)
	}
	return nil
}

// --- shared-socket engine --------------------------------------------------

// icmpSocket is one shared socket and the pings waiting on it. Fields marked
// (e.mu) belong to the engine's lock.
type icmpSocket struct {
	key        icmpKey
	conn       *icmp.PacketConn
	p4         *ipv4.PacketConn
	p6         *ipv6.PacketConn
	id         uint16 // echo identifier (raw: ours; unprivileged: the kernel's, i.e. the local port)
	defaultTTL int
	readerDone chan struct{}
	dead       chan struct{} // closed when the reader stops
	deadErr    error         // why, set before dead is closed

	users     int         // (e.mu)
	idleGen   uint64      // (e.mu)
	idleTimer *time.Timer // (e.mu)

	writeMu sync.Mutex // serializes the per-packet TTL with the write
	curTTL  int        // (writeMu)

	mu      sync.Mutex
	pending map[uint16]icmpPending
	nextSeq uint16
}

type icmpPending struct {
	run    *echoRun
	index  int
	stamp  uint64
	sentAt time.Time
}

// echoRun is one Ping call on a shared socket.
type echoRun struct {
	token   [8]byte
	replies chan echoReply // capacity count: each index is delivered at most once
}

type echoReply struct {
	index int
	rtt   time.Duration
	ttl   int
}

func (s *icmpSocket) mode() string {
	if s.key.raw {
		return ICMPModeRaw
	}
	return ICMPModeUnprivileged
}

func (s *icmpSocket) network() string {
	switch s.key {
	case icmpKey{v6: false, raw: true}:
		return "ip4:icmp"
	case icmpKey{v6: true, raw: true}:
		return "ip6:ipv6-icmp"
	case icmpKey{v6: false, raw: false}:
		return "udp4"
	}
	return "udp6"
}

func isPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}

// pingGroupRange reads net.ipv4.ping_group_range for the permission message.
func pingGroupRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// icmpPermissionError says what the operator has to change for the modes
// that were refused.
func icmpPermissionError(address string, raw, unpriv error) *Error {
	var parts []string
	if raw != nil {
		parts = append(parts, "raw ICMP needs root or CAP_NET_RAW")
	}
	if unpriv != nil {
		parts = append(parts, fmt.Sprintf("unprivileged ICMP needs net.ipv4.ping_group_range to include gid %d (currently '%s')", os.Getegid(), pingGroupRange()))
	}
	return &Error{Code: CodePermission, Message: "ping " + address + ": " + strings.Join(parts, "; "), Err: errors.Join(raw, unpriv)}
}

// acquire returns a socket for the family and mode, opening it if needed,
// and counts the caller as a user until release.
func (e *ICMPEngine) acquire(v6 bool, mode, address string) (*icmpSocket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rawKey, udpKey := icmpKey{v6: v6, raw: true}, icmpKey{v6: v6, raw: false}
	var s *icmpSocket
	var err error
	switch mode {
	case ICMPModeRaw:
		if s, err = e.socketLocked(rawKey); err != nil {
			if isPermission(err) {
				return nil, icmpPermissionError(address, err, nil)
			}
			return nil, Wrap(err, "ping "+address+": open raw ICMP socket")
		}
	case ICMPModeUnprivileged:
		if s, err = e.socketLocked(udpKey); err != nil {
			if isPermission(err) {
				return nil, icmpPermissionError(address, nil, err)
			}
			return nil, Wrap(err, "ping "+address+": open unprivileged ICMP socket")
		}
	default:
		// Any open socket serves auto. An unprivileged one open without a
		// raw one usually means raw was refused: reuse it rather than fail
		// a socket() call per ping.
		if s = e.socks[rawKey]; s == nil {
			s = e.socks[udpKey]
		}
		if s == nil {
			var rawErr error
			if s, rawErr = e.socketLocked(rawKey); rawErr != nil {
				if !isPermission(rawErr) {
					return nil, Wrap(rawErr, "ping "+address+": open raw ICMP socket")
				}
				var udpErr error
				if s, udpErr = e.socketLocked(udpKey); udpErr != nil {
					if isPermission(udpErr) {
						return nil, icmpPermissionError(address, rawErr, udpErr)
					}
					return nil, Wrap(udpErr, "ping "+address+": open unprivileged ICMP socket")
				}
			}
		}
	}
	s.users++
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer = nil
	}
	return s, nil
}

// release ends a user's claim; the last user arms the idle timer.
func (e *ICMPEngine) release(s *icmpSocket) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.users--
	if s.users > 0 || e.socks[s.key] != s {
		return
	}
	idle := e.IdleTimeout
	if idle == 0 {
		idle = icmpDefaultIdle
	}
	if idle < 0 {
		return
	}
	s.idleGen++
	gen := s.idleGen
	s.idleTimer = time.AfterFunc(idle, func() { e.closeIdle(s, gen) })
}

func (e *ICMPEngine) closeIdle(s *icmpSocket, gen uint64) {
	e.mu.Lock()
	if s.users > 0 || s.idleGen != gen || e.socks[s.key] != s {
		e.mu.Unlock()
		return
	}
	delete(e.socks, s.key)
	e.mu.Unlock()
	s.conn.Close()
}

// socketLocked returns the open socket for key or opens it. e.mu is held.
func (e *ICMPEngine) socketLocked(key icmpKey) (*icmpSocket, error) {
	if s := e.socks[key]; s != nil {
		return s, nil
	}
	s := &icmpSocket{
		key:        key,
		readerDone: make(chan struct{}),
		dead:       make(chan struct{}),
		pending:    make(map[uint16]icmpPending),
		nextSeq:    uint16(rand.UintN(1 << 16)),
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	if e.socks == nil {
		e.socks = make(map[icmpKey]*icmpSocket)
	}
	e.socks[key] = s
	e.opened.Add(1)
	go e.readLoop(s)
	return s, nil
}

func (s *icmpSocket) open() error {
	addr := "0.0.0.0"
	if s.key.v6 {
		addr = "::"
	}
	c, err := icmp.ListenPacket(s.network(), addr)
	if err != nil {
		return err
	}
	s.conn = c
	fail := func(err error) error {
		c.Close()
		return err
	}
	if s.key.raw {
		s.id = uint16(1 + rand.UintN(0xffff))
	} else if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
		s.id = uint16(ua.Port)
	}
	if s.key.v6 {
		s.p6 = c.IPv6PacketConn()
		setReadBuffer(s.p6.PacketConn, icmpReadBuffer)
		if err := s.p6.SetControlMessage(ipv6.FlagHopLimit, true); err != nil {
			return fail(err)
		}
		if s.defaultTTL, err = s.p6.HopLimit(); err != nil {
			return fail(err)
		}
	} else {
		s.p4 = c.IPv4PacketConn()
		setReadBuffer(s.p4.PacketConn, icmpReadBuffer)
		if err := s.p4.SetControlMessage(ipv4.FlagTTL, true); err != nil {
			return fail(err)
		}
		if s.defaultTTL, err = s.p4.TTL(); err != nil {
			return fail(err)
		}
	}
	s.curTTL = s.defaultTTL
	if s.key.raw {
		// A raw socket sees every ICMP packet on the host; let the kernel
		// drop all but echo replies carrying our identifier. Where BPF is
		// unavailable the identifier check in dispatch still applies.
		_ = s.installFilter()
	}
	return nil
}

// installFilter attaches a BPF program accepting only echo replies with our
// identifier.
func (s *icmpSocket) installFilter() error {
	reply := uint32(ipv4.ICMPTypeEchoReply)
	var prog []bpf.Instruction
	if s.key.v6 {
		// Raw ICMPv6 sockets see the ICMPv6 header at offset 0.
		reply = uint32(ipv6.ICMPTypeEchoReply)
		prog = []bpf.Instruction{bpf.LoadAbsolute{Off: 0, Size: 1}}
	} else {
		// Raw IPv4 sockets see the IP header first: X = its length.
		prog = []bpf.Instruction{bpf.LoadMemShift{Off: 0}, bpf.LoadIndirect{Off: 0, Size: 1}}
	}
	prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: reply, SkipTrue: 1})
	prog = append(prog, bpf.RetConstant{Val: 0})
	if s.key.v6 {
		prog = append(prog, bpf.LoadAbsolute{Off: 4, Size: 2})
	} else {
		prog = append(prog, bpf.LoadIndirect{Off: 4, Size: 2})
	}
	prog = append(prog,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(s.id), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	if s.key.v6 {
		return s.p6.SetBPF(raw)
	}
	return s.p4.SetBPF(raw)
}

// readLoop reads replies until the socket closes, then fails whoever still
// waits on it.
func (e *ICMPEngine) readLoop(s *icmpSocket) {
	defer close(s.readerDone)
	buf := make([]byte, 1<<16)
	for {
		var n, ttl int
		var err error
		if s.key.v6 {
			var cm *ipv6.ControlMessage
			n, cm, _, err = s.p6.ReadFrom(buf)
			if cm != nil {
				ttl = cm.HopLimit
			}
		} else {
			var cm *ipv4.ControlMessage
			n, cm, _, err = s.p4.ReadFrom(buf)
			if cm != nil {
				ttl = cm.TTL
			}
		}
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				err = Errorf(CodeCanceled, "ICMP %s socket closed", s.mode())
			}
			e.mu.Lock()
			if e.socks[s.key] == s {
				delete(e.socks, s.key)
			}
			e.mu.Unlock()
			s.conn.Close()
			s.deadErr = err
			close(s.dead)
			return
		}
		// x/net strips the IPv4 header that raw sockets deliver.
		msg := buf[:n]
		s.dispatch(msg, ttl, now)
	}
}

// dispatch hands a received ICMP message to the ping waiting for it, if any.
// Anything but an echo reply with our identifier (raw), a pending sequence,
// and the token and stamp that went out with that sequence is dropped.
func (s *icmpSocket) dispatch(msg []byte, ttl int, now time.Time) {
	if len(msg) < 8+pingMinSize {
		return
	}
	reply := byte(ipv4.ICMPTypeEchoReply)
	if s.key.v6 {
		reply = byte(ipv6.ICMPTypeEchoReply)
	}
	if msg[0] != reply || msg[1] != 0 {
		return
	}
	if s.key.raw && binary.BigEndian.Uint16(msg[4:]) != s.id {
		return
	}
	seq := binary.BigEndian.Uint16(msg[6:])
	data := msg[8:]
	s.mu.Lock()
	p, ok := s.pending[seq]
	if !ok || [8]byte(data[:8]) != p.run.token || binary.BigEndian.Uint64(data[8:16]) != p.stamp {
		s.mu.Unlock()
		return
	}
	delete(s.pending, seq)
	s.mu.Unlock()
	p.run.replies <- echoReply{index: p.index, rtt: now.Sub(p.sentAt), ttl: ttl}
}

// send writes echo request number index of run with the given TTL (0 = the
// socket's default) and returns its sequence number.
func (s *icmpSocket) send(run *echoRun, index, ttl int, dst net.Addr, buf []byte) (uint16, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if ttl == 0 {
		ttl = s.defaultTTL
	}
	if ttl != s.curTTL {
		var err error
		if s.key.v6 {
			err = s.p6.SetHopLimit(ttl)
		} else {
			err = s.p4.SetTTL(ttl)
		}
		if err != nil {
			return 0, err
		}
		s.curTTL = ttl
	}
	now := time.Now()
	stamp := uint64(now.UnixNano())
	s.mu.Lock()
	seq, ok := s.allocSeq()
	if !ok {
		s.mu.Unlock()
		return 0, Errorf(CodeLimit, "more than 65536 ICMP echo requests in flight on one socket")
	}
	s.pending[seq] = icmpPending{run: run, index: index, stamp: stamp, sentAt: now}
	s.mu.Unlock()

	if s.key.v6 {
		buf[0] = byte(ipv6.ICMPTypeEchoRequest)
	} else {
		buf[0] = byte(ipv4.ICMPTypeEcho)
	}
	buf[1] = 0
	binary.BigEndian.PutUint16(buf[2:], 0)
	binary.BigEndian.PutUint16(buf[4:], s.id) // rewritten by the kernel on unprivileged sockets
	binary.BigEndian.PutUint16(buf[6:], seq)
	copy(buf[8:16], run.token[:])
	binary.BigEndian.PutUint64(buf[16:24], stamp)
	if !s.key.v6 {
		// The kernel computes ICMPv6 checksums (and ICMPv4 ones on
		// unprivileged sockets); raw ICMPv4 needs ours.
		binary.BigEndian.PutUint16(buf[2:], icmpChecksum(buf))
	}
	if _, err := s.conn.WriteTo(buf, dst); err != nil {
		s.forget(run, seq)
		return 0, err
	}
	return seq, nil
}

// allocSeq takes the next free sequence number. s.mu is held.
func (s *icmpSocket) allocSeq() (uint16, bool) {
	if len(s.pending) >= 1<<16 {
		return 0, false
	}
	for {
		seq := s.nextSeq
		s.nextSeq++
		if _, used := s.pending[seq]; !used {
			return seq, true
		}
	}
}

// forget drops the pending entries of run among seqs (those not answered).
func (s *icmpSocket) forget(run *echoRun, seqs ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range seqs {
		if p, ok := s.pending[seq]; ok && p.run == run {
			delete(s.pending, seq)
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func (e *ICMPEngine) pingShared(parent, ctx context.Context, p pingParams, dst netip.Addr) (PingResponse, error) {
	s, err := e.acquire(dst.Is6(), p.mode, p.address)
	if err != nil {
		return PingResponse{}, err
	}
	defer e.release(s)

	run := &echoRun{replies: make(chan echoReply, p.count)}
	crand.Read(run.token[:])
	var to net.Addr = &net.IPAddr{IP: dst.WithZone("").AsSlice(), Zone: dst.Zone()}
	if !s.key.raw {
		to = &net.UDPAddr{IP: dst.WithZone("").AsSlice(), Zone: dst.Zone()}
	}
	buf := make([]byte, 8+p.size)
	for i := 8 + pingMinSize; i < len(buf); i++ {
		buf[i] = byte(i - 8) // ping(8)'s fill pattern
	}

	rtts := make([]time.Duration, p.count)
	for i := range rtts {
		rtts[i] = -1
	}
	seqs := make([]uint16, 0, p.count)
	defer func() { s.forget(run, seqs...) }()

	var sent, failed, received, outstanding, lastTTL int
	var sendErr error
	start := time.Now()
	next := time.NewTimer(0)
	defer next.Stop()
loop:
	for {
		select {
		case <-next.C:
			seq, err := s.send(run, sent, p.ttl, to, buf)
			sent++
			if err != nil {
				failed++
				sendErr = err
			} else {
				seqs = append(seqs, seq)
				outstanding++
			}
			if sent < p.count {
				next.Reset(time.Until(start.Add(time.Duration(sent) * p.interval)))
			} else if outstanding == 0 {
				break loop
			}
		case r := <-run.replies:
			rtts[r.index] = r.rtt
			received++
			outstanding--
			if r.ttl > 0 {
				lastTTL = r.ttl
			}
			if sent == p.count && outstanding == 0 {
				break loop
			}
		case <-s.dead:
			return PingResponse{}, Wrap(s.deadErr, "ping "+p.address)
		case <-ctx.Done():
			if err := pingCanceled(parent, p.address); err != nil {
				return PingResponse{}, err
			}
			break loop
		}
	}
	if sent == 0 {
		return PingResponse{}, Errorf(CodeTimeout, "ping %s: deadline passed before the first echo request", p.address)
	}
	if failed == sent {
		return PingResponse{}, Wrap(sendErr, "ping "+p.address+": send echo request")
	}
	return pingResult(dst, s.mode(), sent, received, rtts[:sent], lastTTL), nil
}

// pingResult summarizes per-packet RTTs (-1 = lost) into a PingResponse.
func pingResult(dst netip.Addr, mode string, sent, received int, rtts []time.Duration, ttl int) PingResponse {
	resp := PingResponse{
		Address:  dst.String(),
		Mode:     mode,
		Sent:     sent,
		Received: received,
		RTTsMS:   make([]float64, len(rtts)),
		TTL:      ttl,
	}
	if sent > 0 {
		resp.LossPct = float64(sent-received) / float64(sent) * 100
	}
	var sum float64
	var n int
	minRTT, maxRTT := time.Duration(math.MaxInt64), time.Duration(0)
	for i, d := range rtts {
		if d < 0 {
			resp.RTTsMS[i] = -1
			continue
		}
		resp.RTTsMS[i] = durationMS(d)
		sum += float64(d)
		n++
		minRTT = min(minRTT, d)
		maxRTT = max(maxRTT, d)
	}
	if n == 0 {
		return resp
	}
	mean := sum / float64(n)
	var sq float64
	for _, d := range rtts {
		if d >= 0 {
			sq += (float64(d) - mean) * (float64(d) - mean)
		}
	}
	resp.MinMS = durationMS(minRTT)
	resp.MaxMS = durationMS(maxRTT)
	resp.AvgMS = durationMS(time.Duration(mean))
	resp.StddevMS = durationMS(time.Duration(math.Sqrt(sq / float64(n))))
	return resp
}

// --- dedicated pro-bing pinger ---------------------------------------------

// pingProBing runs a request that needs socket options of its own (source
// address, don't-fragment) on a pro-bing Pinger with its own socket.
func pingProBing(parent, ctx context.Context, p pingParams, dst netip.Addr) (PingResponse, error) {
	modes := []bool{true, false}
	switch p.mode {
	case ICMPModeRaw:
		modes = modes[:1]
	case ICMPModeUnprivileged:
		modes = modes[1:]
	}
	var rawErr, udpErr error
	for _, privileged := range modes {
		resp, opened, err := runProBing(parent, ctx, p, dst, privileged)
		if err == nil {
			return resp, nil
		}
		if opened || !isPermission(err) {
			return PingResponse{}, err
		}
		if privileged {
			rawErr = err
		} else {
			udpErr = err
		}
	}
	return PingResponse{}, icmpPermissionError(p.address, rawErr, udpErr)
}

// runProBing runs one pinger. opened reports whether its socket was set up,
// i.e. whether a permission error came from the socket or from sending.
func runProBing(parent, ctx context.Context, p pingParams, dst netip.Addr, privileged bool) (resp PingResponse, opened bool, err error) {
	deadline, _ := ctx.Deadline()
	remaining := time.Until(deadline)
	if remaining <= 0 {
		return PingResponse{}, false, Errorf(CodeTimeout, "ping %s: deadline passed before the first echo request", p.address)
	}
	pinger := probing.New("")
	pinger.SetLogger(probing.NoopLogger{})
	pinger.SetIPAddr(&net.IPAddr{IP: dst.WithZone("").AsSlice(), Zone: dst.Zone()})
	pinger.SetPrivileged(privileged)
	pinger.Count = p.count
	pinger.Interval = p.interval
	pinger.Size = p.size
	pinger.Timeout = remaining
	if p.ttl > 0 {
		pinger.TTL = p.ttl
	}
	if p.source.IsValid() {
		pinger.Source = p.source.String()
	}
	pinger.SetDoNotFragment(p.dontFragment)

	rtts := make([]time.Duration, p.count)
	for i := range rtts {
		rtts[i] = -1
	}
	lastTTL := 0
	// OnSetup runs once the socket is open and configured; OnRecv runs on
	// the pinger's loop goroutine, which RunWithContext waits for.
	pinger.OnSetup = func() { opened = true }
	pinger.OnRecv = func(pkt *probing.Packet) {
		if pkt.Seq >= 0 && pkt.Seq < len(rtts) {
			rtts[pkt.Seq] = pkt.Rtt
		}
		if pkt.TTL > 0 {
			lastTTL = pkt.TTL
		}
	}
	mode := ICMPModeUnprivileged
	if privileged {
		mode = ICMPModeRaw
	}
	if runErr := pinger.RunWithContext(ctx); runErr != nil {
		if err := pingCanceled(parent, p.address); err != nil {
			return PingResponse{}, opened, err
		}
		if ctx.Err() == nil {
			switch {
			case !opened && errors.Is(runErr, syscall.EADDRNOTAVAIL):
				return PingResponse{}, false, &Error{Code: CodeInvalid, Message: fmt.Sprintf("ping %s: source %s is not an address of this host", p.address, p.source), Err: runErr}
			case !opened:
				return PingResponse{}, false, Wrap(runErr, "ping "+p.address+": open "+mode+" ICMP socket")
			default:
				return PingResponse{}, true, Wrap(runErr, "ping "+p.address+": send echo request")
			}
		}
	}
	st := pinger.Statistics()
	if st.PacketsSent == 0 {
		return PingResponse{}, opened, Errorf(CodeTimeout, "ping %s: deadline passed before the first echo request", p.address)
	}
	sent := min(st.PacketsSent, len(rtts))
	return pingResult(dst, mode, sent, st.PacketsRecv, rtts[:sent], lastTTL), true, nil
}
