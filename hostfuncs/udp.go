package hostfuncs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// udpDefaultMaxBytes caps a reply when UDPRequest.MaxBytes is zero; it holds
// any UDP datagram.
const udpDefaultMaxBytes = 64 << 10

// udpMaxDatagram is the largest UDP payload possible (IPv6 jumbograms aside).
const udpMaxDatagram = 65535

// udpScratch holds receive buffers big enough for any datagram, so that an
// exchange allocates only the reply it returns.
var udpScratch = sync.Pool{New: func() any { b := make([]byte, udpMaxDatagram+1); return &b }}

// UDPRequest sends one datagram and optionally waits for one reply.
type UDPRequest struct {
	Address    string `json:"address"`               // host:port
	TimeoutMS  int    `json:"timeout_ms,omitempty"`  // 0 means only the context deadline
	AwaitReply bool   `json:"await_reply,omitempty"` // wait for a reply datagram
	MaxBytes   int    `json:"max_bytes,omitempty"`   // largest reply accepted; 0 means 64 KiB (any datagram)
}

// UDPResponse states exactly what happened, so that the check decides what a
// missing reply means (APMonitor reported "up" for a silent port).
type UDPResponse struct {
	Sent      int     `json:"sent"`      // bytes sent
	Replied   bool    `json:"replied"`   // a reply datagram arrived
	From      string  `json:"from"`      // ip:port the datagram went to and any reply came from
	RTTMS     float64 `json:"rtt_ms"`    // send to reply, or to the timeout
	TimedOut  bool    `json:"timed_out"` // no reply before the deadline
	Truncated bool    `json:"truncated"` // the reply was longer than MaxBytes
}

// UDPExchange sends payload to req.Address from a connected UDP socket and,
// with AwaitReply, waits for one reply. Because the socket is connected, an
// ICMP port-unreachable answer surfaces as code refused, while a port that
// stays silent gives TimedOut with no error: the two are different facts
// (closed port versus filtered or unanswering service). Without AwaitReply
// neither is observed. A reply longer than MaxBytes is returned cut to
// MaxBytes with Truncated set and code limit.
//
// With AwaitReply and neither TimeoutMS nor a context deadline, the wait ends
// only when ctx is canceled.
func UDPExchange(ctx context.Context, req UDPRequest, payload []byte) ([]byte, UDPResponse, error) {
	var resp UDPResponse
	doing := "udp " + req.Address
	if _, _, err := net.SplitHostPort(req.Address); err != nil {
		return nil, resp, Errorf(CodeInvalid, "address %q: %v", req.Address, err)
	}
	if req.TimeoutMS < 0 {
		return nil, resp, Errorf(CodeInvalid, "%s: timeout_ms %d is negative", doing, req.TimeoutMS)
	}
	if req.MaxBytes < 0 {
		return nil, resp, Errorf(CodeInvalid, "%s: max_bytes %d is negative", doing, req.MaxBytes)
	}
	maxBytes := req.MaxBytes
	if maxBytes == 0 {
		maxBytes = udpDefaultMaxBytes
	}
	ctx, cancel := withTimeout(ctx, req.TimeoutMS)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", req.Address)
	if err != nil {
		return nil, resp, netFailure(ctx, err, doing)
	}
	defer conn.Close()
	resp.From = conn.RemoteAddr().String()
	doing = "udp " + resp.From
	if req.Address != resp.From {
		doing = fmt.Sprintf("udp %s (%s)", req.Address, resp.From)
	}

	disarm := armDeadline(ctx, conn.SetDeadline)
	defer disarm()
	start := time.Now()
	n, err := conn.Write(payload)
	resp.Sent = n
	if err != nil {
		return nil, resp, udpFailure(ctx, err, doing+": send")
	}
	if !req.AwaitReply {
		return nil, resp, nil
	}
	// One byte more than the cap tells a datagram that did not fit.
	scratch := udpScratch.Get().(*[]byte)
	defer udpScratch.Put(scratch)
	buf := (*scratch)[:min(maxBytes, udpMaxDatagram)+1]
	n, err = conn.Read(buf)
	resp.RTTMS = durationMS(time.Since(start))
	if err != nil {
		if isTimeout(err) && !errors.Is(ctx.Err(), context.Canceled) {
			resp.TimedOut = true
			return nil, resp, nil
		}
		return nil, resp, udpFailure(ctx, err, doing)
	}
	resp.Replied = true
	if n > maxBytes {
		resp.Truncated = true
		return bytes.Clone(buf[:maxBytes]), resp, Errorf(CodeLimit, "%s: reply is longer than max_bytes %d", doing, maxBytes)
	}
	return append([]byte{}, buf[:n]...), resp, nil
}

// udpFailure classifies a send or receive error, naming ICMP port unreachable
// for what it is.
func udpFailure(ctx context.Context, err error, doing string) *Error {
	e := netFailure(ctx, err, doing)
	if errors.Is(err, syscall.ECONNREFUSED) {
		e.Message += " (port unreachable)"
	}
	return e
}
