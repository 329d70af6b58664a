package hostfuncs

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	httpDefaultMaxBody      = 1 << 20 // max_body_bytes when zero
	httpDefaultMaxRedirects = 10      // max_redirects when nil
	httpMaxHeaderBytes      = 1 << 20 // response header cap, both protocols
	httpDefaultUserAgent    = "zappy/1"
)

// HTTPRequest asks for one HTTP exchange, redirects included. The same
// request serves HTTP/1.1 and HTTP/2 (HTTP) and HTTP/3 (HTTP3).
type HTTPRequest struct {
	Method       string            `json:"method,omitempty"`  // default GET, or POST when a body is given
	URL          string            `json:"url"`               // http:// or https:// (HTTP/3: https:// only)
	Headers      map[string]string `json:"headers,omitempty"` // extra request headers; "Host" acts like Host
	Host         string            `json:"host,omitempty"`    // Host header (and TLS name) override for the URL's host
	UserAgent    string            `json:"user_agent,omitempty"`
	TimeoutMS    int               `json:"timeout_ms,omitempty"`     // whole exchange incl. redirects and body; 0 = ctx only
	MaxBodyBytes int               `json:"max_body_bytes,omitempty"` // body read cap; 0 = 1 MiB
	MaxRedirects *int              `json:"max_redirects,omitempty"`  // nil = 10, 0 = return the redirect itself
	TLS          TLSOptions        `json:"tls"`                      // applies to every HTTPS hop (server_name: to the original host only)
	// Allow, when set, is asked about the host and port of every hop
	// before it is connected to, the redirects included; a refusal ends
	// the exchange with code denied. The sandbox sets it to its allow-list.
	Allow func(host string, port int) error `json:"-"`
}

// HTTPRedirect is one redirect response of a chain: the URL that answered,
// its status code and the absolute URL its Location header points to.
type HTTPRedirect struct {
	URL      string `json:"url"`
	Code     int    `json:"code"`
	Location string `json:"location"`
}

// HTTPTimings splits the last hop of an exchange into phases, so a check can
// tell a slow resolver from a slow network or a slow application. dns_ms,
// connect_ms and tls_ms are the durations of those phases (0 when skipped,
// e.g. for an IP literal or plain HTTP); first_byte_ms runs from the start of
// the last hop to the first response byte, so it includes them; total_ms is the
// whole exchange including earlier redirects and the body read. For HTTP/3 the
// QUIC handshake carries TLS, so connect_ms and tls_ms both hold its duration.
type HTTPTimings struct {
	DNSMS       float64 `json:"dns_ms"`
	ConnectMS   float64 `json:"connect_ms"`
	TLSMS       float64 `json:"tls_ms"`
	FirstByteMS float64 `json:"first_byte_ms"`
	TotalMS     float64 `json:"total_ms"`
}

// HTTPResponse describes the last response of an exchange. A non-2xx status
// is a response, not an error: the check decides what it means. The body
// itself is returned separately as raw bytes.
type HTTPResponse struct {
	Code          int               `json:"code"`
	Status        string            `json:"status"` // e.g. "200 OK"
	Proto         string            `json:"proto"`  // "HTTP/1.1", "HTTP/2.0", "HTTP/3.0"
	Headers       map[string]string `json:"headers"`
	URL           string            `json:"url"`         // of the last hop
	RemoteAddr    string            `json:"remote_addr"` // ip:port the last hop connected to
	ContentLength int64             `json:"content_length"`
	BodyBytes     int               `json:"body_bytes"` // bytes read (and returned)
	Truncated     bool              `json:"truncated"`  // the body was longer than max_body_bytes
	// Redirects lists every redirect response received, in order. When the
	// chain was followed to its end the last response is not listed; when
	// following stopped (max_redirects 0, the limit, a loop) the last entry is
	// the response described by the fields above.
	Redirects []HTTPRedirect `json:"redirects,omitempty"`
	Timings   HTTPTimings    `json:"timings"`
	TLS       *TLSInfo       `json:"tls,omitempty"` // last hop over HTTPS; also set when its verification failed
}

// HTTP performs req over HTTP/1.1, or HTTP/2 when an HTTPS server offers it
// (unless tls.alpn leaves out "h2"), following redirects itself so that each
// hop is recorded and verified under req.TLS. Every hop uses a fresh
// connection, so the timings always measure resolution, connect and
// handshake. Errors are transport failures only; alongside an error the
// response carries whatever was learnt (redirects, timings, TLS chain).
//
// Redirects: 301, 302 and 303 turn methods other than GET and HEAD into a GET
// without body; 307 and 308 keep method and body. The host override,
// tls.server_name and the Authorization, Cookie and Proxy-Authorization
// headers go only to the original host:port. A loop or more than
// max_redirects hops fails with code protocol; a hop req.Allow refuses fails
// with code denied.
func HTTP(ctx context.Context, req HTTPRequest, body []byte) (HTTPResponse, []byte, error) {
	return httpExchange(ctx, req, body, httpOverTCP)
}

// httpProtocol is what differs between HTTP over TCP and over QUIC: the
// schemes it can follow and how one hop is performed.
type httpProtocol struct {
	name      string // prefix of error messages, "" for plain HTTP
	quic      bool
	schemes   []string
	roundTrip func(h *httpHop) error // sets h.resp and h.release, or fails
	classify  func(err error, doing string) *Error
}

var httpOverTCP = httpProtocol{schemes: []string{"http", "https"}, roundTrip: roundTripTCP, classify: tcpHTTPFailure}

// tcpHTTPFailure classifies like Wrap, and recognises net/http's untyped
// errors for a peer that is not speaking HTTP or sends oversized headers.
func tcpHTTPFailure(err error, doing string) *Error {
	ze := Wrap(err, doing)
	if ze.Code == CodeIO {
		ze = &Error{Code: ze.Code, Message: ze.Message, Err: ze.Err}
		switch msg := err.Error(); {
		case strings.Contains(msg, "malformed HTTP"), strings.Contains(msg, "malformed MIME"), strings.Contains(msg, "http2: "):
			ze.Code = CodeProtocol
		case strings.Contains(msg, "response headers exceeded"):
			ze.Code = CodeLimit
		case strings.Contains(msg, "readLoopPeekFailLocked"):
			// net/http saw bytes on the connection before it sent the request.
			ze.Code, ze.Message = CodeProtocol, doing+": the server spoke before the request: not an HTTP server"
		}
	}
	return ze
}

// httpHop is one request of a redirect chain. The trace hooks may fire on
// transport goroutines, hence the mutex over the timestamps.
type httpHop struct {
	req        *http.Request
	tls        TLSOptions
	serverName string
	quic       bool

	resp    *http.Response
	release func() // closes the body and the connection

	mu                                            sync.Mutex
	start, dnsStart, dnsDone, connStart, connDone time.Time
	tlsStart, tlsDone, gotConn, firstByte         time.Time
	dialAddr                                      string               // last address a connection was attempted to
	remoteAddr                                    string               // address of the connection used
	seen                                          *tls.ConnectionState // presented to verification
	verifyErr                                     error
}

func (h *httpHop) mark(t *time.Time) {
	h.mu.Lock()
	if t.IsZero() {
		*t = time.Now()
	}
	h.mu.Unlock()
}

func (h *httpHop) setDialAddr(addr string) {
	h.mu.Lock()
	if h.connDone.IsZero() {
		h.dialAddr = addr
	}
	h.mu.Unlock()
}

// remote is the address of the connection used, or of the one that was
// established when the hop failed before using it (e.g. in TLS).
func (h *httpHop) remote() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.remoteAddr == "" && !h.connDone.IsZero() {
		return h.dialAddr
	}
	return h.remoteAddr
}

func (h *httpHop) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { h.mark(&h.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { h.mark(&h.dnsDone) },
		ConnectStart: func(_, addr string) {
			h.mark(&h.connStart)
			h.setDialAddr(addr)
		},
		ConnectDone: func(_, addr string, err error) {
			if err == nil {
				h.setDialAddr(addr)
				h.mark(&h.connDone)
			}
		},
		TLSHandshakeStart: func() { h.mark(&h.tlsStart) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { h.mark(&h.tlsDone) },
		GotConn: func(info httptrace.GotConnInfo) {
			h.mu.Lock()
			h.remoteAddr = info.Conn.RemoteAddr().String()
			h.mu.Unlock()
			h.mark(&h.gotConn)
		},
		GotFirstResponseByte: func() { h.mark(&h.firstByte) },
	}
}

// tlsConfig applies the verification rule of h.tls for this hop's name and
// remembers what verification saw, so a failure can still describe the chain.
func (h *httpHop) tlsConfig() (*tls.Config, error) {
	cfg, err := h.tls.ClientConfig(h.serverName)
	if err != nil {
		return nil, err
	}
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		err := verify(cs)
		h.mu.Lock()
		h.seen, h.verifyErr = &cs, err
		h.mu.Unlock()
		return err
	}
	return cfg, nil
}

// timings fills the phases of this hop; total is left to the caller.
func (h *httpHop) timings() HTTPTimings {
	h.mu.Lock()
	defer h.mu.Unlock()
	span := func(a, b time.Time) float64 {
		if a.IsZero() || b.IsZero() {
			return 0
		}
		return durationMS(b.Sub(a))
	}
	return HTTPTimings{
		DNSMS:       span(h.dnsStart, h.dnsDone),
		ConnectMS:   span(h.connStart, h.connDone),
		TLSMS:       span(h.tlsStart, h.tlsDone),
		FirstByteMS: span(h.start, h.firstByte),
	}
}

// phase says what the hop was doing, for timeout messages.
func (h *httpHop) phase(readingBody bool) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case readingBody:
		return "reading the body"
	case !h.firstByte.IsZero():
		return "reading the response headers"
	case !h.gotConn.IsZero():
		return "waiting for the response"
	case h.quic && !h.connStart.IsZero():
		return "in the QUIC handshake with " + h.dialAddr
	case !h.tlsStart.IsZero():
		return "in the TLS handshake with " + h.dialAddr
	case !h.connStart.IsZero():
		return "connecting to " + h.dialAddr
	case !h.dnsStart.IsZero():
		return "resolving " + h.req.URL.Hostname()
	}
	return "before connecting"
}

// describeTLS reports the hop's TLS state: the completed handshake if there is
// one, else the chain that verification rejected.
func (h *httpHop) describeTLS() *TLSInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var hs time.Duration
	if !h.tlsStart.IsZero() && !h.tlsDone.IsZero() {
		hs = h.tlsDone.Sub(h.tlsStart)
	}
	var info TLSInfo
	switch {
	case h.resp != nil && h.resp.TLS != nil:
		info = DescribeConnection(*h.resp.TLS, h.tls, hs)
	case h.seen != nil && len(h.seen.PeerCertificates) > 0:
		info = DescribeConnection(*h.seen, h.tls, hs)
		if h.verifyErr != nil {
			info.Verified, info.Pinned = false, false
		}
	default:
		return nil
	}
	if info.ServerName == "" {
		// No SNI is sent for an IP address; report the name the
		// certificate was checked against, as Handshake does.
		info.ServerName = cmp.Or(h.tls.ServerName, h.serverName)
	}
	return &info
}

// failure turns a hop error into an *Error: a verification verdict wins, a
// passed deadline says how long and in which phase, the rest is classified.
func (h *httpHop) failure(ctx context.Context, start time.Time, err error, doing string, readingBody bool, classify func(error, string) *Error) *Error {
	h.mu.Lock()
	verr := h.verifyErr
	h.mu.Unlock()
	if verr != nil {
		return Wrap(verr, doing)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s: timed out after %s %s", doing, time.Since(start).Round(time.Millisecond), h.phase(readingBody)), Err: err}
	}
	if ctx.Err() != nil {
		return Wrap(ctx.Err(), doing)
	}
	return classify(err, doing)
}

// httpPlan is a validated HTTPRequest.
type httpPlan struct {
	url          *url.URL
	method       string
	header       http.Header
	host         string // Host override for hops to the original host
	maxBody      int64
	maxRedirects int
}

func (p httpProtocol) plan(r HTTPRequest, body []byte) (httpPlan, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return httpPlan{}, Errorf(CodeInvalid, "url %q: %v", r.URL, err)
	}
	if !slices.Contains(p.schemes, u.Scheme) {
		return httpPlan{}, Errorf(CodeInvalid, "url %q: scheme must be %s", r.URL, strings.Join(p.schemes, " or "))
	}
	if u.Hostname() == "" {
		return httpPlan{}, Errorf(CodeInvalid, "url %q has no host", r.URL)
	}
	u.Fragment, u.RawFragment = "", ""
	pl := httpPlan{url: u, method: r.Method, host: r.Host, maxBody: int64(r.MaxBodyBytes), maxRedirects: httpDefaultMaxRedirects}
	if pl.method == "" {
		pl.method = http.MethodGet
		if len(body) > 0 {
			pl.method = http.MethodPost
		}
	}
	if pl.maxBody < 0 {
		return httpPlan{}, Errorf(CodeInvalid, "max_body_bytes %d is negative", r.MaxBodyBytes)
	}
	if pl.maxBody == 0 {
		pl.maxBody = httpDefaultMaxBody
	}
	if r.MaxRedirects != nil {
		if *r.MaxRedirects < 0 {
			return httpPlan{}, Errorf(CodeInvalid, "max_redirects %d is negative", *r.MaxRedirects)
		}
		pl.maxRedirects = *r.MaxRedirects
	}
	pl.header = http.Header{}
	ua := r.UserAgent
	if ua == "" {
		ua = httpDefaultUserAgent
	}
	pl.header.Set("User-Agent", ua)
	for k, v := range r.Headers {
		if textproto.CanonicalMIMEHeaderKey(k) == "Host" {
			if pl.host == "" {
				pl.host = v
			}
			continue
		}
		pl.header.Set(k, v)
	}
	return pl, nil
}

// httpExchange runs the redirect loop shared by HTTP and HTTP3.
func httpExchange(ctx context.Context, r HTTPRequest, body []byte, p httpProtocol) (HTTPResponse, []byte, error) {
	start := time.Now()
	out := HTTPResponse{ContentLength: -1, URL: r.URL}
	pl, err := p.plan(r, body)
	if err != nil {
		return out, nil, err
	}
	if err := allowHop(r.Allow, pl.url); err != nil {
		return out, nil, &Error{Code: CodeDenied, Message: strings.TrimSpace(p.name+" "+pl.method+" "+pl.url.String()) + ": " + err.Error(), Err: err}
	}
	ctx, cancel := withTimeout(ctx, r.TimeoutMS)
	defer cancel()

	cur, method, sendBody, header := pl.url, pl.method, body, pl.header
	visited := map[string]bool{method + " " + cur.String(): true}
	origin := hostPort(pl.url) // the host the override and credentials are for
	for {
		h := &httpHop{tls: r.TLS, quic: p.quic}
		doing := strings.TrimSpace(p.name + " " + method + " " + cur.String())
		out.URL = cur.String()
		// Until this hop answers, no response describes it (the previous
		// one is in out.Redirects).
		out.Code, out.Status, out.Proto, out.Headers, out.ContentLength = 0, "", "", nil, -1
		hdr := header.Clone()
		sameHost := hostPort(cur) == origin
		if !sameHost {
			// Like the host override, server_name names the original
			// host's certificate; another host is verified by its own name.
			h.tls.ServerName = ""
			for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
				hdr.Del(k)
			}
		}
		h.serverName = cur.Hostname()
		if r.TLS.ServerName == "" && sameHost && pl.host != "" {
			if name, _, err := net.SplitHostPort(pl.host); err == nil {
				h.serverName = name
			} else {
				h.serverName = pl.host
			}
		}
		var rd io.Reader
		if sendBody != nil {
			rd = bytes.NewReader(sendBody)
		}
		h.req, err = http.NewRequestWithContext(httptrace.WithClientTrace(ctx, h.trace()), method, cur.String(), rd)
		if err != nil {
			return out, nil, Errorf(CodeInvalid, "%s: %v", doing, err)
		}
		h.req.Header = hdr
		if sameHost {
			h.req.Host = pl.host
		}

		h.start = time.Now()
		err = p.roundTrip(h)
		out.Timings = h.timings()
		out.RemoteAddr = h.remote()
		if cur.Scheme == "https" {
			out.TLS = h.describeTLS()
		} else {
			out.TLS = nil
		}
		if err != nil {
			out.Timings.TotalMS = durationMS(time.Since(start))
			return out, nil, h.failure(ctx, start, err, doing, false, p.classify)
		}
		resp := h.resp
		out.shape(resp)

		next, isRedirect, lerr := redirectTarget(resp, cur)
		if lerr != nil {
			h.release()
			out.Timings.TotalMS = durationMS(time.Since(start))
			return out, nil, Errorf(CodeProtocol, "%s: %d redirect with a bad Location: %v", doing, resp.StatusCode, lerr)
		}
		if isRedirect {
			out.Redirects = append(out.Redirects, HTTPRedirect{URL: cur.String(), Code: resp.StatusCode, Location: next.String()})
		}
		if !isRedirect || pl.maxRedirects == 0 {
			data, truncated, rerr := readCapped(resp.Body, pl.maxBody)
			h.release()
			out.BodyBytes, out.Truncated = len(data), truncated
			out.Timings.TotalMS = durationMS(time.Since(start))
			if rerr != nil {
				return out, data, h.failure(ctx, start, rerr, doing, true, p.classify)
			}
			return out, data, nil
		}

		h.release()
		stop := func(format string, args ...any) (HTTPResponse, []byte, error) {
			out.Timings.TotalMS = durationMS(time.Since(start))
			return out, nil, Errorf(CodeProtocol, "%s: "+format, append([]any{doing}, args...)...)
		}
		if len(out.Redirects) > pl.maxRedirects {
			return stop("more than %d redirects (the last to %s)", pl.maxRedirects, next)
		}
		if !slices.Contains(p.schemes, next.Scheme) {
			return stop("%d redirect to %s cannot be followed over %s", resp.StatusCode, next, cmp.Or(p.name, "HTTP"))
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
			if method != http.MethodGet && method != http.MethodHead {
				method, sendBody = http.MethodGet, nil
				header = header.Clone()
				header.Del("Content-Type")
			}
		}
		key := method + " " + next.String()
		if visited[key] {
			return stop("redirect loop: %s was already visited", next)
		}
		visited[key] = true
		if err := allowHop(r.Allow, next); err != nil {
			out.Timings.TotalMS = durationMS(time.Since(start))
			return out, nil, &Error{Code: CodeDenied, Message: fmt.Sprintf("%s: %d redirect to %s: %v", doing, resp.StatusCode, next, err), Err: err}
		}
		cur = next
	}
}

// allowHop asks allow, when set, whether the hop to u may be made.
func allowHop(allow func(string, int) error, u *url.URL) error {
	if allow == nil {
		return nil
	}
	return allow(u.Hostname(), urlPort(u))
}

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// hostPort is u's lower-case host name and port (the scheme's default
// when the URL has none): HOST:80 and host are the same server.
func hostPort(u *url.URL) string {
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), strconv.Itoa(urlPort(u)))
}

// redirectTarget resolves the Location of a redirect response against the
// URL that produced it. A 3xx without Location is a final response.
func redirectTarget(resp *http.Response, cur *url.URL) (*url.URL, bool, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, false, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, false, nil
	}
	next, err := cur.Parse(loc)
	if err != nil {
		return nil, false, err
	}
	next.Fragment, next.RawFragment = "", ""
	return next, true, nil
}

// shape copies the status line and headers of resp into out.
func (out *HTTPResponse) shape(resp *http.Response) {
	out.Code = resp.StatusCode
	out.Status = resp.Status
	if out.Status == "" || out.Status == fmt.Sprint(resp.StatusCode) {
		out.Status = strings.TrimSpace(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	out.Proto = resp.Proto
	out.ContentLength = resp.ContentLength
	out.Headers = make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		out.Headers[textproto.CanonicalMIMEHeaderKey(k)] = strings.Join(v, ", ")
	}
}

// readCapped reads at most max bytes of r and says whether more was there.
func readCapped(r io.Reader, max int64) ([]byte, bool, error) {
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if n > max {
		return buf.Bytes()[:max], true, nil
	}
	return buf.Bytes(), false, err
}

// roundTripTCP performs one hop over a transport of its own, so that nothing
// is pooled: the connection dies with the hop.
func roundTripTCP(h *httpHop) error {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	tr := &http.Transport{
		DialContext:            (&net.Dialer{KeepAlive: -1}).DialContext,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: httpMaxHeaderBytes,
		Protocols:              protocols,
	}
	if h.req.URL.Scheme == "https" {
		cfg, err := h.tlsConfig()
		if err != nil {
			return err
		}
		if len(h.tls.ALPN) == 0 || slices.Contains(h.tls.ALPN, "h2") {
			protocols.SetHTTP2(true)
		}
		tr.TLSClientConfig = cfg
	}
	resp, err := tr.RoundTrip(h.req)
	if err != nil {
		tr.CloseIdleConnections()
		return err
	}
	h.resp = resp
	h.release = func() {
		resp.Body.Close()
		tr.CloseIdleConnections()
	}
	return nil
}
