package hostfuncs

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

func TestUDPExchange(t *testing.T) {
	echo := testutil.ServeUDP(t, func(b []byte) []byte { return append([]byte("echo:"), b...) })
	big := testutil.ServeUDP(t, func([]byte) []byte { return bytes.Repeat([]byte("y"), 100) })
	empty := testutil.ServeUDP(t, func([]byte) []byte { return []byte{} })
	seen := make(chan string, 10)
	silent := testutil.ServeUDP(t, func(b []byte) []byte { seen <- string(b); return nil })
	closed := closedPort(t, "udp")

	tests := []struct {
		name    string
		req     UDPRequest
		payload string
		want    string
		code    Code
		msg     string
		resp    UDPResponse // RTTMS is checked for being set, not its value
	}{
		{name: "echo", req: UDPRequest{Address: echo, TimeoutMS: 5000, AwaitReply: true}, payload: "ping",
			want: "echo:ping", resp: UDPResponse{Sent: 4, Replied: true, From: echo}},
		{name: "empty reply", req: UDPRequest{Address: empty, TimeoutMS: 5000, AwaitReply: true}, payload: "x",
			want: "", resp: UDPResponse{Sent: 1, Replied: true, From: empty}},
		{name: "reply exactly at cap", req: UDPRequest{Address: big, TimeoutMS: 5000, AwaitReply: true, MaxBytes: 100}, payload: "q",
			want: strings.Repeat("y", 100), resp: UDPResponse{Sent: 1, Replied: true, From: big}},
		{name: "reply over cap", req: UDPRequest{Address: big, TimeoutMS: 5000, AwaitReply: true, MaxBytes: 10}, payload: "q",
			want: strings.Repeat("y", 10), code: CodeLimit, msg: "udp " + big + ": reply is longer than max_bytes 10",
			resp: UDPResponse{Sent: 1, Replied: true, From: big, Truncated: true}},
		{name: "silent port", req: UDPRequest{Address: silent, TimeoutMS: 100, AwaitReply: true}, payload: "hello?",
			resp: UDPResponse{Sent: 6, From: silent, TimedOut: true}},
		{name: "closed port", req: UDPRequest{Address: closed, TimeoutMS: 5000, AwaitReply: true}, payload: "hello?",
			code: CodeRefused, msg: "udp " + closed + ": connection refused (port unreachable)", resp: UDPResponse{Sent: 6, From: closed}},
		{name: "fire and forget", req: UDPRequest{Address: closed, TimeoutMS: 5000}, payload: "<13>syslog line",
			resp: UDPResponse{Sent: 15, From: closed}},
		{name: "no port", req: UDPRequest{Address: "127.0.0.1", AwaitReply: true}, code: CodeInvalid},
		{name: "negative cap", req: UDPRequest{Address: echo, MaxBytes: -1}, code: CodeInvalid},
		{name: "negative timeout", req: UDPRequest{Address: echo, TimeoutMS: -5}, code: CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, resp, err := UDPExchange(context.Background(), tt.req, []byte(tt.payload))
			ze := wantCode(t, err, tt.code)
			if ze != nil && tt.msg != "" && ze.Message != tt.msg {
				t.Errorf("message = %q, want %q", ze.Message, tt.msg)
			}
			if string(data) != tt.want {
				t.Errorf("data = %q, want %q", data, tt.want)
			}
			if tt.req.AwaitReply && tt.code != CodeInvalid && resp.RTTMS <= 0 {
				t.Errorf("rtt_ms = %v", resp.RTTMS)
			}
			resp.RTTMS = 0
			if resp != tt.resp {
				t.Errorf("response = %+v, want %+v", resp, tt.resp)
			}
		})
	}
	select {
	case got := <-seen:
		if got != "hello?" {
			t.Errorf("silent server received %q", got)
		}
	default:
		t.Error("silent server received nothing")
	}
}

func TestUDPCancel(t *testing.T) {
	received := make(chan struct{}, 10)
	silent := testutil.ServeUDP(t, func([]byte) []byte { received <- struct{}{}; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := UDPExchange(ctx, UDPRequest{Address: silent, AwaitReply: true}, []byte("x"))
		done <- err
	}()
	<-received // the datagram is out: the exchange is waiting for a reply
	cancel()
	select {
	case err := <-done:
		wantCode(t, err, CodeCanceled)
	case <-time.After(5 * time.Second):
		t.Fatal("exchange not interrupted by cancel")
	}

	// The context deadline alone (no timeout_ms) ends the wait as a timeout,
	// which is a fact, not an error.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, resp, err := UDPExchange(ctx, UDPRequest{Address: silent, AwaitReply: true}, []byte("x"))
	if err != nil || !resp.TimedOut || resp.Replied {
		t.Errorf("deadline: %+v, %v", resp, err)
	}
}

// BenchmarkUDPExchangeDirect measures one request/reply against a loopback
// echo server without WASM.
func BenchmarkUDPExchangeDirect(b *testing.B) {
	echo := testutil.ServeUDP(b, func(p []byte) []byte { return p })
	ctx := context.Background()
	req := UDPRequest{Address: echo, TimeoutMS: 5000, AwaitReply: true}
	payload := []byte("ping")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := UDPExchange(ctx, req, payload); err != nil {
			b.Fatal(err)
		}
	}
}
