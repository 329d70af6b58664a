package hostfuncs

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// startHTTP3 serves the test mux over HTTP/3 on a UDP socket of 127.0.0.1
// and returns its https:// base URL.
func startHTTP3(t testing.TB, leaf *testutil.Leaf) string {
	t.Helper()
	return testutil.ServeHTTP3(t, httpTestMux(httpTestDone(t)), leaf)
}

func TestHTTP3(t *testing.T) {
	ctx := context.Background()
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	base := startHTTP3(t, self)
	addr := strings.TrimPrefix(base, "https://")
	pin := TLSOptions{Fingerprint: strings.ToUpper(self.Fingerprint[:8]) + ":" + self.Fingerprint[8:]}

	t.Run("get", func(t *testing.T) {
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: base + "/hello", TLS: pin}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "hello world" {
			t.Errorf("body %q", body)
		}
		want := HTTPResponse{
			Code: 200, Status: "200 OK", Proto: "HTTP/3.0", URL: base + "/hello", RemoteAddr: addr,
			ContentLength: 11, BodyBytes: 11,
			Headers: map[string]string{"X-Multi": "1, 2", "X-Lower": "y", "Content-Type": "text/plain", "Content-Length": "11", "Date": resp.Headers["Date"]},
		}
		got := resp
		got.Timings, got.TLS = HTTPTimings{}, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("response\n got %+v\nwant %+v", got, want)
		}
		ti := resp.TLS
		if ti == nil || ti.ALPN != "h3" || ti.Fingerprint != self.Fingerprint || !ti.Pinned || ti.Verified || ti.Version != "TLS 1.3" {
			t.Fatalf("tls info %+v", ti)
		}
		tm := resp.Timings
		if tm.ConnectMS <= 0 || tm.TLSMS != tm.ConnectMS || ti.HandshakeMS != tm.TLSMS || tm.DNSMS != 0 {
			t.Errorf("timings %+v handshake %v", tm, ti.HandshakeMS)
		}
		httpCheckTimings(t, tm, tm.DNSMS+tm.ConnectMS) // tls_ms is inside connect_ms
	})

	t.Run("post", func(t *testing.T) {
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: base + "/echo", TLS: pin, Headers: map[string]string{"Content-Type": "text/plain", "X-Custom": "c"}}, []byte("payload"))
		if err != nil {
			t.Fatal(err)
		}
		want := httpEcho{Method: "POST", Body: "payload", ContentType: "text/plain", ContentLength: 7, UserAgent: "zappy/1", Host: addr, Custom: "c", Proto: "HTTP/3.0"}
		if e := httpDecodeEcho(t, body); resp.Code != 200 || e != want {
			t.Errorf("code %d, server saw\n %+v\nwant %+v", resp.Code, e, want)
		}
	})

	t.Run("non-2xx and body cap", func(t *testing.T) {
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: base + "/status/503", TLS: pin}, nil)
		if err != nil || resp.Code != 503 || resp.Status != "503 Service Unavailable" || string(body) != "status body" {
			t.Errorf("%d %q %q %v", resp.Code, resp.Status, body, err)
		}
		resp, body, err = HTTP3(ctx, HTTPRequest{URL: base + "/big", TLS: pin, MaxBodyBytes: 1000}, nil)
		if err != nil || len(body) != 1000 || !resp.Truncated || resp.ContentLength != 10000 {
			t.Errorf("len %d truncated %v content_length %d err %v", len(body), resp.Truncated, resp.ContentLength, err)
		}
	})

	t.Run("redirect chain", func(t *testing.T) {
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: base + "/chain/1", TLS: pin}, []byte("payload"))
		if err != nil {
			t.Fatal(err)
		}
		want := []HTTPRedirect{
			{URL: base + "/chain/1", Code: 307, Location: base + "/chain/2"},
			{URL: base + "/chain/2", Code: 308, Location: base + "/chain/3"},
			{URL: base + "/chain/3", Code: 303, Location: base + "/echo"},
		}
		if !reflect.DeepEqual(resp.Redirects, want) {
			t.Errorf("redirects\n got %+v\nwant %+v", resp.Redirects, want)
		}
		if e := httpDecodeEcho(t, body); e.Method != "GET" || e.Body != "" || e.Proto != "HTTP/3.0" {
			t.Errorf("final request %+v", e)
		}
	})

	t.Run("redirect loop", func(t *testing.T) {
		resp, _, err := HTTP3(ctx, HTTPRequest{URL: base + "/loop/a", TLS: pin}, nil)
		ze := httpWantCode(t, err, CodeProtocol)
		if !strings.HasPrefix(ze.Message, "HTTP/3 GET "+base+"/loop/b: redirect loop") || len(resp.Redirects) != 2 {
			t.Errorf("message %q redirects %+v", ze.Message, resp.Redirects)
		}
	})

	t.Run("pin mismatch", func(t *testing.T) {
		resp, _, err := HTTP3(ctx, HTTPRequest{URL: base + "/hello", TLS: TLSOptions{Fingerprint: strings.Repeat("ab", 32)}}, nil)
		ze := httpWantCode(t, err, CodePinMismatch)
		if !strings.HasPrefix(ze.Message, "HTTP/3 GET "+base+"/hello: certificate fingerprint mismatch") {
			t.Errorf("message %q", ze.Message)
		}
		if resp.TLS == nil || resp.TLS.Fingerprint != self.Fingerprint || resp.RemoteAddr != addr {
			t.Errorf("tls %+v remote %q", resp.TLS, resp.RemoteAddr)
		}
	})

	t.Run("untrusted", func(t *testing.T) {
		_, _, err := HTTP3(ctx, HTTPRequest{URL: base + "/hello"}, nil)
		httpWantCode(t, err, CodeCertUntrusted)
	})

	t.Run("invalid", func(t *testing.T) {
		_, _, err := HTTP3(ctx, HTTPRequest{URL: "http://" + addr + "/hello"}, nil)
		httpWantCode(t, err, CodeInvalid)
	})

	t.Run("expired", func(t *testing.T) {
		expired := testutil.SelfSigned(t, testutil.LeafOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		eb := startHTTP3(t, expired)
		_, _, err := HTTP3(ctx, HTTPRequest{URL: eb + "/hello", TLS: TLSOptions{Fingerprint: expired.Fingerprint}}, nil)
		httpWantCode(t, err, CodeCertExpired)
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: eb + "/hello", TLS: TLSOptions{Fingerprint: expired.Fingerprint, IgnoreExpiry: true}}, nil)
		if err != nil || resp.Code != 200 || string(body) != "hello world" {
			t.Fatalf("ignore_expiry: %d %q %v", resp.Code, body, err)
		}
		if resp.TLS.DaysLeft >= 0 {
			t.Errorf("days_left %v for an expired certificate", resp.TLS.DaysLeft)
		}
	})

	t.Run("timeout waiting for the response", func(t *testing.T) {
		_, _, err := HTTP3(ctx, HTTPRequest{URL: base + "/slow", TLS: pin, TimeoutMS: 150}, nil)
		ze := httpWantCode(t, err, CodeTimeout)
		if !strings.HasSuffix(ze.Message, "waiting for the response") {
			t.Errorf("message %q", ze.Message)
		}
	})

	t.Run("timeout reading the body", func(t *testing.T) {
		resp, body, err := HTTP3(ctx, HTTPRequest{URL: base + "/slowbody", TLS: pin, TimeoutMS: 150}, nil)
		ze := httpWantCode(t, err, CodeTimeout)
		if !strings.HasSuffix(ze.Message, "reading the body") || resp.Code != 200 || string(body) != "partial" {
			t.Errorf("message %q code %d body %q", ze.Message, resp.Code, body)
		}
	})

	t.Run("silent udp port", func(t *testing.T) {
		silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		u := "https://" + silent.LocalAddr().String() + "/"
		resp, _, err := HTTP3(ctx, HTTPRequest{URL: u, TimeoutMS: 200, TLS: pin}, nil)
		ze := httpWantCode(t, err, CodeTimeout)
		want := "HTTP/3 GET " + u + ": timed out after "
		if !strings.HasPrefix(ze.Message, want) || !strings.HasSuffix(ze.Message, "in the QUIC handshake with "+silent.LocalAddr().String()) {
			t.Errorf("message %q", ze.Message)
		}
		if resp.RemoteAddr != "" || resp.Timings.TotalMS <= 0 {
			t.Errorf("remote_addr %q total %v", resp.RemoteAddr, resp.Timings.TotalMS)
		}
	})
}

// TestHTTP3RedirectToHTTP checks that a hop HTTP/3 cannot take is reported,
// not silently taken over TCP.
func TestHTTP3RedirectToHTTP(t *testing.T) {
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/plain", http.StatusFound)
	})
	base := testutil.ServeHTTP3(t, mux, self)
	resp, _, err := HTTP3(context.Background(), HTTPRequest{URL: base + "/", TLS: TLSOptions{Fingerprint: self.Fingerprint}}, nil)
	ze := httpWantCode(t, err, CodeProtocol)
	if ze.Message != "HTTP/3 GET "+base+"/: 302 redirect to http://127.0.0.1:1/plain cannot be followed over HTTP/3" {
		t.Errorf("message %q", ze.Message)
	}
	if len(resp.Redirects) != 1 || resp.Code != 302 {
		t.Errorf("redirects %+v code %d", resp.Redirects, resp.Code)
	}
}

func BenchmarkHTTP3GetDirect(b *testing.B) {
	self := testutil.SelfSigned(b, testutil.LeafOptions{})
	base := startHTTP3(b, self)
	ctx := context.Background()
	req := HTTPRequest{URL: base + "/hello", TLS: TLSOptions{Fingerprint: self.Fingerprint}}
	b.ReportAllocs()
	for b.Loop() {
		resp, _, err := HTTP3(ctx, req, nil)
		if err != nil || resp.Code != 200 {
			b.Fatal(resp.Code, err)
		}
	}
}
