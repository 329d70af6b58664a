package zappy

import (
	"sync"
	"time"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// Operation numbers of ABI v1 (sdk/ABI.md, "Operations").
const (
	opTCPConnect  int32 = 1
	opTCPWrite    int32 = 2
	opTCPRead     int32 = 3
	opTCPStartTLS int32 = 4
	opTCPClose    int32 = 5
	opUDP         int32 = 6
	opHTTP        int32 = 7
	opHTTP3       int32 = 8
	opTLS         int32 = 9
	opPing        int32 = 10
	opSNMP        int32 = 11
	opSleep       int32 = 12
)

var opNames = [...]string{"", "tcp.connect", "tcp.write", "tcp.read", "tcp.starttls", "tcp.close", "udp.exchange",
	"http.request", "http3.request", "tls.probe", "icmp.ping", "snmp.request", "sleep"}

func opName(op int32) string {
	if op > 0 && int(op) < len(opNames) {
		return opNames[op]
	}
	return "op"
}

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

// writers is a free list of request writers: a request is copied by the host
// the moment it is sent, so its buffer can serve the next one. Guarded by a
// mutex: a goroutine can be switched out in the middle of an append.
var (
	writersMu sync.Mutex
	writers   []*zjson.Writer
)

func getWriter() *zjson.Writer {
	writersMu.Lock()
	if n := len(writers); n > 0 {
		w := writers[n-1]
		writers = writers[:n-1]
		writersMu.Unlock()
		w.Reset()
		return w
	}
	writersMu.Unlock()
	w := &zjson.Writer{}
	w.Grow(256)
	return w
}

func putWriter(w *zjson.Writer) {
	if cap(w.Bytes()) > 64<<10 {
		return
	}
	writersMu.Lock()
	if len(writers) < 64 {
		writers = append(writers, w)
	}
	writersMu.Unlock()
}

// Log levels for Check.Log.
const (
	LevelDebug int32 = -4
	LevelInfo  int32 = 0
	LevelWarn  int32 = 4
	LevelError int32 = 8
)

// Log writes a message to the host's log, tagged with the module and check.
func (c *Check) Log(level int32, msg string) { logf(c, level, msg) }

// Sleep pauses the check without blocking the module. time.Sleep inside a
// multiplexed module wakes up only once the module runs again after the
// sleep has ended (the host calls in for some check; a module with nothing
// to run looks at its timers on every eighth call), so use this.
func (c *Check) Sleep(d time.Duration) error {
	w := getWriter()
	w.ObjectStart()
	w.Key("ms")
	w.Int(ms(d))
	w.ObjectEnd()
	_, _, err := call(c, opSleep, w, nil)
	return err
}

// TLSOptions mirror the host's TLS verification rule: chain and hostname are
// verified unless Fingerprint (a SHA-256 pin of the leaf) or Insecure is set.
type TLSOptions struct {
	ServerName   string
	Fingerprint  string
	Insecure     bool
	IgnoreExpiry bool
	ALPN         []string
	RootCAsPEM   string
	MinVersion   string
}

func (o *TLSOptions) write(w *zjson.Writer) {
	w.ObjectStart()
	if o.ServerName != "" {
		w.Key("server_name")
		w.String(o.ServerName)
	}
	if o.Fingerprint != "" {
		w.Key("fingerprint")
		w.String(o.Fingerprint)
	}
	if o.Insecure {
		w.Key("insecure")
		w.Bool(true)
	}
	if o.IgnoreExpiry {
		w.Key("ignore_expiry")
		w.Bool(true)
	}
	if len(o.ALPN) > 0 {
		w.Key("alpn")
		w.Any(o.ALPN)
	}
	if o.RootCAsPEM != "" {
		w.Key("root_cas_pem")
		w.String(o.RootCAsPEM)
	}
	if o.MinVersion != "" {
		w.Key("min_version")
		w.String(o.MinVersion)
	}
	w.ObjectEnd()
}

// TLSInfo is what a TLS handshake revealed. JSON holds every field the host
// sent (chain details: subject, issuer, sans, not_before, not_after, ...).
type TLSInfo struct {
	HandshakeMS float64
	Version     string
	CipherSuite string
	ALPN        string
	Fingerprint string
	DaysLeft    float64
	Verified    bool
	Pinned      bool
	Subject     string
	Issuer      string
	NotBefore   string // the leaf's validity, RFC 3339
	NotAfter    string
	JSON        zjson.Value
}

// tlsInfo reads TLS info; nil when no handshake took place.
func tlsInfo(v zjson.Value) *TLSInfo {
	if v.Kind() != zjson.Object || (v.Get("fingerprint").Str() == "" && v.Get("version").Str() == "") {
		return nil
	}
	leaf := v.Get("chain").Index(0)
	return &TLSInfo{
		HandshakeMS: v.Get("handshake_ms").Float(),
		Version:     v.Get("version").Str(),
		CipherSuite: v.Get("cipher_suite").Str(),
		ALPN:        v.Get("alpn").Str(),
		Fingerprint: v.Get("fingerprint").Str(),
		DaysLeft:    v.Get("days_left").Float(),
		Verified:    v.Get("verified").Truthy(),
		Pinned:      v.Get("pinned").Truthy(),
		Subject:     leaf.Get("subject").Str(),
		Issuer:      leaf.Get("issuer").Str(),
		NotBefore:   leaf.Get("not_before").Str(),
		NotAfter:    leaf.Get("not_after").Str(),
		JSON:        v.Clone(), // v may be on a tape that is reused (takeResult, temp)
	}
}

// TLS performs a TLS handshake with address (host:port) and reports it. On a
// verification failure both the info (the presented chain) and the error are
// returned.
func (c *Check) TLS(address string, o TLSOptions, timeout time.Duration) (*TLSInfo, error) {
	w := getWriter()
	w.ObjectStart()
	w.Key("address")
	w.String(address)
	if timeout > 0 {
		w.Key("timeout_ms")
		w.Int(ms(timeout))
	}
	w.Key("tls")
	o.write(w)
	w.ObjectEnd()
	v, _, err := call(c, opTLS, w, nil)
	return tlsInfo(v), err
}

// Conn is an open TCP connection lent by the host. It dies with the check.
// Remote, Local, ConnectMS and TLS describe how it was made.
type Conn struct {
	ConnectInfo
	c      *Check
	handle int64
	closed bool
}

// DialOptions tune DialTCP.
type DialOptions struct {
	// DefaultPort is used when the address has no port (e.g. 25 for a
	// target written "tcp://mail").
	DefaultPort int
	Timeout     time.Duration
	// TLS, when set, performs a TLS handshake right after connecting
	// (implicit TLS, e.g. SMTPS on 465).
	TLS *TLSOptions
}

// Keys of the dial request, encoded once: every tcp check writes them.
var keyAddress, keyClose = zjson.NewKey("address"), zjson.NewKey("close")

func dialRequest(address string, o *DialOptions, closeAfter bool) *zjson.Writer {
	w := getWriter()
	w.ObjectStart()
	w.PutKey(keyAddress)
	port := 0
	if o != nil {
		port = o.DefaultPort
	}
	w.String(HostPort(address, port))
	if o != nil && o.Timeout > 0 {
		w.Key("timeout_ms")
		w.Int(ms(o.Timeout))
	}
	if o != nil && o.TLS != nil {
		w.Key("tls")
		o.TLS.write(w)
	}
	if closeAfter {
		w.PutKey(keyClose)
		w.Bool(true)
	}
	w.ObjectEnd()
	return w
}

// DialTCP connects to address (host:port, or a tcp:// URL).
func (c *Check) DialTCP(address string, o *DialOptions) (*Conn, error) {
	v, _, err := call(c, opTCPConnect, dialRequest(address, o, false), nil)
	return connFrom(c, v, err)
}

// DialTCPThen is DialTCP for a ThenHandler: then gets the connection.
func (c *Check) DialTCPThen(address string, o *DialOptions, then func(*Conn, error)) {
	callThen(c, opTCPConnect, dialRequest(address, o, false), nil, connThen(then))
}

// delivery is what callThen hands an operation's result to. The ...Then
// methods pass their callbacks as named function types that convert the
// result, not in closures around them: a function value in an interface
// needs no allocation, and connect-only checks run by the thousand.
type delivery interface {
	deliver(c *Check, v zjson.Value, data []byte, err error)
}

type (
	connThen        func(*Conn, error)
	connectInfoThen func(*ConnectInfo, error)
	writeThen       func(int, error)
	readThen        func([]byte, ReadInfo, error)
	lineThen        func(string, error)
)

func (f connThen) deliver(c *Check, v zjson.Value, _ []byte, err error) { f(connFrom(c, v, err)) }
func (f connectInfoThen) deliver(_ *Check, v zjson.Value, _ []byte, err error) {
	f(connectInfoFrom(v), err)
}
func (f writeThen) deliver(_ *Check, v zjson.Value, _ []byte, err error) {
	f(int(v.Get("n").Int()), err)
}
func (f readThen) deliver(_ *Check, v zjson.Value, data []byte, err error) {
	f(data, readInfoFrom(v), err)
}
func (f lineThen) deliver(_ *Check, _ zjson.Value, data []byte, err error) {
	f(trimEOL(string(data)), err)
}

func connFrom(c *Check, v zjson.Value, err error) (*Conn, error) {
	if err != nil {
		return nil, err
	}
	return &Conn{ConnectInfo: *connectInfoFrom(v), c: c, handle: v.Get("handle").Int()}, nil
}

// ConnectInfo describes how a connection was made: the one ProbeTCP made
// and closed, or an open Conn.
type ConnectInfo struct {
	Remote    string
	Local     string
	ConnectMS float64
	TLS       *TLSInfo
}

// ProbeTCP connects to address and closes the connection at once: the
// cheapest way to check that a port accepts connections (and, with
// o.TLS, completes a handshake). No handle is kept.
func (c *Check) ProbeTCP(address string, o *DialOptions) (*ConnectInfo, error) {
	v, _, err := call(c, opTCPConnect, dialRequest(address, o, true), nil)
	return connectInfoFrom(v), err
}

// ProbeTCPThen is ProbeTCP for a ThenHandler.
func (c *Check) ProbeTCPThen(address string, o *DialOptions, then func(*ConnectInfo, error)) {
	callThen(c, opTCPConnect, dialRequest(address, o, true), nil, connectInfoThen(then))
}

func connectInfoFrom(v zjson.Value) *ConnectInfo {
	info := &ConnectInfo{}
	// One pass (every Get would rescan), with Iter: a range over All
	// costs a closure call per member in wasm.
	for it := v.Iter(); it.Next(); {
		switch f := it.Value(); it.Key() {
		case "remote":
			info.Remote = f.Str()
		case "local":
			info.Local = f.Str()
		case "connect_ms":
			info.ConnectMS = f.Float()
		case "tls":
			info.TLS = tlsInfo(f)
		}
	}
	return info
}

func (cn *Conn) handleReq(extra func(w *zjson.Writer)) *zjson.Writer {
	w := getWriter()
	w.ObjectStart()
	w.Key("handle")
	w.Int(cn.handle)
	if extra != nil {
		extra(w)
	}
	w.ObjectEnd()
	return w
}

// Write sends p.
func (cn *Conn) Write(p []byte) (int, error) {
	v, _, err := call(cn.c, opTCPWrite, cn.handleReq(nil), p)
	return int(v.Get("n").Int()), err
}

// WriteThen is Write for a ThenHandler: then gets the bytes written.
func (cn *Conn) WriteThen(p []byte, then func(int, error)) {
	callThen(cn.c, opTCPWrite, cn.handleReq(nil), p, writeThen(then))
}

// WriteString sends s.
func (cn *Conn) WriteString(s string) error {
	_, err := cn.Write([]byte(s))
	return err
}

// ReadRequest selects how much to read; see the read modes in ABI.md.
type ReadRequest struct {
	Mode     string // "n", "until", "line", "any", "timeout", "eof"
	N        int
	Delim    string
	Timeout  time.Duration
	MaxBytes int
}

// ReadInfo describes how a read ended.
type ReadInfo struct {
	EOF       bool
	TimedOut  bool
	Truncated bool
	ReadMS    float64
}

// Read reads per r. Partial data is returned alongside an error.
func (cn *Conn) Read(r ReadRequest) ([]byte, ReadInfo, error) {
	v, data, err := call(cn.c, opTCPRead, cn.readReq(r), nil)
	return data, readInfoFrom(v), err
}

// ReadThen is Read for a ThenHandler.
func (cn *Conn) ReadThen(r ReadRequest, then func([]byte, ReadInfo, error)) {
	callThen(cn.c, opTCPRead, cn.readReq(r), nil, readThen(then))
}

func readInfoFrom(v zjson.Value) ReadInfo {
	return ReadInfo{
		EOF:       v.Get("eof").Truthy(),
		TimedOut:  v.Get("timed_out").Truthy(),
		Truncated: v.Get("truncated").Truthy(),
		ReadMS:    v.Get("read_ms").Float(),
	}
}

func (cn *Conn) readReq(r ReadRequest) *zjson.Writer {
	return cn.handleReq(func(w *zjson.Writer) {
		w.Key("mode")
		w.String(r.Mode)
		if r.N > 0 {
			w.Key("n")
			w.Int(int64(r.N))
		}
		if r.Delim != "" {
			w.Key("delim")
			w.String(r.Delim)
		}
		if r.Timeout > 0 {
			w.Key("timeout_ms")
			w.Int(ms(r.Timeout))
		}
		if r.MaxBytes > 0 {
			w.Key("max_bytes")
			w.Int(int64(r.MaxBytes))
		}
	})
}

// ReadLine reads up to and including "\n" and returns the line without the
// line ending.
func (cn *Conn) ReadLine() (string, error) {
	b, _, err := cn.Read(ReadRequest{Mode: "line"})
	return trimEOL(string(b)), err
}

// ReadLineThen is ReadLine for a ThenHandler.
func (cn *Conn) ReadLineThen(then func(string, error)) {
	callThen(cn.c, opTCPRead, cn.readReq(ReadRequest{Mode: "line"}), nil, lineThen(then))
}

func trimEOL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// ReadUntil reads until the data contains delim.
func (cn *Conn) ReadUntil(delim string) ([]byte, error) {
	b, _, err := cn.Read(ReadRequest{Mode: "until", Delim: delim})
	return b, err
}

// ReadN reads exactly n bytes.
func (cn *Conn) ReadN(n int) ([]byte, error) {
	b, _, err := cn.Read(ReadRequest{Mode: "n", N: n})
	return b, err
}

// ReadAny returns whatever arrives first.
func (cn *Conn) ReadAny() ([]byte, error) {
	b, _, err := cn.Read(ReadRequest{Mode: "any"})
	return b, err
}

// ReadFor collects what arrives during d (not an error when d runs out).
func (cn *Conn) ReadFor(d time.Duration) ([]byte, ReadInfo, error) {
	return cn.Read(ReadRequest{Mode: "timeout", Timeout: d})
}

// StartTLS upgrades the connection (after e.g. SMTP "STARTTLS" / "220").
func (cn *Conn) StartTLS(o TLSOptions) (*TLSInfo, error) {
	req := cn.handleReq(func(w *zjson.Writer) {
		w.Key("tls")
		o.write(w)
	})
	v, _, err := call(cn.c, opTCPStartTLS, req, nil)
	info := tlsInfo(v.Get("tls"))
	if info == nil {
		info = tlsInfo(v)
	}
	if err == nil {
		cn.TLS = info
	}
	return info, err
}

// Close closes the connection; the host also closes it when the check ends.
func (cn *Conn) Close() error {
	if cn.closed {
		return nil
	}
	cn.closed = true
	_, _, err := call(cn.c, opTCPClose, cn.handleReq(nil), nil)
	return err
}

// UDPOptions tune UDP.
type UDPOptions struct {
	Timeout    time.Duration
	AwaitReply bool
	MaxBytes   int
}

// UDPReply is the outcome of a UDP exchange.
type UDPReply struct {
	Sent     int
	Replied  bool
	TimedOut bool
	From     string
	RTTMS    float64
	Data     []byte
}

// UDP sends payload to address and optionally waits for one reply. No reply
// is not an error: Replied is false and TimedOut true.
func (c *Check) UDP(address string, payload []byte, o UDPOptions) (*UDPReply, error) {
	w := getWriter()
	w.ObjectStart()
	w.Key("address")
	w.String(HostPort(address, 0))
	if o.Timeout > 0 {
		w.Key("timeout_ms")
		w.Int(ms(o.Timeout))
	}
	w.Key("await_reply")
	w.Bool(o.AwaitReply)
	if o.MaxBytes > 0 {
		w.Key("max_bytes")
		w.Int(int64(o.MaxBytes))
	}
	w.ObjectEnd()
	v, data, err := call(c, opUDP, w, payload)
	if err != nil {
		return nil, err
	}
	return &UDPReply{
		Sent:     int(v.Get("sent").Int()),
		Replied:  v.Get("replied").Truthy(),
		TimedOut: v.Get("timed_out").Truthy(),
		From:     v.Get("from").Str(),
		RTTMS:    v.Get("rtt_ms").Float(),
		Data:     data,
	}, nil
}

// HTTPRequest is an HTTP(S) or HTTP/3 request.
type HTTPRequest struct {
	Method       string
	URL          string
	Headers      map[string]string
	Body         []byte
	Timeout      time.Duration
	MaxBodyBytes int64
	// MaxRedirects caps the redirects followed: 0 means the host default
	// (10), NoRedirects means none.
	MaxRedirects int
	TLS          TLSOptions
}

// NoRedirects as HTTPRequest.MaxRedirects makes the host return the first
// response, redirect or not.
const NoRedirects = -1

// HTTPResponse is an HTTP response. JSON holds every field the host sent
// (code, status, headers, redirects, timings, tls, remote_addr, ...), which is
// what built-in checks expose to assertions.
type HTTPResponse struct {
	Code      int
	Status    string
	Headers   map[string]string
	Body      []byte
	URL       string
	Truncated bool
	TotalMS   float64
	TLS       *TLSInfo
	JSON      zjson.Value
}

func (c *Check) http(op int32, r HTTPRequest) (*HTTPResponse, error) {
	w := getWriter()
	w.ObjectStart()
	if r.Method != "" {
		w.Key("method")
		w.String(r.Method)
	}
	w.Key("url")
	w.String(r.URL)
	if len(r.Headers) > 0 {
		w.Key("headers")
		w.Any(r.Headers)
	}
	if r.Timeout > 0 {
		w.Key("timeout_ms")
		w.Int(ms(r.Timeout))
	}
	if r.MaxBodyBytes > 0 {
		w.Key("max_body_bytes")
		w.Int(r.MaxBodyBytes)
	}
	if r.MaxRedirects != 0 {
		w.Key("max_redirects")
		if r.MaxRedirects < 0 {
			w.Int(0)
		} else {
			w.Int(int64(r.MaxRedirects))
		}
	}
	w.Key("tls")
	r.TLS.write(w)
	w.ObjectEnd()
	v, body, err := call(c, op, w, r.Body)
	if !v.Exists() {
		return nil, err
	}
	resp := &HTTPResponse{
		Code:      int(v.Get("code").Int()),
		Status:    v.Get("status").Str(),
		Body:      body,
		URL:       v.Get("url").Str(),
		Truncated: v.Get("truncated").Truthy(),
		TotalMS:   v.Path("timings", "total_ms").Float(),
		TLS:       tlsInfo(v.Get("tls")),
		JSON:      v,
	}
	if h := v.Get("headers"); h.Len() > 0 {
		resp.Headers = make(map[string]string, h.Len())
		for _, m := range h.Members() {
			resp.Headers[m.Key] = m.Value.Str()
		}
	}
	return resp, err
}

// HTTP performs an HTTP(S) request. Non-2xx statuses are not errors. On a
// transport error the response may still be non-nil (e.g. the redirect hops
// seen before a loop was detected).
func (c *Check) HTTP(r HTTPRequest) (*HTTPResponse, error) { return c.http(opHTTP, r) }

// HTTP3 performs the request over HTTP/3 (QUIC).
func (c *Check) HTTP3(r HTTPRequest) (*HTTPResponse, error) { return c.http(opHTTP3, r) }

// PingOptions tune Ping.
type PingOptions struct {
	Count    int
	Interval time.Duration
	Size     int
	TTL      int
	Timeout  time.Duration
}

// PingReply summarises an ICMP echo exchange. Total loss is not an error.
type PingReply struct {
	Address  string
	Sent     int
	Received int
	LossPct  float64
	MinMS    float64
	AvgMS    float64
	MaxMS    float64
	StddevMS float64
	JSON     zjson.Value
}

// Ping sends ICMP echo requests to address.
func (c *Check) Ping(address string, o PingOptions) (*PingReply, error) {
	w := getWriter()
	w.ObjectStart()
	w.Key("address")
	w.String(address)
	for _, kv := range []struct {
		k string
		v int64
	}{{"count", int64(o.Count)}, {"interval_ms", ms(o.Interval)}, {"size", int64(o.Size)}, {"ttl", int64(o.TTL)}, {"timeout_ms", ms(o.Timeout)}} {
		if kv.v > 0 {
			w.Key(kv.k)
			w.Int(kv.v)
		}
	}
	w.ObjectEnd()
	v, _, err := call(c, opPing, w, nil)
	if err != nil {
		return nil, err
	}
	return &PingReply{
		Address:  v.Get("address").Str(),
		Sent:     int(v.Get("sent").Int()),
		Received: int(v.Get("received").Int()),
		LossPct:  v.Get("loss_pct").Float(),
		MinMS:    v.Get("min_ms").Float(),
		AvgMS:    v.Get("avg_ms").Float(),
		MaxMS:    v.Get("max_ms").Float(),
		StddevMS: v.Get("stddev_ms").Float(),
		JSON:     v,
	}, nil
}

// SNMPRequest is an SNMP get/getnext/walk/bulkwalk.
type SNMPRequest struct {
	Address        string
	Version        string // "1", "2c" (default), "3"
	Community      string
	Username       string
	AuthProtocol   string
	AuthPassphrase string
	PrivProtocol   string
	PrivPassphrase string
	ContextName    string
	Op             string // "get", "getnext", "walk", "bulkwalk"
	OIDs           []string
	Timeout        time.Duration
	Retries        int
	MaxRepetitions int
	MaxVarbinds    int
	// Columns (walk and bulkwalk) returns each root's subtree as a column
	// (SNMPResponse.Columns) rather than varbinds: smaller and faster to
	// read for whole tables.
	Columns bool
}

// Varbind is one SNMP variable binding.
type Varbind struct {
	OID   string
	Type  string
	Value zjson.Value // number, string or null depending on Type
	Hex   string      // OctetString bytes as colon-hex
}

// SNMPColumn is one walked subtree: row i is the object Root + "." +
// Index[i], of type Type (or Types[i] when the rows differ), with value
// Values[i] and, for OctetString rows, bytes Hex[i] (colon-hex).
type SNMPColumn struct {
	Root   string
	Index  []string
	Type   string
	Types  []string
	Values []zjson.Value
	Hex    []string
}

// TypeOf is the type of row i.
func (c SNMPColumn) TypeOf(i int) string {
	if c.Types != nil {
		return c.Types[i]
	}
	return c.Type
}

// SNMPResponse holds the varbinds returned.
type SNMPResponse struct {
	Varbinds  []Varbind
	Columns   []SNMPColumn // when the request asked for Columns, in the order of its roots
	ElapsedMS float64
	Bulk      bool
	JSON      zjson.Value
}

// SNMP performs an SNMP request.
func (c *Check) SNMP(r SNMPRequest) (*SNMPResponse, error) {
	w := getWriter()
	w.ObjectStart()
	for _, kv := range [][2]string{{"address", r.Address}, {"version", r.Version}, {"community", r.Community},
		{"username", r.Username}, {"auth_protocol", r.AuthProtocol}, {"auth_passphrase", r.AuthPassphrase},
		{"priv_protocol", r.PrivProtocol}, {"priv_passphrase", r.PrivPassphrase}, {"context_name", r.ContextName}, {"op", r.Op}} {
		if kv[1] != "" {
			w.Key(kv[0])
			w.String(kv[1])
		}
	}
	w.Key("oids")
	w.Any(r.OIDs)
	if r.Columns {
		w.Key("columns")
		w.Bool(true)
	}
	for _, kv := range []struct {
		k string
		v int64
	}{{"timeout_ms", ms(r.Timeout)}, {"retries", int64(r.Retries)}, {"max_repetitions", int64(r.MaxRepetitions)}, {"max_varbinds", int64(r.MaxVarbinds)}} {
		if kv.v > 0 {
			w.Key(kv.k)
			w.Int(kv.v)
		}
	}
	w.ObjectEnd()
	v, _, err := call(c, opSNMP, w, nil)
	if err != nil {
		return nil, err
	}
	resp := &SNMPResponse{ElapsedMS: v.Get("elapsed_ms").Float(), Bulk: v.Get("bulk").Truthy(), JSON: v}
	for _, vb := range v.Get("varbinds").Array() {
		resp.Varbinds = append(resp.Varbinds, Varbind{OID: vb.Get("oid").Str(), Type: vb.Get("type").Str(), Value: vb.Get("value"), Hex: vb.Get("hex").Str()})
	}
	for _, c := range v.Get("columns").Array() {
		col := SNMPColumn{Root: c.Get("root").Str(), Index: c.Get("index").Strings(), Type: c.Get("type").Str(), Values: c.Get("values").Array()}
		if t := c.Get("types"); t.Exists() {
			col.Types = t.Strings()
		}
		if h := c.Get("hex"); h.Exists() {
			col.Hex = h.Strings()
		}
		if len(col.Values) != len(col.Index) || col.Types != nil && len(col.Types) != len(col.Index) || col.Hex != nil && len(col.Hex) != len(col.Index) {
			return nil, &Error{Code: "protocol", Message: "snmp: malformed column " + col.Root + " from the host"}
		}
		resp.Columns = append(resp.Columns, col)
	}
	return resp, nil
}
