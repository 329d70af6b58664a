package hostfuncs

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// This file binds the primitives to the ABI: one table of operations. Each
// operation first prepares, synchronously on the goroutine that serves the
// guest: it decodes its JSON request into the primitive's request struct and
// applies the sandbox (allow-list, caps, handles) through Env. What remains
// is the I/O, which the runtime runs on a goroutine of its own; keeping
// decoding out of that goroutine keeps its stack small while it waits, which
// matters with thousands of checks in flight. Operation numbers are fixed by
// sdk/ABI.md.

// Env is what an operation needs from the runtime for the check it serves.
type Env interface {
	// Allow returns nil when the check may reach host (port 0: any port);
	// otherwise an error saying why not.
	Allow(host string, port int) error
	// Handles holds the check's open connections.
	Handles() *Handles
	// MaxBytes caps any payload read from the network for the module.
	MaxBytes() int64
	// FollowAnyRedirect reports whether the redirects an HTTP target
	// issues may lead anywhere (the trusted built-ins, whose http type
	// follows them as APMonitor does) rather than only where Allow
	// permits: a target must not steer a sandboxed module to hosts it may
	// not reach itself, and hand it their answers.
	FollowAnyRedirect() bool
}

// Exec performs a prepared operation's I/O. resp is encoded with
// EncodeResult; out is the raw payload handed to the guest.
type Exec func(ctx context.Context) (resp any, out []byte, err error)

// Start performs a prepared operation. It calls done exactly once, perhaps
// before it returns and perhaps on a goroutine shared with other operations
// (the reactor's), so done must not block. owned says that done runs on a
// goroutine of the operation's own, which done may keep as long as it likes
// (the runtime runs the guest on it rather than start another goroutine).
type Start func(ctx context.Context, done Done)

// Done receives an operation's outcome; see Start.
type Done func(resp any, out []byte, err error, owned bool)

// Op is one operation of the ABI.
type Op struct {
	ID         int32
	Name       string
	Capability string // "" for operations every module may use
	// Sync operations never wait on the network: the runtime runs Exec
	// inline and the guest gets the result at once.
	Sync bool
	// Prepare decodes and checks a request. An error is the operation's
	// result (a refusal), delivered without running anything. Begin runs
	// the Exec it returns.
	Prepare func(env Env, req, data []byte) (Exec, error)
	// PrepareStart replaces Prepare for operations that wait without a
	// goroutine of their own (tcp.connect, tcp.read).
	PrepareStart func(env Env, req, data []byte) (Start, error)
}

// Ops is the operation table of ABI v1, indexed by operation number.
var Ops = func() []*Op {
	ops := []*Op{
		{ID: 1, Name: "tcp.connect", Capability: "tcp", PrepareStart: startTCPConnect},
		{ID: 2, Name: "tcp.write", Capability: "tcp", Prepare: prepTCPWrite},
		{ID: 3, Name: "tcp.read", Capability: "tcp", PrepareStart: startTCPRead},
		{ID: 4, Name: "tcp.starttls", Capability: "tcp", Prepare: prepTCPStartTLS},
		{ID: 5, Name: "tcp.close", Capability: "tcp", Sync: true, Prepare: prepTCPClose},
		{ID: 6, Name: "udp.exchange", Capability: "udp", Prepare: prepUDP},
		{ID: 7, Name: "http.request", Capability: "http", Prepare: prepHTTP(HTTP)},
		{ID: 8, Name: "http3.request", Capability: "http3", Prepare: prepHTTP(HTTP3)},
		{ID: 9, Name: "tls.probe", Capability: "tls", Prepare: prepTLS},
		{ID: 10, Name: "icmp.ping", Capability: "icmp", Prepare: prepPing},
		{ID: 11, Name: "snmp.request", Capability: "snmp", Prepare: prepSNMP},
		{ID: 12, Name: "sleep", Prepare: prepSleep},
	}
	table := make([]*Op, len(ops)+1)
	for _, op := range ops {
		table[op.ID] = op
	}
	return table
}()

// LookupOp returns operation id, or nil.
func LookupOp(id int32) *Op {
	if id <= 0 || int(id) >= len(Ops) {
		return nil
	}
	return Ops[id]
}

// EncodeResult renders an operation's outcome as the JSON object the guest
// reads: the response's fields, plus "error": {"code", "message"} on failure.
// Responses that implement zjson.Marshaler write themselves (the hot TCP
// path); others go through encoding/json.
func EncodeResult(resp any, err error) []byte {
	var w zjson.Writer
	w.Grow(160)
	switch r := resp.(type) {
	case nil:
		w.ObjectStart()
	case zjson.Marshaler:
		r.MarshalZJSON(&w)
		w.Reopen()
	default:
		b, merr := json.Marshal(resp)
		if merr != nil || len(b) < 2 || b[0] != '{' {
			w.ObjectStart()
		} else {
			w.RawObjectPrefix(b)
		}
	}
	if err != nil {
		ze := Wrap(err, "")
		w.Key("error")
		w.ObjectStart()
		w.Key("code")
		w.String(string(ze.Code))
		w.Key("message")
		w.String(ze.Message)
		w.ObjectEnd()
	}
	w.ObjectEnd()
	return w.Bytes()
}

func decode(req []byte, v any) error {
	if len(req) == 0 {
		return nil
	}
	if err := json.Unmarshal(req, v); err != nil {
		return Errorf(CodeInvalid, "request is not valid JSON for this operation: %v", err)
	}
	return nil
}

// parse reads a request with zjson, for the operations on the hot path,
// on a recycled tape (zjson.ParseTemp): the caller releases the Value once
// it has read what it needs. Strings read from it are views of req, which
// the runtime copied out of the module's memory and never reuses.
func parse(req []byte) (zjson.Value, error) {
	if len(req) == 0 {
		return zjson.Value{}, nil
	}
	v, err := zjson.ParseTemp(req)
	if err != nil || (v.Kind() != zjson.Object && !v.IsNull()) {
		if err == nil {
			v.Release()
			err = Errorf(CodeInvalid, "request is not a JSON object")
		}
		return zjson.Value{}, Errorf(CodeInvalid, "request is not valid JSON for this operation: %v", err)
	}
	return v, nil
}

// allowHostPort checks a "host:port" destination against the allow-list.
func allowHostPort(env Env, address string) error {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return Errorf(CodeInvalid, "address %q: want host:port", address)
	}
	p, _ := strconv.Atoi(port)
	return allow(env, host, p)
}

func allow(env Env, host string, port int) error {
	if err := env.Allow(host, port); err != nil {
		return &Error{Code: CodeDenied, Message: err.Error(), Err: err}
	}
	return nil
}

func clamp(v, limit int64) int64 {
	if v <= 0 || v > limit {
		return limit
	}
	return v
}

// byteCap is the cap on a payload a request asks for: n, def when n is not
// positive, and at most the sandbox's MaxBytes.
func byteCap(env Env, n, def int) int {
	if n <= 0 {
		n = def
	}
	return int(clamp(int64(n), env.MaxBytes()))
}

// Handles holds the connections a check has open, by number. Handles die with
// the check: the runtime calls CloseAll when it ends. A check rarely holds
// more than a few, so they are a slice searched in order, not a map.
type Handles struct {
	mu     sync.Mutex
	next   int64
	open   []handle
	closed bool // CloseAll ran: the check is over
	// Max caps how many may be open at once (0: unlimited).
	Max int
}

type handle struct {
	id int64
	c  io.Closer
}

// Add registers c and returns its handle number. After CloseAll (a connect
// that finished after its check ended) it refuses; the caller closes c.
func (h *Handles) Add(c io.Closer) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, Errorf(CodeCanceled, "the check has ended")
	}
	if h.Max > 0 && len(h.open) >= h.Max {
		return 0, Errorf(CodeLimit, "too many open connections: the sandbox allows %d per check", h.Max)
	}
	h.next++
	h.open = append(h.open, handle{h.next, c})
	return h.next, nil
}

// find returns the index of handle id, or -1. Called with mu held.
func (h *Handles) find(id int64) int {
	for i, o := range h.open {
		if o.id == id {
			return i
		}
	}
	return -1
}

// TCP returns the TCP connection with handle id.
func (h *Handles) TCP(id int64) (*TCPConn, error) {
	h.mu.Lock()
	var c io.Closer
	if i := h.find(id); i >= 0 {
		c = h.open[i].c
	}
	h.mu.Unlock()
	tc, isTCP := c.(*TCPConn)
	if !isTCP {
		return nil, Errorf(CodeInvalid, "no open TCP connection with handle %d", id)
	}
	return tc, nil
}

// Close closes and forgets handle id.
func (h *Handles) Close(id int64) error {
	h.mu.Lock()
	i := h.find(id)
	var c io.Closer
	if i >= 0 {
		c = h.open[i].c
		h.open = append(h.open[:i], h.open[i+1:]...)
	}
	h.mu.Unlock()
	if c == nil {
		return Errorf(CodeInvalid, "no open connection with handle %d", id)
	}
	return c.Close()
}

// Len is the number of open handles.
func (h *Handles) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.open)
}

// CloseAll closes every handle, and every one added later.
func (h *Handles) CloseAll() {
	h.mu.Lock()
	open := h.open
	h.open, h.closed = nil, true
	h.mu.Unlock()
	for _, o := range open {
		o.c.Close()
	}
}

// tlsOptions reads TLS options from a request member.
func tlsOptions(v zjson.Value) *TLSOptions {
	if v.Kind() != zjson.Object {
		return nil
	}
	o := &TLSOptions{
		ServerName:   v.Get("server_name").Str(),
		Fingerprint:  v.Get("fingerprint").Str(),
		Insecure:     v.Get("insecure").Truthy(),
		IgnoreExpiry: v.Get("ignore_expiry").Truthy(),
		ALPN:         v.Get("alpn").Strings(),
		RootCAsPEM:   v.Get("root_cas_pem").Str(),
		MinVersion:   v.Get("min_version").Str(),
	}
	return o
}

// connectResponse is tcp.connect's result: the connection and its handle.
type connectResponse struct {
	TCPConnectResponse
	Handle int64 `json:"handle,omitempty"`
}

// MarshalZJSON writes the response without reflection.
func (r connectResponse) MarshalZJSON(w *zjson.Writer) {
	w.ObjectStart()
	if r.Handle != 0 {
		w.Key("handle")
		w.Int(r.Handle)
	}
	w.Key("remote")
	w.String(r.Remote)
	w.Key("local")
	w.String(r.Local)
	w.Key("connect_ms")
	w.Float(r.ConnectMS)
	if r.TLS != nil {
		w.Key("tls")
		b, _ := json.Marshal(r.TLS)
		w.Raw(b)
	}
	w.ObjectEnd()
}

func startTCPConnect(env Env, req, _ []byte) (Start, error) {
	v, err := parse(req)
	if err != nil {
		return nil, err
	}
	defer v.Release()
	r := TCPConnectRequest{
		Address:   v.Get("address").Str(),
		TimeoutMS: int(v.Get("timeout_ms").Int()),
		TLS:       tlsOptions(v.Get("tls")),
	}
	// close makes a connect-only probe: the connection is closed as soon
	// as it is established and no handle is returned.
	closeAfter := v.Get("close").Truthy()
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, err
	}
	if closeAfter {
		return func(ctx context.Context, done Done) {
			tcpProbe(ctx, r, goIO, func(resp TCPConnectResponse, err error, owned bool) {
				done(connectResponse{TCPConnectResponse: resp}, nil, err, owned)
			})
		}, nil
	}
	return func(ctx context.Context, done Done) {
		tcpConnect(ctx, r, goIO, func(conn *TCPConn, resp TCPConnectResponse, err error, owned bool) {
			if err != nil {
				done(connectResponse{TCPConnectResponse: resp}, nil, err, owned)
				return
			}
			id, err := env.Handles().Add(conn)
			if err != nil {
				conn.Close()
				done(nil, nil, err, owned)
				return
			}
			done(connectResponse{resp, id}, nil, nil, owned)
		})
	}, nil
}

// handleOf finds the TCP connection a request names.
func handleOf(env Env, v zjson.Value) (*TCPConn, error) {
	return env.Handles().TCP(v.Get("handle").Int())
}

// MarshalZJSON writes the response without reflection.
func (r TCPWriteResponse) MarshalZJSON(w *zjson.Writer) {
	w.ObjectStart()
	w.Key("n")
	w.Int(int64(r.N))
	w.Key("write_ms")
	w.Float(r.WriteMS)
	w.ObjectEnd()
}

func prepTCPWrite(env Env, req, data []byte) (Exec, error) {
	v, err := parse(req)
	if err != nil {
		return nil, err
	}
	defer v.Release()
	conn, err := handleOf(env, v)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, []byte, error) {
		resp, err := conn.Write(ctx, data)
		return resp, nil, err
	}, nil
}

// MarshalZJSON writes the response without reflection.
func (r TCPReadResponse) MarshalZJSON(w *zjson.Writer) {
	w.ObjectStart()
	w.Key("n")
	w.Int(int64(r.N))
	w.Key("eof")
	w.Bool(r.EOF)
	w.Key("timed_out")
	w.Bool(r.TimedOut)
	w.Key("truncated")
	w.Bool(r.Truncated)
	w.Key("read_ms")
	w.Float(r.ReadMS)
	w.ObjectEnd()
}

func startTCPRead(env Env, req, _ []byte) (Start, error) {
	conn, r, err := parseTCPRead(env, req)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, done Done) {
		conn.ReadAsync(ctx, r, func(data []byte, resp TCPReadResponse, err error) { done(resp, data, err, false) })
	}, nil
}

func parseTCPRead(env Env, req []byte) (*TCPConn, TCPReadRequest, error) {
	v, err := parse(req)
	if err != nil {
		return nil, TCPReadRequest{}, err
	}
	defer v.Release()
	conn, err := handleOf(env, v)
	if err != nil {
		return nil, TCPReadRequest{}, err
	}
	r := TCPReadRequest{
		Mode:      v.Get("mode").Str(),
		N:         int(v.Get("n").Int()),
		Delim:     v.Get("delim").Str(),
		MaxBytes:  int(v.Get("max_bytes").Int()),
		TimeoutMS: int(v.Get("timeout_ms").Int()),
	}
	r.MaxBytes = byteCap(env, r.MaxBytes, defaultReadCap)
	return conn, r, nil
}

func prepTCPStartTLS(env Env, req, _ []byte) (Exec, error) {
	var r struct {
		Handle int64      `json:"handle"`
		TLS    TLSOptions `json:"tls"`
	}
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	conn, err := env.Handles().TCP(r.Handle)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, []byte, error) {
		info, err := conn.StartTLS(ctx, r.TLS)
		return struct {
			TLS TLSInfo `json:"tls"`
		}{info}, nil, err
	}, nil
}

func prepTCPClose(env Env, req, _ []byte) (Exec, error) {
	v, err := parse(req)
	if err != nil {
		return nil, err
	}
	defer v.Release()
	id := v.Get("handle").Int()
	return func(context.Context) (any, []byte, error) {
		return nil, nil, env.Handles().Close(id)
	}, nil
}

func prepUDP(env Env, req, data []byte) (Exec, error) {
	var r UDPRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, err
	}
	r.MaxBytes = byteCap(env, r.MaxBytes, defaultReadCap)
	return func(ctx context.Context) (any, []byte, error) {
		reply, resp, err := UDPExchange(ctx, r, data)
		return resp, reply, err
	}, nil
}

func prepHTTP(fn func(context.Context, HTTPRequest, []byte) (HTTPResponse, []byte, error)) func(Env, []byte, []byte) (Exec, error) {
	return func(env Env, req, data []byte) (Exec, error) {
		var r HTTPRequest
		if err := decode(req, &r); err != nil {
			return nil, err
		}
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" {
			return nil, Errorf(CodeInvalid, "url %q: want scheme://host[:port]/path", r.URL)
		}
		if err := allow(env, u.Hostname(), urlPort(u)); err != nil {
			return nil, err
		}
		r.MaxBodyBytes = byteCap(env, r.MaxBodyBytes, defaultBodyCap)
		if !env.FollowAnyRedirect() {
			r.Allow = env.Allow
		}
		return func(ctx context.Context) (any, []byte, error) {
			resp, body, err := fn(ctx, r, data)
			return resp, body, err
		}, nil
	}
}

func prepTLS(env Env, req, _ []byte) (Exec, error) {
	var r TLSRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, []byte, error) {
		info, err := TLSProbe(ctx, r)
		if info.Version == "" && len(info.Chain) == 0 {
			return nil, nil, err
		}
		return info, nil, err
	}, nil
}

func prepPing(env Env, req, _ []byte) (Exec, error) {
	var r PingRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if err := allow(env, r.Address, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, []byte, error) {
		resp, err := Ping(ctx, r)
		return resp, nil, err
	}, nil
}

func prepSNMP(env Env, req, _ []byte) (Exec, error) {
	var r SNMPRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	// The allow-list sees the address as the primitive will use it: with
	// "host:" the default port, never port 0 (any port).
	host, port, err := parseSNMPAddress(r.Address)
	if err != nil {
		return nil, Errorf(CodeInvalid, "address %q: %v", r.Address, err)
	}
	if err := allow(env, host, int(port)); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, []byte, error) {
		resp, err := SNMP(ctx, r)
		return resp, nil, err
	}, nil
}

func prepSleep(_ Env, req, _ []byte) (Exec, error) {
	v, err := parse(req)
	if err != nil {
		return nil, err
	}
	defer v.Release()
	d := time.Duration(v.Get("ms").Int()) * time.Millisecond
	return func(ctx context.Context) (any, []byte, error) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil, nil, nil
		case <-ctx.Done():
			return nil, nil, Wrap(ctx.Err(), "sleep")
		}
	}, nil
}

// Default caps applied when a request does not set its own; the sandbox's
// MaxBytes bounds them further.
const (
	defaultReadCap = 64 << 10
	defaultBodyCap = 1 << 20
)
