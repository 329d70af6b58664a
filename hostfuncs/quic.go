package hostfuncs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// HTTP3 performs req over HTTP/3 (QUIC, ALPN "h3"), with the request,
// response, redirect and error semantics of HTTP; every hop is an https://
// URL reached over a fresh QUIC connection from a fresh UDP socket, so no
// handshake is resumed and the timings are those of a first visit. A server
// that does not answer on UDP gives a timeout (there is no "refused" for
// unconnected UDP sockets).
func HTTP3(ctx context.Context, req HTTPRequest, body []byte) (HTTPResponse, []byte, error) {
	return httpExchange(ctx, req, body, httpOverQUIC)
}

var httpOverQUIC = httpProtocol{name: "HTTP/3", quic: true, schemes: []string{"https"}, roundTrip: roundTripQUIC, classify: quicFailure}

// roundTripQUIC resolves, dials and handshakes itself (the http3.Transport
// dialer shares connections between requests and outlives the request
// context), then runs the request on an http3.ClientConn of that connection.
func roundTripQUIC(h *httpHop) error {
	ctx := h.req.Context()
	raddr, err := h.resolveUDP(ctx)
	if err != nil {
		return err
	}
	network := "udp4"
	if raddr.IP.To4() == nil {
		network = "udp6"
	}
	udp, err := net.ListenUDP(network, nil)
	if err != nil {
		return err
	}
	tr := &quic.Transport{Conn: udp}
	closeAll := func() {
		tr.Close()
		udp.Close()
	}
	cfg, err := h.tlsConfig()
	if err != nil {
		closeAll()
		return err
	}
	cfg.NextProtos = []string{http3.NextProtoH3}

	h.setDialAddr(raddr.String())
	h.mu.Lock()
	h.connStart = time.Now()
	h.tlsStart = h.connStart
	h.mu.Unlock()
	conn, err := tr.Dial(ctx, raddr, cfg, &quic.Config{MaxIncomingStreams: -1})
	h.mu.Lock()
	if err == nil || h.seen != nil {
		// The server answered: either the handshake completed or its
		// certificate was rejected, which ends the handshake too.
		now := time.Now()
		h.connDone, h.tlsDone = now, now
		h.remoteAddr = raddr.String()
	}
	h.mu.Unlock()
	if err != nil {
		closeAll()
		var idle *quic.IdleTimeoutError
		var hs *quic.HandshakeTimeoutError
		if errors.As(err, &idle) || errors.As(err, &hs) {
			return &Error{Code: CodeTimeout, Message: fmt.Sprintf("no answer to the QUIC handshake from %s within %s", raddr, time.Since(h.connStart).Round(time.Millisecond)), Err: err}
		}
		return err
	}
	h.mu.Lock()
	h.remoteAddr = conn.RemoteAddr().String()
	h.mu.Unlock()
	h.mark(&h.gotConn)

	t3 := &http3.Transport{DisableCompression: true, MaxResponseHeaderBytes: httpMaxHeaderBytes}
	cc := t3.NewClientConn(conn)
	resp, err := cc.RoundTrip(h.req)
	if err != nil {
		conn.CloseWithError(0, "")
		closeAll()
		return err
	}
	h.resp = resp
	h.release = func() {
		resp.Body.Close()
		conn.CloseWithError(0, "")
		closeAll()
	}
	return nil
}

// resolveUDP resolves the hop's host like quic-go's own transport does:
// IPv4 preferred unless the URL holds an IPv6 literal.
func (h *httpHop) resolveUDP(ctx context.Context) (*net.UDPAddr, error) {
	u := h.req.URL
	port := 443
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return nil, Errorf(CodeInvalid, "url port %q is not a port number", p)
		}
		port = n
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		return &net.UDPAddr{IP: ip, Port: port}, nil
	}
	h.mark(&h.dnsStart)
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	h.mark(&h.dnsDone)
	if err != nil {
		return nil, err
	}
	pick := addrs[0]
	for _, a := range addrs {
		if a.IP.To4() != nil {
			pick = a
			break
		}
	}
	return &net.UDPAddr{IP: pick.IP, Port: port, Zone: pick.Zone}, nil
}

// quicFailure classifies QUIC and HTTP/3 errors, whose types wrap
// net.ErrClosed and would otherwise all read as a reset.
func quicFailure(err error, doing string) *Error {
	var (
		hsTimeout   *quic.HandshakeTimeoutError
		idleTimeout *quic.IdleTimeoutError
		transport   *quic.TransportError
		app         *quic.ApplicationError
		version     *quic.VersionNegotiationError
		reset       *quic.StatelessResetError
		h3          *http3.Error
	)
	code := Code("")
	switch {
	case errors.As(err, &hsTimeout):
		return &Error{Code: CodeTimeout, Message: doing + ": the QUIC handshake did not complete in time", Err: err}
	case errors.As(err, &idleTimeout):
		return &Error{Code: CodeTimeout, Message: doing + ": the server stopped answering (QUIC idle timeout)", Err: err}
	case errors.As(err, &transport):
		var ze *Error
		switch {
		case errors.As(err, &ze):
			return Wrap(err, doing)
		case transport.ErrorCode == quic.ConnectionRefused:
			code = CodeRefused
		case transport.ErrorCode.IsCryptoError():
			code = CodeTLS
		default:
			code = CodeProtocol
		}
		if transport.Remote {
			return &Error{Code: code, Message: fmt.Sprintf("%s: the server closed the QUIC connection: %v", doing, err), Err: err}
		}
	case errors.As(err, &h3):
		code = CodeProtocol
		if h3.ErrorCode == http3.ErrCodeRequestRejected || h3.ErrorCode == http3.ErrCodeRequestCanceled {
			code = CodeReset
		}
	case errors.As(err, &app):
		code = CodeReset
	case errors.As(err, &version):
		code = CodeProtocol
	case errors.As(err, &reset):
		code = CodeReset
	default:
		return Wrap(err, doing)
	}
	return &Error{Code: code, Message: doing + ": " + err.Error(), Err: err}
}
