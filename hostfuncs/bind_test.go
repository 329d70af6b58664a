package hostfuncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

type testEnv struct {
	allowed string
	handles Handles
	max     int64
	// port, when set, is the only port allowed on host (a request for
	// port 0, "any port", passes, as with the engine's rules).
	port int
	// anyRedirect lets HTTP redirects leave the allow-list.
	anyRedirect bool
}

func (e *testEnv) Allow(host string, port int) error {
	if host == e.allowed && (e.port == 0 || port == 0 || port == e.port) { // port 0: any port, as in Env
		return nil
	}
	return fmt.Errorf("destination %s:%d is not in the allow-list", host, port)
}
func (e *testEnv) Handles() *Handles       { return &e.handles }
func (e *testEnv) MaxBytes() int64         { return e.max }
func (e *testEnv) FollowAnyRedirect() bool { return e.anyRedirect }

func TestEncodeResult(t *testing.T) {
	tests := []struct {
		name string
		resp any
		err  error
		want string
	}{
		{"nothing", nil, nil, `{}`},
		{"struct", UDPResponse{Sent: 3, From: "x"}, nil, `{"sent":3,"replied":false,"from":"x","rtt_ms":0,"timed_out":false,"truncated":false}`},
		{"marshaler", TCPWriteResponse{N: 2, WriteMS: 0.5}, nil, `{"n":2,"write_ms":0.5}`},
		{"marshaler and error", TCPWriteResponse{N: 1}, Errorf(CodeReset, "write: reset"), `{"n":1,"write_ms":0,"error":{"code":"reset","message":"write: reset"}}`},
		{"error only", nil, io.EOF, `{"error":{"code":"eof","message":"EOF"}}`},
		{"empty struct and error", struct{}{}, Errorf(CodeLimit, "full"), `{"error":{"code":"limit","message":"full"}}`},
	}
	for _, tt := range tests {
		got := string(EncodeResult(tt.resp, tt.err))
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: invalid JSON %s", tt.name, got)
		}
	}
}

func TestOpsTable(t *testing.T) {
	want := []string{"", "tcp.connect", "tcp.write", "tcp.read", "tcp.starttls", "tcp.close", "udp.exchange",
		"http.request", "http3.request", "tls.probe", "icmp.ping", "snmp.request", "sleep"}
	for id, name := range want {
		op := LookupOp(int32(id))
		if id == 0 {
			if op != nil {
				t.Errorf("op 0 exists")
			}
			continue
		}
		if op == nil || op.Name != name || op.ID != int32(id) {
			t.Errorf("op %d = %+v, want %s", id, op, name)
		}
	}
	if LookupOp(99) != nil || LookupOp(-1) != nil {
		t.Error("out-of-range op found")
	}
}

func TestPrepareRefusals(t *testing.T) {
	env := &testEnv{allowed: "127.0.0.1", max: 1 << 20}
	tests := []struct {
		op   string
		req  string
		code Code
	}{
		{"tcp.connect", `{"address":"10.0.0.1:25"}`, CodeDenied},
		{"tcp.connect", `{"address":"no-port"}`, CodeInvalid},
		{"tcp.connect", `{"address":`, CodeInvalid},
		{"tcp.read", `{"handle":7}`, CodeInvalid},
		{"udp.exchange", `{"address":"10.0.0.1:53"}`, CodeDenied},
		{"http.request", `{"url":"http://10.0.0.1/"}`, CodeDenied},
		{"http.request", `{"url":"not a url"}`, CodeInvalid},
		{"http3.request", `{"url":"https://example.com/"}`, CodeDenied},
		{"tls.probe", `{"address":"10.0.0.1:443"}`, CodeDenied},
		{"icmp.ping", `{"address":"10.0.0.1"}`, CodeDenied},
		{"snmp.request", `{"address":"snmp://10.0.0.1","oids":["1.3.6.1.2.1.1.1.0"]}`, CodeDenied},
	}
	for _, tt := range tests {
		_, err := opNamed(t, tt.op).Begin(env, []byte(tt.req), nil)
		var ze *Error
		if !errors.As(err, &ze) || ze.Code != tt.code {
			t.Errorf("%s %s: error %v, want code %s", tt.op, tt.req, err, tt.code)
		}
	}
}

// TestPrepareSNMPPort: the allow-list sees an SNMP address's port as the
// primitive uses it ("host:" is port 161, not "any port").
func TestPrepareSNMPPort(t *testing.T) {
	env := &testEnv{allowed: "127.0.0.1", port: 1161, max: 1 << 20}
	tests := []struct {
		address string
		code    Code // "" when allowed
	}{
		{"127.0.0.1:1161", ""},
		{"snmp://127.0.0.1:1161", ""},
		{"127.0.0.1:", CodeDenied},
		{"snmp://127.0.0.1:", CodeDenied},
		{"127.0.0.1", CodeDenied},
		{"127.0.0.1:x", CodeInvalid},
		{"http://127.0.0.1:1161", CodeInvalid},
	}
	for _, tt := range tests {
		req := fmt.Sprintf(`{"address":%q,"oids":["1.3.6.1.2.1.1.1.0"]}`, tt.address)
		_, err := opNamed(t, "snmp.request").Begin(env, []byte(req), nil)
		if Classify(err) != tt.code {
			t.Errorf("%s: error %v, want code %q", tt.address, err, tt.code)
		}
	}
}

func TestConnectReadCloseThroughOps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hello\nrest"))
			c.Close()
		}
	}()
	env := &testEnv{allowed: "127.0.0.1", max: 3, handles: Handles{Max: 1}}
	run := func(id int32, req string) (string, []byte, error) { return runOp(env, id, req) }
	res, _, err := run(1, fmt.Sprintf(`{"address":%q}`, ln.Addr()))
	if err != nil || !strings.Contains(res, `"handle":1`) {
		t.Fatalf("connect: %s %v", res, err)
	}
	// The sandbox's MaxBytes (3) caps the read whatever the request asks.
	_, out, err := run(3, `{"handle":1,"mode":"eof","max_bytes":100}`)
	if string(out) != "hel" {
		t.Fatalf("read %q %v", out, err)
	}
	// One handle at most: a second connect is refused with code limit.
	_, _, err = run(1, fmt.Sprintf(`{"address":%q}`, ln.Addr()))
	if Classify(err) != CodeLimit {
		t.Fatalf("second connect: %v", err)
	}
	if _, _, err := run(5, `{"handle":1}`); err != nil {
		t.Fatal(err)
	}
	if env.handles.Len() != 0 {
		t.Fatal("handle not closed")
	}
}

// runOp begins and performs operation id with request req as a module
// would, and returns its encoded result, payload and error.
func runOp(env Env, id int32, req string) (string, []byte, error) {
	start, err := LookupOp(id).Begin(env, []byte(req), nil)
	if err != nil {
		return "", nil, err
	}
	type outcome struct {
		resp any
		out  []byte
		err  error
	}
	ch := make(chan outcome, 1)
	start(context.Background(), func(resp any, out []byte, err error, _ bool) { ch <- outcome{resp, out, err} })
	o := <-ch
	return string(EncodeResult(o.resp, o.err)), o.out, o.err
}

// opNamed returns the operation called name.
func opNamed(t *testing.T, name string) *Op {
	t.Helper()
	for _, o := range Ops {
		if o != nil && o.Name == name {
			return o
		}
	}
	t.Fatalf("no operation %s", name)
	return nil
}

// TestHTTPRedirectThroughOps: through the operation table, a redirect to a
// host outside the allow-list is refused unless the module may follow
// redirects anywhere (the trusted built-ins).
func TestHTTPRedirectThroughOps(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		io.WriteString(w, "elsewhere")
	}))
	defer other.Close()
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	target := httptest.NewServer(http.RedirectHandler("http://localhost:"+port+"/x", http.StatusFound))
	defer target.Close()
	req := fmt.Sprintf(`{"url":%q}`, target.URL+"/")
	tests := []struct {
		anyRedirect bool
		code        Code   // "" for success
		result      string // in the encoded result
	}{
		{false, CodeDenied, `"redirects":[{"url":"` + target.URL + `/","code":302`},
		{true, "", `"code":200`},
	}
	for _, tt := range tests {
		env := &testEnv{allowed: "127.0.0.1", max: 1 << 20, anyRedirect: tt.anyRedirect}
		before := elsewhere.Load()
		res, _, err := runOp(env, opNamed(t, "http.request").ID, req)
		if Classify(err) != tt.code || !strings.Contains(res, tt.result) {
			t.Errorf("anyRedirect=%v: %s, error %v (%s); want code %q and %s", tt.anyRedirect, res, err, Classify(err), tt.code, tt.result)
		}
		if reached := elsewhere.Load() > before; reached != tt.anyRedirect {
			t.Errorf("anyRedirect=%v: redirect target reached: %v", tt.anyRedirect, reached)
		}
	}
}

// TestConnectAfterCheckEnded: a connect that completes after its check's
// handles were closed is refused and its connection closed, not leaked.
func TestConnectAfterCheckEnded(t *testing.T) {
	closedByUs := make(chan error, 1)
	addr := testutil.Accept(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		closedByUs <- err
		c.Close()
	})
	env := &testEnv{allowed: "127.0.0.1", max: 1 << 20}
	env.handles.CloseAll()
	start, err := LookupOp(1).Begin(env, []byte(fmt.Sprintf(`{"address":%q}`, addr)), nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	start(context.Background(), func(_ any, _ []byte, err error, _ bool) { errs <- err })
	wantCode(t, <-errs, CodeCanceled)
	if err := <-closedByUs; !errors.Is(err, io.EOF) {
		t.Errorf("server read %v, want EOF (the connection closed)", err)
	}
	if env.handles.Len() != 0 {
		t.Error("a handle was added after CloseAll")
	}
}

// TestConnectOwned: tcp.connect's completion says whether it runs on a
// goroutine the runtime may keep: the dialing goroutine's yes, the
// reactor's no (the runtime must never run a guest there).
func TestConnectOwned(t *testing.T) {
	addr := testutil.AcceptAndClose(t)
	for _, req := range []string{`{"address":%q}`, `{"address":%q,"close":true}`} {
		bothDialPaths(t, func(t *testing.T) {
			env := &testEnv{allowed: "127.0.0.1", max: 1 << 20}
			defer env.handles.CloseAll()
			start, err := LookupOp(1).Begin(env, []byte(fmt.Sprintf(req, addr)), nil)
			if err != nil {
				t.Fatal(err)
			}
			type outcome struct {
				err   error
				owned bool
			}
			ch := make(chan outcome, 1)
			start(context.Background(), func(_ any, _ []byte, err error, owned bool) { ch <- outcome{err, owned} })
			o := <-ch
			if o.err != nil {
				t.Fatal(o.err)
			}
			if want := maxDialGoroutines > 0 || !reactorWorks(); o.owned != want {
				t.Errorf("%s: owned = %v, want %v", req, o.owned, want)
			}
		})
	}
}
