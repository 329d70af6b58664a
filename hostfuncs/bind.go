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
)

// This file binds the primitives to the ABI: one table of operations, each
// decoding its JSON request into the primitive's request struct, applying the
// sandbox (allow-list, caps, handles) through Env, calling the plain Go API and
// returning its typed response. The runtime turns the response into the JSON
// the guest reads (EncodeResult). Operation numbers are fixed by sdk/ABI.md.

// Env is what an operation needs from the runtime for the check it serves.
type Env interface {
	// Allow returns nil when the check may reach host (port 0: any port);
	// otherwise an error saying why not.
	Allow(host string, port int) error
	// Handles holds the check's open connections.
	Handles() *Handles
	// MaxBytes caps any payload read from the network for the module.
	MaxBytes() int64
}

// Op is one operation of the ABI.
type Op struct {
	ID         int32
	Name       string
	Capability string // "" for operations every module may use
	// Sync operations complete inline during the guest's call (they never
	// block on the network), so the guest gets the result at once.
	Sync bool
	Do   func(ctx context.Context, env Env, req, data []byte) (resp any, out []byte, err error)
}

// Ops is the operation table of ABI v1, indexed by operation number.
var Ops = func() []*Op {
	ops := []*Op{
		{ID: 1, Name: "tcp.connect", Capability: "tcp", Do: opTCPConnect},
		{ID: 2, Name: "tcp.write", Capability: "tcp", Do: opTCPWrite},
		{ID: 3, Name: "tcp.read", Capability: "tcp", Do: opTCPRead},
		{ID: 4, Name: "tcp.starttls", Capability: "tcp", Do: opTCPStartTLS},
		{ID: 5, Name: "tcp.close", Capability: "tcp", Sync: true, Do: opTCPClose},
		{ID: 6, Name: "udp.exchange", Capability: "udp", Do: opUDP},
		{ID: 7, Name: "http.request", Capability: "http", Do: opHTTP(HTTP)},
		{ID: 8, Name: "http3.request", Capability: "http3", Do: opHTTP(HTTP3)},
		{ID: 9, Name: "tls.probe", Capability: "tls", Do: opTLS},
		{ID: 10, Name: "icmp.ping", Capability: "icmp", Do: opPing},
		{ID: 11, Name: "snmp.request", Capability: "snmp", Do: opSNMP},
		{ID: 12, Name: "sleep", Do: opSleep},
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
// A response of nil with an error gives just the error.
func EncodeResult(resp any, err error) []byte {
	var body []byte
	if resp != nil {
		b, merr := json.Marshal(resp)
		if merr == nil && len(b) >= 2 && b[0] == '{' {
			body = b
		}
	}
	if err == nil {
		if body == nil {
			return []byte("{}")
		}
		return body
	}
	ze := Wrap(err, "")
	eb, _ := json.Marshal(struct {
		Code    Code   `json:"code"`
		Message string `json:"message"`
	}{ze.Code, ze.Message})
	if body == nil || len(body) == 2 {
		return append(append([]byte(`{"error":`), eb...), '}')
	}
	out := make([]byte, 0, len(body)+len(eb)+10)
	out = append(out, body[:len(body)-1]...)
	out = append(out, `,"error":`...)
	out = append(out, eb...)
	return append(out, '}')
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

// Handles holds the connections a check has open, by number. Handles die with
// the check: the runtime calls CloseAll when it ends.
type Handles struct {
	mu   sync.Mutex
	next int64
	m    map[int64]io.Closer
	// Max caps how many may be open at once (0: unlimited).
	Max int
}

// Add registers c and returns its handle number.
func (h *Handles) Add(c io.Closer) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[int64]io.Closer{}
	}
	if h.Max > 0 && len(h.m) >= h.Max {
		return 0, Errorf(CodeLimit, "too many open connections: the sandbox allows %d per check", h.Max)
	}
	h.next++
	h.m[h.next] = c
	return h.next, nil
}

// TCP returns the TCP connection with handle id.
func (h *Handles) TCP(id int64) (*TCPConn, error) {
	h.mu.Lock()
	c, ok := h.m[id]
	h.mu.Unlock()
	tc, isTCP := c.(*TCPConn)
	if !ok || !isTCP {
		return nil, Errorf(CodeInvalid, "no open TCP connection with handle %d", id)
	}
	return tc, nil
}

// Close closes and forgets handle id.
func (h *Handles) Close(id int64) error {
	h.mu.Lock()
	c, ok := h.m[id]
	delete(h.m, id)
	h.mu.Unlock()
	if !ok {
		return Errorf(CodeInvalid, "no open connection with handle %d", id)
	}
	return c.Close()
}

// Len is the number of open handles.
func (h *Handles) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}

// CloseAll closes every handle.
func (h *Handles) CloseAll() {
	h.mu.Lock()
	m := h.m
	h.m = nil
	h.mu.Unlock()
	for _, c := range m {
		c.Close()
	}
}

type handleRequest struct {
	Handle int64 `json:"handle"`
}

func opTCPConnect(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r TCPConnectRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, nil, err
	}
	conn, resp, err := TCPConnect(ctx, r)
	if err != nil {
		return resp, nil, err
	}
	id, err := env.Handles().Add(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return struct {
		TCPConnectResponse
		Handle int64 `json:"handle"`
	}{resp, id}, nil, nil
}

func opTCPWrite(ctx context.Context, env Env, req, data []byte) (any, []byte, error) {
	var r handleRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	conn, err := env.Handles().TCP(r.Handle)
	if err != nil {
		return nil, nil, err
	}
	resp, err := conn.Write(ctx, data)
	return resp, nil, err
}

func opTCPRead(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r struct {
		handleRequest
		TCPReadRequest
	}
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	conn, err := env.Handles().TCP(r.Handle)
	if err != nil {
		return nil, nil, err
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = defaultReadCap
	}
	r.MaxBytes = int(clamp(int64(r.MaxBytes), env.MaxBytes()))
	data, resp, err := conn.Read(ctx, r.TCPReadRequest)
	return resp, data, err
}

func opTCPStartTLS(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r struct {
		handleRequest
		TLS TLSOptions `json:"tls"`
	}
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	conn, err := env.Handles().TCP(r.Handle)
	if err != nil {
		return nil, nil, err
	}
	info, err := conn.StartTLS(ctx, r.TLS)
	return struct {
		TLS TLSInfo `json:"tls"`
	}{info}, nil, err
}

func opTCPClose(_ context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r handleRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	return nil, nil, env.Handles().Close(r.Handle)
}

func opUDP(ctx context.Context, env Env, req, data []byte) (any, []byte, error) {
	var r UDPRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, nil, err
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = defaultReadCap
	}
	r.MaxBytes = int(clamp(int64(r.MaxBytes), env.MaxBytes()))
	reply, resp, err := UDPExchange(ctx, r, data)
	return resp, reply, err
}

func opHTTP(fn func(context.Context, HTTPRequest, []byte) (HTTPResponse, []byte, error)) func(context.Context, Env, []byte, []byte) (any, []byte, error) {
	return func(ctx context.Context, env Env, req, data []byte) (any, []byte, error) {
		var r HTTPRequest
		if err := decode(req, &r); err != nil {
			return nil, nil, err
		}
		u, err := url.Parse(r.URL)
		if err != nil || u.Host == "" {
			return nil, nil, Errorf(CodeInvalid, "url %q: want scheme://host[:port]/path", r.URL)
		}
		port, _ := strconv.Atoi(u.Port())
		if port == 0 {
			port = map[string]int{"http": 80, "https": 443}[u.Scheme]
		}
		if err := allow(env, u.Hostname(), port); err != nil {
			return nil, nil, err
		}
		if r.MaxBodyBytes <= 0 {
			r.MaxBodyBytes = defaultBodyCap
		}
		r.MaxBodyBytes = int(clamp(int64(r.MaxBodyBytes), env.MaxBytes()))
		resp, body, err := fn(ctx, r, data)
		return resp, body, err
	}
}

func opTLS(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r TLSRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	if err := allowHostPort(env, r.Address); err != nil {
		return nil, nil, err
	}
	info, err := TLSProbe(ctx, r)
	if info.Version == "" && len(info.Chain) == 0 {
		return nil, nil, err
	}
	return info, nil, err
}

func opPing(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r PingRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	if err := allow(env, r.Address, 0); err != nil {
		return nil, nil, err
	}
	resp, err := Ping(ctx, r)
	return resp, nil, err
}

func opSNMP(ctx context.Context, env Env, req, _ []byte) (any, []byte, error) {
	var r SNMPRequest
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	host, port := splitSNMPAddress(r.Address)
	if err := allow(env, host, port); err != nil {
		return nil, nil, err
	}
	resp, err := SNMP(ctx, r)
	return resp, nil, err
}

// splitSNMPAddress extracts host and port (default 161) from the forms the
// SNMP primitive accepts: host, host:port, [v6]:port, snmp://host[:port].
func splitSNMPAddress(a string) (string, int) {
	if u, err := url.Parse(a); err == nil && u.Scheme != "" && u.Host != "" {
		a = u.Host
	}
	if h, p, err := net.SplitHostPort(a); err == nil {
		port, _ := strconv.Atoi(p)
		return h, port
	}
	return a, 161
}

func opSleep(ctx context.Context, _ Env, req, _ []byte) (any, []byte, error) {
	var r struct {
		MS int64 `json:"ms"`
	}
	if err := decode(req, &r); err != nil {
		return nil, nil, err
	}
	t := time.NewTimer(time.Duration(r.MS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, nil, nil
	case <-ctx.Done():
		return nil, nil, Wrap(ctx.Err(), "sleep")
	}
}

// Default caps applied when a request does not set its own; the sandbox's
// MaxBytes bounds them further.
const (
	defaultReadCap = 64 << 10
	defaultBodyCap = 1 << 20
)
