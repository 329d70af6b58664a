package hostfuncs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// httpEcho is what /echo answers: what the server received.
type httpEcho struct {
	Method        string `json:"method"`
	Body          string `json:"body"`
	ContentType   string `json:"content_type"`
	ContentLength int64  `json:"content_length"`
	UserAgent     string `json:"user_agent"`
	Host          string `json:"host"`
	Custom        string `json:"custom"`
	Auth          string `json:"auth"`
	Proto         string `json:"proto"`
}

// httpTestMux is served by every test server, HTTP/1.1, HTTP/2 and HTTP/3.
// done is closed when the test ends, releasing handlers that stall.
func httpTestMux(done <-chan struct{}) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "1")
		w.Header().Add("X-Multi", "2")
		w.Header()["x-lower"] = []string{"y"} // non-canonical on purpose
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello world")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(httpEcho{
			Method: r.Method, Body: string(b), ContentType: r.Header.Get("Content-Type"),
			ContentLength: r.ContentLength, UserAgent: r.UserAgent(), Host: r.Host,
			Custom: r.Header.Get("X-Custom"), Auth: r.Header.Get("Authorization"), Proto: r.Proto,
		})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		io.WriteString(w, "status body")
	})
	// /chain/1 -307-> /chain/2 -308-> /chain/3 -303-> /echo. The 307 and
	// 308 hops must keep method and body: /chain/2 and /chain/3 refuse a
	// request that lost them.
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := r.PathValue("n")
		if n != "1" && (r.Method != http.MethodPost || string(b) != "payload") {
			http.Error(w, "lost method or body: "+r.Method+" "+string(b), http.StatusBadRequest)
			return
		}
		switch n {
		case "1":
			http.Redirect(w, r, "/chain/2", http.StatusTemporaryRedirect)
		case "2":
			http.Redirect(w, r, "3", http.StatusPermanentRedirect) // relative
		case "3":
			http.Redirect(w, r, "/echo#frag", http.StatusSeeOther)
		}
	})
	// /moved -301-> /found -302-> /hello
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/found", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/found", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/b", http.StatusFound)
	})
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/a", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000")
		w.Write([]byte(strings.Repeat("x", 10000)))
	})
	mux.HandleFunc("/bigheader", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("h", httpMaxHeaderBytes+1))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	return mux
}

func httpTestDone(t testing.TB) chan struct{} {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return done
}

// startHTTP starts a plain HTTP/1.1 server on 127.0.0.1.
func startHTTP(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(httpTestMux(httpTestDone(t)))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// startHTTPS starts an HTTPS server on 127.0.0.1 presenting leaf.
func startHTTPS(t testing.TB, leaf *testutil.Leaf, h2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(httpTestMux(httpTestDone(t)))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are expected
	srv.EnableHTTP2 = h2
	srv.TLS = leaf.ServerConfig("http/1.1")
	if h2 {
		srv.TLS = leaf.ServerConfig("h2", "http/1.1")
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func httpIntPtr(n int) *int { return &n }

func httpWantCode(t *testing.T, err error, code Code) *Error {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("error %v (%T) is not a *hostfuncs.Error, want code %s", err, err, code)
	}
	if ze.Code != code {
		t.Fatalf("error code %q, want %q (message %q)", ze.Code, code, ze.Message)
	}
	return ze
}

func httpDecodeEcho(t *testing.T, body []byte) httpEcho {
	t.Helper()
	var e httpEcho
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("echo body %q: %v", body, err)
	}
	return e
}

// checkTimings asserts the phases are consistent with each other: phases
// inside the time to first byte, which is inside the total.
func httpCheckTimings(t *testing.T, tm HTTPTimings, phases float64) {
	t.Helper()
	const rounding = 0.003 // each value is rounded to the microsecond
	for name, v := range map[string]float64{"dns": tm.DNSMS, "connect": tm.ConnectMS, "tls": tm.TLSMS} {
		if v < 0 {
			t.Errorf("%s_ms %v is negative", name, v)
		}
	}
	if tm.ConnectMS <= 0 || tm.FirstByteMS <= 0 || tm.TotalMS <= 0 {
		t.Errorf("timings missing: %+v", tm)
	}
	if phases > tm.FirstByteMS+rounding {
		t.Errorf("phases %v ms exceed first_byte_ms: %+v", phases, tm)
	}
	if tm.FirstByteMS > tm.TotalMS+rounding {
		t.Errorf("first_byte_ms exceeds total_ms: %+v", tm)
	}
}

func TestHTTPPlain(t *testing.T) {
	srv := startHTTP(t)
	ctx := context.Background()

	t.Run("get", func(t *testing.T) {
		resp, body, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/hello"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "hello world" {
			t.Errorf("body %q", body)
		}
		want := HTTPResponse{
			Code: 200, Status: "200 OK", Proto: "HTTP/1.1", URL: srv.URL + "/hello",
			RemoteAddr: srv.Listener.Addr().String(), ContentLength: 11, BodyBytes: 11,
			Headers: map[string]string{
				"X-Multi": "1, 2", "X-Lower": "y", "Content-Type": "text/plain",
				"Content-Length": "11", "Date": resp.Headers["Date"],
			},
		}
		got := resp
		got.Timings = HTTPTimings{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("response\n got %+v\nwant %+v", got, want)
		}
		if resp.Headers["Date"] == "" {
			t.Error("no Date header")
		}
		httpCheckTimings(t, resp.Timings, resp.Timings.DNSMS+resp.Timings.ConnectMS)
		if resp.Timings.DNSMS != 0 || resp.Timings.TLSMS != 0 {
			t.Errorf("IP literal over plain HTTP has dns or tls time: %+v", resp.Timings)
		}
	})

	t.Run("localhost resolves", func(t *testing.T) {
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		u := "http://localhost:" + strconv.Itoa(port) + "/hello"
		resp, _, err := HTTP(ctx, HTTPRequest{URL: u}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.RemoteAddr != srv.Listener.Addr().String() {
			t.Errorf("remote_addr %q, want %q", resp.RemoteAddr, srv.Listener.Addr())
		}
		if resp.Timings.DNSMS <= 0 {
			t.Errorf("dns_ms %v for a name", resp.Timings.DNSMS)
		}
		httpCheckTimings(t, resp.Timings, resp.Timings.DNSMS+resp.Timings.ConnectMS)
	})

	echoCases := []struct {
		name string
		req  HTTPRequest
		body string
		want httpEcho
	}{
		{"default user agent", HTTPRequest{}, "", httpEcho{Method: "GET", UserAgent: "zappy/1"}},
		{"post by body", HTTPRequest{Headers: map[string]string{"content-type": "application/json"}}, `{"a":1}`,
			httpEcho{Method: "POST", Body: `{"a":1}`, ContentType: "application/json", ContentLength: 7, UserAgent: "zappy/1"}},
		{"put", HTTPRequest{Method: "PUT", Headers: map[string]string{"Content-Type": "text/plain"}}, "x",
			httpEcho{Method: "PUT", Body: "x", ContentType: "text/plain", ContentLength: 1, UserAgent: "zappy/1"}},
		{"custom headers", HTTPRequest{UserAgent: "probe/2", Headers: map[string]string{"X-Custom": "v1"}}, "",
			httpEcho{Method: "GET", UserAgent: "probe/2", Custom: "v1"}},
		{"header wins over user_agent", HTTPRequest{UserAgent: "probe/2", Headers: map[string]string{"User-Agent": "hdr/3"}}, "",
			httpEcho{Method: "GET", UserAgent: "hdr/3"}},
		{"host override", HTTPRequest{Host: "vhost.example"}, "", httpEcho{Method: "GET", UserAgent: "zappy/1", Host: "vhost.example"}},
		{"host header", HTTPRequest{Headers: map[string]string{"host": "other.example:8080"}}, "",
			httpEcho{Method: "GET", UserAgent: "zappy/1", Host: "other.example:8080"}},
	}
	for _, c := range echoCases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			req.URL = srv.URL + "/echo"
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			resp, got, err := HTTP(ctx, req, body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code != 200 {
				t.Fatalf("code %d", resp.Code)
			}
			want := c.want
			want.Proto = "HTTP/1.1"
			if want.Host == "" {
				want.Host = srv.Listener.Addr().String()
			}
			if e := httpDecodeEcho(t, got); e != want {
				t.Errorf("server saw\n %+v\nwant %+v", e, want)
			}
		})
	}

	t.Run("non-2xx is a response", func(t *testing.T) {
		for _, code := range []int{404, 500, 503} {
			resp, body, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/status/" + strconv.Itoa(code)}, nil)
			if err != nil {
				t.Fatalf("%d: %v", code, err)
			}
			if resp.Code != code || resp.Status != strconv.Itoa(code)+" "+http.StatusText(code) || string(body) != "status body" {
				t.Errorf("got %d %q %q", resp.Code, resp.Status, body)
			}
		}
	})

	t.Run("body cap", func(t *testing.T) {
		for _, c := range []struct {
			max       int
			n         int
			truncated bool
		}{{100, 100, true}, {9999, 9999, true}, {10000, 10000, false}, {0, 10000, false}} {
			resp, body, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/big", MaxBodyBytes: c.max}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(body) != c.n || resp.BodyBytes != c.n || resp.Truncated != c.truncated || resp.ContentLength != 10000 {
				t.Errorf("max %d: len %d body_bytes %d truncated %v content_length %d", c.max, len(body), resp.BodyBytes, resp.Truncated, resp.ContentLength)
			}
		}
	})

	t.Run("invalid", func(t *testing.T) {
		for _, req := range []HTTPRequest{
			{URL: "ftp://127.0.0.1/"},
			{URL: "http:///nohost"},
			{URL: "http://127.0.0.1/%zz"},
			{URL: srv.URL, MaxBodyBytes: -1},
			{URL: srv.URL, MaxRedirects: httpIntPtr(-1)},
			{URL: srv.URL, Method: "BAD METHOD"},
			{URL: "https://127.0.0.1/", TLS: TLSOptions{Fingerprint: "zz"}},
		} {
			_, _, err := HTTP(ctx, req, nil)
			httpWantCode(t, err, CodeInvalid)
		}
	})
}

func TestHTTPRedirects(t *testing.T) {
	srv := startHTTP(t)
	ctx := context.Background()
	u := srv.URL

	t.Run("chain keeps then drops the body", func(t *testing.T) {
		resp, body, err := HTTP(ctx, HTTPRequest{URL: u + "/chain/1", Headers: map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer t"}}, []byte("payload"))
		if err != nil {
			t.Fatal(err)
		}
		want := []HTTPRedirect{
			{URL: u + "/chain/1", Code: 307, Location: u + "/chain/2"},
			{URL: u + "/chain/2", Code: 308, Location: u + "/chain/3"},
			{URL: u + "/chain/3", Code: 303, Location: u + "/echo"},
		}
		if !reflect.DeepEqual(resp.Redirects, want) {
			t.Errorf("redirects\n got %+v\nwant %+v", resp.Redirects, want)
		}
		if resp.URL != u+"/echo" || resp.Code != 200 {
			t.Errorf("final %s %d", resp.URL, resp.Code)
		}
		// 303 turned the POST into a GET without body or content type;
		// same host, so the credentials stay.
		e := httpDecodeEcho(t, body)
		wantEcho := httpEcho{Method: "GET", UserAgent: "zappy/1", Host: srv.Listener.Addr().String(), Auth: "Bearer t", Proto: "HTTP/1.1"}
		if e != wantEcho {
			t.Errorf("final request\n %+v\nwant %+v", e, wantEcho)
		}
		httpCheckTimings(t, resp.Timings, resp.Timings.ConnectMS)
	})

	t.Run("301 and 302", func(t *testing.T) {
		resp, body, err := HTTP(ctx, HTTPRequest{URL: u + "/moved"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []HTTPRedirect{{URL: u + "/moved", Code: 301, Location: u + "/found"}, {URL: u + "/found", Code: 302, Location: u + "/hello"}}
		if !reflect.DeepEqual(resp.Redirects, want) || string(body) != "hello world" {
			t.Errorf("redirects %+v body %q", resp.Redirects, body)
		}
	})

	t.Run("loop", func(t *testing.T) {
		resp, _, err := HTTP(ctx, HTTPRequest{URL: u + "/loop/a"}, nil)
		ze := httpWantCode(t, err, CodeProtocol)
		if !strings.Contains(ze.Message, "redirect loop") {
			t.Errorf("message %q", ze.Message)
		}
		want := []HTTPRedirect{{URL: u + "/loop/a", Code: 302, Location: u + "/loop/b"}, {URL: u + "/loop/b", Code: 302, Location: u + "/loop/a"}}
		if !reflect.DeepEqual(resp.Redirects, want) {
			t.Errorf("redirects %+v", resp.Redirects)
		}
		if resp.Code != 302 || resp.URL != u+"/loop/b" {
			t.Errorf("last response %d %s", resp.Code, resp.URL)
		}
	})

	t.Run("limit", func(t *testing.T) {
		resp, _, err := HTTP(ctx, HTTPRequest{URL: u + "/moved", MaxRedirects: httpIntPtr(1)}, nil)
		ze := httpWantCode(t, err, CodeProtocol)
		if ze.Message != "GET "+u+"/found: more than 1 redirects (the last to "+u+"/hello)" {
			t.Errorf("message %q", ze.Message)
		}
		if len(resp.Redirects) != 2 || resp.Code != 302 {
			t.Errorf("redirects %+v code %d", resp.Redirects, resp.Code)
		}
	})

	t.Run("max_redirects 0", func(t *testing.T) {
		resp, body, err := HTTP(ctx, HTTPRequest{URL: u + "/moved", MaxRedirects: httpIntPtr(0)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []HTTPRedirect{{URL: u + "/moved", Code: 301, Location: u + "/found"}}
		if resp.Code != 301 || resp.Headers["Location"] != "/found" || !reflect.DeepEqual(resp.Redirects, want) {
			t.Errorf("got %d %q %+v", resp.Code, resp.Headers["Location"], resp.Redirects)
		}
		if !strings.Contains(string(body), "Moved Permanently") || resp.BodyBytes != len(body) {
			t.Errorf("body %q", body)
		}
	})

	t.Run("cross host drops credentials", func(t *testing.T) {
		other := startHTTP(t)
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/echo", http.StatusFound)
		})
		front := httptest.NewServer(mux)
		defer front.Close()
		resp, body, err := HTTP(ctx, HTTPRequest{URL: front.URL + "/", Host: "front.example", Headers: map[string]string{"Authorization": "x", "X-Custom": "kept"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := httpDecodeEcho(t, body)
		if e.Auth != "" || e.Custom != "kept" || e.Host != other.Listener.Addr().String() {
			t.Errorf("second host saw %+v", e)
		}
		if resp.RemoteAddr != other.Listener.Addr().String() {
			t.Errorf("remote_addr %s", resp.RemoteAddr)
		}
	})
}

func TestHTTPFailures(t *testing.T) {
	srv := startHTTP(t)
	ctx := context.Background()

	t.Run("refused", func(t *testing.T) {
		addr := testutil.ClosedPort(t, "tcp")
		resp, _, err := HTTP(ctx, HTTPRequest{URL: "http://" + addr + "/"}, nil)
		ze := httpWantCode(t, err, CodeRefused)
		if !strings.HasPrefix(ze.Message, "GET http://"+addr+"/: ") || !strings.Contains(ze.Message, "connection refused") {
			t.Errorf("message %q", ze.Message)
		}
		if resp.Code != 0 || resp.URL != "http://"+addr+"/" {
			t.Errorf("response %+v", resp)
		}
	})

	t.Run("timeout waiting for the response", func(t *testing.T) {
		resp, _, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/slow", TimeoutMS: 100}, nil)
		ze := httpWantCode(t, err, CodeTimeout)
		if !strings.Contains(ze.Message, "timed out after") || !strings.HasSuffix(ze.Message, "waiting for the response") {
			t.Errorf("message %q", ze.Message)
		}
		if resp.RemoteAddr != srv.Listener.Addr().String() {
			t.Errorf("remote_addr %q", resp.RemoteAddr)
		}
	})

	t.Run("timeout from the context", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _, err := HTTP(cctx, HTTPRequest{URL: srv.URL + "/slow"}, nil)
		httpWantCode(t, err, CodeTimeout)
	})

	t.Run("timeout reading the body", func(t *testing.T) {
		resp, body, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/slowbody", TimeoutMS: 100}, nil)
		ze := httpWantCode(t, err, CodeTimeout)
		if !strings.HasSuffix(ze.Message, "reading the body") {
			t.Errorf("message %q", ze.Message)
		}
		if resp.Code != 200 || string(body) != "partial" || resp.BodyBytes != 7 {
			t.Errorf("partial response %d %q %d", resp.Code, body, resp.BodyBytes)
		}
	})

	t.Run("header cap", func(t *testing.T) {
		_, _, err := HTTP(ctx, HTTPRequest{URL: srv.URL + "/bigheader"}, nil)
		httpWantCode(t, err, CodeLimit)
	})

	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := HTTP(cctx, HTTPRequest{URL: srv.URL + "/hello"}, nil)
		httpWantCode(t, err, CodeCanceled)
	})

	// A server that is not HTTP: it answers the request with an SSH
	// banner, or sends the banner before any request as sshd does.
	for _, bannerFirst := range []bool{false, true} {
		t.Run("not http banner first "+strconv.FormatBool(bannerFirst), func(t *testing.T) {
			if bannerFirst {
				// net/http logs the unsolicited bytes on the global logger.
				defer log.SetOutput(log.Writer())
				log.SetOutput(io.Discard)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				if !bannerFirst {
					c.Read(make([]byte, 4096))
				}
				io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			}()
			_, _, err = HTTP(ctx, HTTPRequest{URL: "http://" + ln.Addr().String() + "/", TimeoutMS: 2000}, nil)
			ze := httpWantCode(t, err, CodeProtocol)
			if !strings.Contains(ze.Message, `malformed HTTP response "SSH-2.0-OpenSSH_9.6"`) && !strings.HasSuffix(ze.Message, "the server spoke before the request: not an HTTP server") {
				t.Errorf("message %q", ze.Message)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	ctx := context.Background()
	ca := testutil.NewCA(t, "zappy test CA")
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	signed := ca.Issue(t, testutil.LeafOptions{})
	wrongName := ca.Issue(t, testutil.LeafOptions{Names: []string{"other.example"}})
	vhost := ca.Issue(t, testutil.LeafOptions{Names: []string{"svc.example"}})
	// Expired ten minutes ago, after the CA (valid from an hour ago) was made.
	past := testutil.LeafOptions{NotBefore: time.Now().Add(-50 * time.Minute), NotAfter: time.Now().Add(-10 * time.Minute)}
	expiredSelf := testutil.SelfSigned(t, past)
	expiredSigned := ca.Issue(t, past)

	colons := func(fp string) string {
		var parts []string
		for i := 0; i < len(fp); i += 2 {
			parts = append(parts, strings.ToUpper(fp[i:i+2]))
		}
		return strings.Join(parts, ":")
	}
	roots := string(ca.PEM)

	cases := []struct {
		name     string
		leaf     *testutil.Leaf
		h2       bool
		req      HTTPRequest
		code     Code // "" = success
		verified bool
		pinned   bool
	}{
		{"pin with colons upper case", self, false, HTTPRequest{TLS: TLSOptions{Fingerprint: colons(self.Fingerprint)}}, "", false, true},
		{"pin lower case", self, false, HTTPRequest{TLS: TLSOptions{Fingerprint: self.Fingerprint}}, "", false, true},
		{"pin mismatch", self, false, HTTPRequest{TLS: TLSOptions{Fingerprint: signed.Fingerprint}}, CodePinMismatch, false, true},
		{"self-signed untrusted", self, false, HTTPRequest{}, CodeCertUntrusted, true, false},
		{"trusted root", signed, false, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots}}, "", true, false},
		{"trusted root h2", signed, true, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots}}, "", true, false},
		{"wrong hostname", wrongName, false, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots}}, CodeCertHostname, true, false},
		{"server_name fixes hostname", wrongName, false, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots, ServerName: "other.example"}}, "", true, false},
		{"host override names the certificate", vhost, false, HTTPRequest{Host: "svc.example", TLS: TLSOptions{RootCAsPEM: roots}}, "", true, false},
		{"expired with root", expiredSigned, false, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots}}, CodeCertExpired, true, false},
		{"expired with root ignore_expiry", expiredSigned, false, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots, IgnoreExpiry: true}}, "", true, false},
		{"expired with pin", expiredSelf, false, HTTPRequest{TLS: TLSOptions{Fingerprint: expiredSelf.Fingerprint}}, CodeCertExpired, false, true},
		{"expired with pin ignore_expiry", expiredSelf, false, HTTPRequest{TLS: TLSOptions{Fingerprint: expiredSelf.Fingerprint, IgnoreExpiry: true}}, "", false, true},
		{"expired self-signed", expiredSelf, false, HTTPRequest{}, CodeCertExpired, true, false},
		{"insecure", expiredSelf, false, HTTPRequest{TLS: TLSOptions{Insecure: true}}, "", false, false},
		{"alpn without h2", signed, true, HTTPRequest{TLS: TLSOptions{RootCAsPEM: roots, ALPN: []string{"http/1.1"}}}, "", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := startHTTPS(t, c.leaf, c.h2)
			req := c.req
			req.URL = srv.URL + "/echo"
			resp, body, err := HTTP(ctx, req, nil)
			if c.code != "" {
				ze := httpWantCode(t, err, c.code)
				if !strings.HasPrefix(ze.Message, "GET "+req.URL+": ") {
					t.Errorf("message %q", ze.Message)
				}
				if resp.TLS == nil || resp.TLS.Fingerprint != c.leaf.Fingerprint {
					t.Errorf("failed handshake does not describe the presented chain: %+v", resp.TLS)
				}
				if resp.RemoteAddr != srv.Listener.Addr().String() {
					t.Errorf("remote_addr %q", resp.RemoteAddr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantProto := "HTTP/1.1"
			if c.h2 && len(req.TLS.ALPN) == 0 {
				wantProto = "HTTP/2.0"
			}
			e := httpDecodeEcho(t, body)
			if resp.Code != 200 || resp.Proto != wantProto || e.Proto != wantProto {
				t.Errorf("code %d proto %s, server saw %s, want %s", resp.Code, resp.Proto, e.Proto, wantProto)
			}
			if req.Host != "" && e.Host != req.Host {
				t.Errorf("server saw host %q", e.Host)
			}
			ti := resp.TLS
			if ti == nil {
				t.Fatal("no tls info")
			}
			if ti.Fingerprint != c.leaf.Fingerprint || ti.Verified != c.verified || ti.Pinned != c.pinned || ti.Version != "TLS 1.3" || len(ti.Chain) == 0 {
				t.Errorf("tls info %+v", ti)
			}
			wantALPN := map[string]string{"HTTP/1.1": "http/1.1", "HTTP/2.0": "h2"}[wantProto]
			if ti.ALPN != wantALPN {
				t.Errorf("alpn %q, want %q", ti.ALPN, wantALPN)
			}
			if ti.HandshakeMS <= 0 || ti.HandshakeMS != resp.Timings.TLSMS {
				t.Errorf("handshake_ms %v, tls_ms %v", ti.HandshakeMS, resp.Timings.TLSMS)
			}
			httpCheckTimings(t, resp.Timings, resp.Timings.DNSMS+resp.Timings.ConnectMS+resp.Timings.TLSMS)
			if resp.Timings.TLSMS <= 0 {
				t.Errorf("tls_ms %v", resp.Timings.TLSMS)
			}
		})
	}

	t.Run("pin applies to every hop", func(t *testing.T) {
		target := startHTTPS(t, signed, false)
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/hello", http.StatusFound)
		})
		front := httptest.NewUnstartedServer(mux)
		front.Config.ErrorLog = log.New(io.Discard, "", 0)
		front.TLS = self.ServerConfig()
		front.StartTLS()
		defer front.Close()
		resp, _, err := HTTP(ctx, HTTPRequest{URL: front.URL + "/", TLS: TLSOptions{Fingerprint: self.Fingerprint}}, nil)
		httpWantCode(t, err, CodePinMismatch)
		if len(resp.Redirects) != 1 || resp.URL != target.URL+"/hello" || resp.TLS == nil || resp.TLS.Fingerprint != signed.Fingerprint {
			t.Errorf("redirects %+v url %s tls %+v", resp.Redirects, resp.URL, resp.TLS)
		}
	})

	t.Run("plain http to https", func(t *testing.T) {
		target := startHTTPS(t, signed, false)
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/hello", http.StatusMovedPermanently)
		})
		front := httptest.NewServer(mux)
		defer front.Close()
		resp, body, err := HTTP(ctx, HTTPRequest{URL: front.URL + "/", TLS: TLSOptions{RootCAsPEM: roots}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "hello world" || resp.TLS == nil || !resp.TLS.Verified || resp.Redirects[0].Location != target.URL+"/hello" {
			t.Errorf("body %q tls %+v redirects %+v", body, resp.TLS, resp.Redirects)
		}
	})

	t.Run("plain http to a tls port", func(t *testing.T) {
		srv := startHTTPS(t, self, false)
		resp, body, err := HTTP(ctx, HTTPRequest{URL: "http://" + srv.Listener.Addr().String() + "/"}, nil)
		// Go's TLS server answers a plaintext request with a 400 response.
		if err != nil || resp.Code != 400 {
			t.Fatalf("code %d body %q err %v", resp.Code, body, err)
		}
	})
}

func BenchmarkHTTPGetDirect(b *testing.B) {
	srv := startHTTP(b)
	ctx := context.Background()
	req := HTTPRequest{URL: srv.URL + "/hello"}
	b.ReportAllocs()
	for b.Loop() {
		resp, _, err := HTTP(ctx, req, nil)
		if err != nil || resp.Code != 200 {
			b.Fatal(resp.Code, err)
		}
	}
}
