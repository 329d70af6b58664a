package hostfuncs

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// httpProtos runs the hop tests over both protocols.
var httpProtos = []struct {
	name string
	do   func(context.Context, HTTPRequest, []byte) (HTTPResponse, []byte, error)
	quic bool
}{{"http", HTTP, false}, {"http3", HTTP3, true}}

// serveTLSHandler serves h over HTTPS (quic false) or HTTP/3 on 127.0.0.1,
// presenting leaf, and returns the https:// base URL.
func serveTLSHandler(t *testing.T, quic bool, leaf *testutil.Leaf, h http.Handler) string {
	t.Helper()
	if quic {
		return testutil.ServeHTTP3(t, h, leaf)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = leaf.ServerConfig("http/1.1")
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// asLocalhost turns https://127.0.0.1:port into https://localhost:port: the
// same server under another host name.
func asLocalhost(base string) string { return strings.Replace(base, "127.0.0.1", "localhost", 1) }

// TestHTTPRedirectAllowList checks that HTTPRequest.Allow is asked about
// every hop, so that a redirect cannot take a check to a host its sandbox
// does not grant.
func TestHTTPRedirectAllowList(t *testing.T) {
	self := testutil.SelfSigned(t, testutil.LeafOptions{}) // localhost and 127.0.0.1
	pin := TLSOptions{Fingerprint: self.Fingerprint}
	for _, p := range httpProtos {
		var (
			mu    sync.Mutex
			hosts []string // Host of each /hello request the server saw
			base  string
		)
		mux := http.NewServeMux()
		mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hosts = append(hosts, r.Host)
			mu.Unlock()
			io.WriteString(w, "hello world")
		})
		mux.HandleFunc("/near", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/hello", http.StatusFound) })
		mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, asLocalhost(base)+"/hello", http.StatusFound)
		})
		base = serveTLSHandler(t, p.quic, self, mux)
		port, _ := strconv.Atoi(base[strings.LastIndex(base, ":")+1:])

		cases := []struct {
			name      string
			url       string
			code      Code // "" = success
			redirects int
			asked     []string // host:port the allow-list was asked about
			served    []string // Host of the /hello requests the server saw
		}{
			{"redirect on the allowed host", base + "/near", "", 1,
				[]string{"127.0.0.1:" + strconv.Itoa(port), "127.0.0.1:" + strconv.Itoa(port)}, []string{strings.TrimPrefix(base, "https://")}},
			{"redirect to another host", base + "/away", CodeDenied, 1,
				[]string{"127.0.0.1:" + strconv.Itoa(port), "localhost:" + strconv.Itoa(port)}, nil},
			{"first url denied", asLocalhost(base) + "/hello", CodeDenied, 0,
				[]string{"localhost:" + strconv.Itoa(port)}, nil},
		}
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				mu.Lock()
				hosts = nil
				mu.Unlock()
				var asked []string
				allow := func(host string, port int) error {
					asked = append(asked, host+":"+strconv.Itoa(port))
					if host != "127.0.0.1" {
						return fmt.Errorf("destination %s is not in the allow-list", host)
					}
					return nil
				}
				resp, body, err := p.do(context.Background(), HTTPRequest{URL: c.url, TLS: pin, Allow: allow}, nil)
				if c.code == "" {
					if err != nil || string(body) != "hello world" {
						t.Fatalf("body %q err %v", body, err)
					}
				} else {
					ze := httpWantCode(t, err, c.code)
					if !strings.Contains(ze.Message, "is not in the allow-list") {
						t.Errorf("message %q", ze.Message)
					}
				}
				if len(resp.Redirects) != c.redirects {
					t.Errorf("redirects %+v, want %d", resp.Redirects, c.redirects)
				}
				if strings.Join(asked, " ") != strings.Join(c.asked, " ") {
					t.Errorf("allow-list asked about %q, want %q", asked, c.asked)
				}
				mu.Lock()
				defer mu.Unlock()
				if strings.Join(hosts, " ") != strings.Join(c.served, " ") {
					t.Errorf("server saw /hello for %q, want %q", hosts, c.served)
				}
			})
		}
	}
}

// TestHTTPSTLSInfoVerdict checks the TLS description of the last hop: verified
// and pinned are true only when that verification passed, and server_name is
// the name the certificate was checked against, also for an IP address.
func TestHTTPSTLSInfoVerdict(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	signed := ca.Issue(t, testutil.LeafOptions{})
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	roots := string(ca.PEM)
	for _, p := range httpProtos {
		selfURL := serveTLSHandler(t, p.quic, self, httpTestMux(httpTestDone(t))) + "/hello"
		signedURL := serveTLSHandler(t, p.quic, signed, httpTestMux(httpTestDone(t))) + "/hello"
		cases := []struct {
			name             string
			url              string
			tls              TLSOptions
			code             Code
			verified, pinned bool
			serverName       string
		}{
			{"verified", signedURL, TLSOptions{RootCAsPEM: roots}, "", true, false, "127.0.0.1"},
			{"verified by name", signedURL, TLSOptions{RootCAsPEM: roots, ServerName: "localhost"}, "", true, false, "localhost"},
			{"pinned", selfURL, TLSOptions{Fingerprint: self.Fingerprint}, "", false, true, "127.0.0.1"},
			{"insecure", selfURL, TLSOptions{Insecure: true}, "", false, false, "127.0.0.1"},
			{"untrusted", selfURL, TLSOptions{}, CodeCertUntrusted, false, false, "127.0.0.1"},
			{"wrong name", signedURL, TLSOptions{RootCAsPEM: roots, ServerName: "elsewhere.example"}, CodeCertHostname, false, false, "elsewhere.example"},
			{"pin mismatch", signedURL, TLSOptions{Fingerprint: self.Fingerprint}, CodePinMismatch, false, false, "127.0.0.1"},
		}
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				resp, _, err := p.do(context.Background(), HTTPRequest{URL: c.url, TLS: c.tls}, nil)
				if c.code == "" && err != nil {
					t.Fatal(err)
				}
				if c.code != "" {
					httpWantCode(t, err, c.code)
				}
				ti := resp.TLS
				if ti == nil || ti.Fingerprint == "" {
					t.Fatalf("tls %+v", ti)
				}
				if ti.Verified != c.verified || ti.Pinned != c.pinned || ti.ServerName != c.serverName {
					t.Errorf("verified %v pinned %v server_name %q, want %v %v %q", ti.Verified, ti.Pinned, ti.ServerName, c.verified, c.pinned, c.serverName)
				}
			})
		}
	}
}

// TestHTTPServerNameStaysWithItsHost checks that tls.server_name, like the
// host override, names the certificate of the original host only: a hop to
// another host is verified against that host's own name.
func TestHTTPServerNameStaysWithItsHost(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	svc := ca.Issue(t, testutil.LeafOptions{Names: []string{"svc.example"}})
	local := ca.Issue(t, testutil.LeafOptions{Names: []string{"localhost"}})
	opts := TLSOptions{RootCAsPEM: string(ca.PEM), ServerName: "svc.example"}
	for _, p := range httpProtos {
		target := serveTLSHandler(t, p.quic, local, httpTestMux(httpTestDone(t)))
		mux := httpTestMux(httpTestDone(t))
		mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, asLocalhost(target)+"/hello", http.StatusFound)
		})
		mux.HandleFunc("/near", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/hello", http.StatusFound) })
		front := serveTLSHandler(t, p.quic, svc, mux)
		cases := []struct {
			name, url, lastURL, serverName string
		}{
			{"same host keeps server_name", front + "/near", front + "/hello", "svc.example"},
			{"other host uses its own name", front + "/away", asLocalhost(target) + "/hello", "localhost"},
		}
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				resp, body, err := p.do(context.Background(), HTTPRequest{URL: c.url, TLS: opts}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if string(body) != "hello world" || resp.URL != c.lastURL || len(resp.Redirects) != 1 {
					t.Errorf("body %q url %s redirects %+v", body, resp.URL, resp.Redirects)
				}
				if resp.TLS == nil || !resp.TLS.Verified || resp.TLS.ServerName != c.serverName {
					t.Errorf("tls %+v", resp.TLS)
				}
			})
		}
	}
}

// TestHTTPFailedHopAfterRedirect checks that when a hop after a redirect
// fails, the response does not describe the redirect as if the failed URL had
// answered it: the redirect is in Redirects, the status fields are empty.
func TestHTTPFailedHopAfterRedirect(t *testing.T) {
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	other := testutil.SelfSigned(t, testutil.LeafOptions{})
	pin := TLSOptions{Fingerprint: self.Fingerprint}
	closed := "http://" + testutil.ClosedPort(t, "tcp") + "/x"
	for _, p := range httpProtos {
		wrongCert := serveTLSHandler(t, p.quic, other, httpTestMux(httpTestDone(t))) + "/hello"
		mux := http.NewServeMux()
		mux.HandleFunc("/to-closed", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, closed, http.StatusFound) })
		mux.HandleFunc("/to-wrong-cert", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, wrongCert, http.StatusFound) })
		front := serveTLSHandler(t, p.quic, self, mux)
		cases := []struct {
			name, path, next string
			code             Code
		}{
			{"refused", "/to-closed", closed, CodeRefused},
			{"pin mismatch", "/to-wrong-cert", wrongCert, CodePinMismatch},
		}
		for _, c := range cases {
			if p.quic && c.code == CodeRefused {
				continue // HTTP/3 does not follow a redirect to http://
			}
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				resp, _, err := p.do(context.Background(), HTTPRequest{URL: front + c.path, TLS: pin}, nil)
				httpWantCode(t, err, c.code)
				want := []HTTPRedirect{{URL: front + c.path, Code: 302, Location: c.next}}
				if len(resp.Redirects) != 1 || resp.Redirects[0] != want[0] || resp.URL != c.next {
					t.Errorf("redirects %+v url %s", resp.Redirects, resp.URL)
				}
				if resp.Code != 0 || resp.Status != "" || resp.Proto != "" || resp.Headers != nil || resp.ContentLength != -1 {
					t.Errorf("failed hop reported as a response: code %d status %q proto %q headers %v content_length %d",
						resp.Code, resp.Status, resp.Proto, resp.Headers, resp.ContentLength)
				}
			})
		}
	}
}

// TestHostPort: the hops of a redirect chain count as the original host
// (which keeps the host override, server_name and credentials) whatever
// the case of the name, a trailing dot or an explicit default port.
func TestHostPort(t *testing.T) {
	tests := []struct{ a, b string }{
		{"http://NAS.lan/", "http://nas.lan:80/x"},
		{"https://example.com./", "https://EXAMPLE.com:443/"},
		{"http://[::1]:8080/", "http://[::1]:8080/y"},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if hostPort(a) != hostPort(b) {
			t.Errorf("%s and %s: %s vs %s", tt.a, tt.b, hostPort(a), hostPort(b))
		}
	}
	for _, pair := range [][2]string{{"http://h/", "https://h/"}, {"http://h/", "http://h:8080/"}, {"http://a.h/", "http://b.h/"}} {
		a, _ := url.Parse(pair[0])
		b, _ := url.Parse(pair[1])
		if hostPort(a) == hostPort(b) {
			t.Errorf("%s and %s count as one host (%s)", pair[0], pair[1], hostPort(a))
		}
	}
}
