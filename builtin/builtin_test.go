package builtin_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/builtin"
	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

// lineServerEnv makes the test binary run serveSlowLines instead of the
// tests: BenchmarkTenThousandInFlight runs its listener in a child process so
// that the listener's memory does not count as the engine's.
const lineServerEnv = "ZAPPY_BUILTIN_TEST_LINE_SERVER"

var (
	// cacheDir is the wazero compilation cache shared by every engine of
	// the test binary, so the module is compiled once per run.
	cacheDir string
	// trustedCA is in the test process's system roots (SSL_CERT_FILE), so
	// that checks which verify chains without a pin can succeed, and fail
	// for the reason under test (hostname, expiry) rather than trust.
	trustedCA *testutil.CA
)

func TestMain(m *testing.M) {
	if os.Getenv(lineServerEnv) != "" {
		serveSlowLines()
		return
	}
	dir, err := os.MkdirTemp("", "zappy-builtin-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = filepath.Join(dir, "wazero")
	trustedCA, err = installTrustedCA(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trusted CA:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// installTrustedCA makes a CA and makes it the only system root of this
// process. It must run before anything loads the system roots.
func installTrustedCA(dir string) (*testutil.CA, error) {
	ca, err := testutil.MakeCA("zappy builtin test root", time.Now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	file, certDir := filepath.Join(dir, "roots.pem"), filepath.Join(dir, "roots.d")
	if err := os.WriteFile(file, ca.PEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.Mkdir(certDir, 0o755); err != nil {
		return nil, err
	}
	os.Setenv("SSL_CERT_FILE", file)
	os.Setenv("SSL_CERT_DIR", certDir)
	return ca, nil
}

// newModule loads the embedded built-ins into a fresh engine.
func newModule(tb testing.TB) *engine.Module {
	tb.Helper()
	e, err := engine.New(engine.Options{CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	m, err := builtin.Load(context.Background(), e)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// positive in a case's fields matches any number above zero (timings).
type positive struct{}

// tc is one check run and what it must produce.
type tc struct {
	name    string
	target  string
	config  map[string]any
	timeout time.Duration // default 5s
	status  check.Status
	class   check.Class
	// message is the exact message, except that {ms} stands for a number
	// and {*} for any text.
	message string
	// fields are exact values (compared after a JSON round trip), or
	// positive{}.
	fields map[string]any
	// absent lists fields that must not be set.
	absent []string
	more   func(t *testing.T, res check.Result)
}

// runCases runs each case as a parallel subtest against m.
func runCases(t *testing.T, m *engine.Module, typ string, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := runCheck(t, m, typ, c.target, c.config, c.timeout)
			assertResult(t, res, c)
		})
	}
}

// runCheck runs one check of type typ and returns its result.
func runCheck(t testing.TB, m *engine.Module, typ, target string, config map[string]any, timeout time.Duration) check.Result {
	t.Helper()
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if config == nil {
		cfg = nil
	}
	return m.Run(context.Background(), check.Request{Name: t.Name(), Type: typ, Target: target, Timeout: timeout, Config: cfg})
}

// assertResult compares a result with what case c expects of it.
func assertResult(t *testing.T, res check.Result, c tc) {
	t.Helper()
	if res.Status != c.status || res.Class != c.class || !messageRE(c.message).MatchString(res.Message) {
		t.Fatalf("got %s/%s %q\nwant %s/%s %q", res.Status, res.Class, res.Message, c.status, c.class, c.message)
	}
	for k, want := range c.fields {
		got, ok := res.Fields[k]
		if !ok {
			t.Errorf("field %s missing; fields %v", k, res.Fields)
			continue
		}
		switch want.(type) {
		case positive:
			if f, ok := got.(float64); !ok || f <= 0 {
				t.Errorf("field %s = %#v, want a positive number", k, got)
			}
		default:
			if w := jsonValue(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("field %s = %#v, want %#v", k, got, w)
			}
		}
	}
	for _, k := range c.absent {
		if v, ok := res.Fields[k]; ok {
			t.Errorf("field %s = %#v, want it absent", k, v)
		}
	}
	if c.more != nil {
		c.more(t, res)
	}
}

// messageRE turns a message pattern ({ms}: a number, {*}: anything) into an
// anchored regexp.
func messageRE(pattern string) *regexp.Regexp {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\{ms\}`, `-?[0-9]+(\.[0-9]+)?`)
	re = strings.ReplaceAll(re, `\{\*\}`, `.*`)
	return regexp.MustCompile(`^` + re + `$`)
}

// jsonValue is v as it looks after a JSON round trip (numbers float64).
func jsonValue(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// field digs into nested result fields: field(res, "tls", "pinned").
func field(res check.Result, path ...string) any {
	var v any = res.Fields
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// wantField checks one nested field against want (after a JSON round trip).
func wantField(t *testing.T, res check.Result, want any, path ...string) {
	t.Helper()
	if got, w := field(res, path...), jsonValue(t, want); !reflect.DeepEqual(got, w) {
		t.Errorf("field %s = %#v, want %#v", strings.Join(path, "."), got, w)
	}
}

func closedPort(t testing.TB, network string) string { return testutil.ClosedPort(t, network) }

func TestManifest(t *testing.T) {
	m := newModule(t)
	man := m.Manifest()
	if man.Name != "builtin" || man.Mode != "multiplexed" || man.ABI != 1 {
		t.Fatalf("manifest %+v", man)
	}
	want := map[string][]string{
		"ping": {"icmp"}, "tcp": {"tcp"}, "udp": {"udp"}, "http": {"http"}, "quic": {"http3"}, "cert": {"tls", "tcp"},
		"ports": {"snmp"}, "port": {"snmp"}, "host": {"snmp"},
	}
	if got := man.TypeNames(); len(got) != len(want) {
		t.Fatalf("types %v", got)
	}
	for name, caps := range want {
		ti, ok := man.Type(name)
		if !ok || !reflect.DeepEqual(ti.Capabilities, caps) {
			t.Errorf("type %s: %+v (present %v), want capabilities %v", name, ti, ok, caps)
		}
	}
}

// TestSchemasHaveREADMEFields checks that each type's schema in the
// manifest has every field the README's table for the type documents.
func TestSchemasHaveREADMEFields(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	man := newModule(t).Manifest()
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|")
	for _, c := range []struct{ typ, section string }{
		{"ping", "ping"}, {"tcp", "tcp"}, {"udp", "udp"}, {"http", "http"}, {"quic", "http"}, {"cert", "cert"},
	} {
		t.Run(c.typ, func(t *testing.T) {
			_, text, ok := strings.Cut(string(readme), "\n### "+c.section+"\n")
			if !ok {
				t.Fatalf("README has no section %q", c.section)
			}
			text, _, _ = strings.Cut(text, "\n#")
			ti, ok := man.Type(c.typ)
			if !ok {
				t.Fatalf("no type %s", c.typ)
			}
			var schema struct{ Properties map[string]any }
			if err := json.Unmarshal(ti.Schema, &schema); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, line := range strings.Split(text, "\n") {
				if m := row.FindStringSubmatch(line); m != nil {
					n++
					if _, ok := schema.Properties[m[1]]; !ok {
						t.Errorf("README documents %s.%s; the schema lacks it", c.typ, m[1])
					}
				}
			}
			if n == 0 {
				t.Errorf("no fields found in README section %q", c.section)
			}
		})
	}
}

func TestPing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raw ICMP sockets need root")
	}
	m := newModule(t)
	rtts := func(n int) func(t *testing.T, res check.Result) {
		return func(t *testing.T, res check.Result) {
			r, ok := res.Fields["rtts_ms"].([]any)
			if !ok || len(r) != n {
				t.Fatalf("rtts_ms %#v, want %d replies", res.Fields["rtts_ms"], n)
			}
			for i, v := range r {
				if f, _ := v.(float64); f <= 0 {
					t.Errorf("rtts_ms[%d] = %v", i, v)
				}
			}
			if res.LatencyMS != res.Fields["avg_ms"] {
				t.Errorf("latency %v, want the average rtt %v", res.LatencyMS, res.Fields["avg_ms"])
			}
		}
	}
	runCases(t, m, "ping", []tc{
		{
			name: "defaults", target: "127.0.0.1",
			status: check.Up, class: check.Success, message: "3/3 replies from 127.0.0.1, rtt avg {ms} ms",
			fields: map[string]any{"address": "127.0.0.1", "mode": "raw", "sent": 3, "received": 3, "loss_pct": 0, "avg_ms": positive{}, "min_ms": positive{}, "max_ms": positive{}, "ttl": 64},
			more:   rtts(3),
		},
		{
			name: "count and ttl", target: "icmp://127.0.0.1", config: map[string]any{"count": 5, "interval_ms": 10, "ttl": 7, "packet_size": 100},
			status: check.Up, class: check.Success, message: "5/5 replies from 127.0.0.1, rtt avg {ms} ms",
			fields: map[string]any{"sent": 5, "received": 5, "loss_pct": 0},
			more:   rtts(5),
		},
	})
	t.Run("interval honoured", func(t *testing.T) {
		// Four requests 150 ms apart cannot complete in less than 450 ms.
		start := time.Now()
		res := runCheck(t, m, "ping", "127.0.0.1", map[string]any{"count": 4, "interval_ms": 150}, 0)
		if res.Status != check.Up || res.Fields["sent"] != 4.0 {
			t.Fatalf("%s %q %v", res.Status, res.Message, res.Fields)
		}
		if d := time.Since(start); d < 450*time.Millisecond {
			t.Errorf("4 pings at 150 ms intervals took %v", d)
		}
	})
}

func TestTCP(t *testing.T) {
	m := newModule(t)
	open := testutil.ServeTCP(t, testutil.HoldOpen)
	ssh := testutil.ServeTCP(t, func(c net.Conn) {
		io.WriteString(c, "SSH-2.0-test\r\n")
		testutil.HoldOpen(c)
	})
	silent := testutil.ServeTCP(t, testutil.HoldOpen)
	// A banner longer than the host's first read buffer (512 bytes), the
	// expected text at its end.
	longBanner := strings.Repeat("220-", 500) + "ready\r\n"
	long := testutil.ServeTCP(t, func(c net.Conn) {
		io.WriteString(c, longBanner)
		testutil.HoldOpen(c)
	})
	smtp := testutil.ServeTCP(t, func(c net.Conn) {
		io.WriteString(c, "220 mail.test ESMTP\r\n")
		testutil.HoldOpen(c)
	})
	smtpClosing := testutil.ServeTCP(t, func(c net.Conn) { io.WriteString(c, "220 mail.test ESMTP\r\n") })
	hangup := testutil.ServeTCP(t, func(net.Conn) {})
	refused := closedPort(t, "tcp")
	// split sends its banner line in two segments, cutting the expected
	// text in the middle.
	split := testutil.ServeTCP(t, func(c net.Conn) {
		c.(*net.TCPConn).SetNoDelay(true)
		io.WriteString(c, "SSH-2.0-Open")
		time.Sleep(30 * time.Millisecond)
		io.WriteString(c, "SSH_9.2p1 Debian-2\r\n")
		testutil.HoldOpen(c)
	})
	noEOL := testutil.ServeTCP(t, func(c net.Conn) {
		io.WriteString(c, "OK")
		testutil.HoldOpen(c)
	})
	binBanner := testutil.ServeTCP(t, func(c net.Conn) {
		c.Write([]byte{0x00, 0x01, 0xff, 'R', 'E', 'A', 'D', 'Y', '\n'})
		testutil.HoldOpen(c)
	})
	// reset answers the connection with a TCP RST.
	reset := testutil.ServeTCP(t, func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})

	// dialogue reads exactly len(want) bytes and answers "ACK <hex of what
	// it read>", so the check's expect only matches when the payload
	// reached the server byte for byte.
	var mu sync.Mutex
	received := map[string][]byte{}
	dialogue := func(want []byte) string {
		var addr string
		addr = testutil.ServeTCP(t, func(c net.Conn) {
			got := make([]byte, len(want))
			n, _ := io.ReadFull(c, got)
			mu.Lock()
			received[addr] = got[:n]
			mu.Unlock()
			io.WriteString(c, "ACK "+hex.EncodeToString(got[:n])+"\r\n")
			testutil.HoldOpen(c)
		})
		return addr
	}
	binary := []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a, 0xff}
	textAddr, hexAddr, b64Addr := dialogue([]byte("HELO zappy\r\n")), dialogue(binary), dialogue(binary)
	ack := func(b []byte) string { return "ACK " + hex.EncodeToString(b) }
	receivedExactly := func(addr string, want []byte) func(*testing.T, check.Result) {
		return func(t *testing.T, res check.Result) {
			mu.Lock()
			got := received[addr]
			mu.Unlock()
			if !bytes.Equal(got, want) {
				t.Errorf("server received %q, want %q", got, want)
			}
		}
	}

	runCases(t, m, "tcp", []tc{
		{
			name: "connect only", target: "tcp://" + open,
			status: check.Up, class: check.Success, message: "connected to " + open + " in {ms} ms",
			fields: map[string]any{"remote": open, "connect_ms": positive{}},
			absent: []string{"banner", "response", "sent"},
		},
		{
			name: "host:port without scheme", target: open,
			status: check.Up, class: check.Success, message: "connected to " + open + " in {ms} ms",
		},
		{
			name: "refused", target: "tcp://" + refused,
			status: check.Down, class: check.ExceptionError, message: "connect " + refused + ": connection refused",
		},
		{
			// The banner is the whole first line, not the line cut at the
			// expected text: README's `expect: "SSH-2.0"` with `assert:
			// 'banner contains "OpenSSH"'` must work.
			name: "banner", target: "tcp://" + ssh, config: map[string]any{"expect": "SSH-2.0"},
			status: check.Up, class: check.Success, message: `got "SSH-2.0" from ` + ssh,
			fields: map[string]any{"banner": "SSH-2.0-test", "response": "SSH-2.0-test\r\n", "remote": ssh},
		},
		{
			name: "banner line in two segments", target: "tcp://" + split, config: map[string]any{"expect": "SSH-2.0"},
			status: check.Up, class: check.Success, message: `got "SSH-2.0" from ` + split,
			fields: map[string]any{"banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2", "response": "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"},
		},
		{
			// A service that sends the expected text and no line end is
			// up at once (the wait for the rest of the line is short and
			// not in the latency).
			name: "expect without a line end", target: "tcp://" + noEOL, config: map[string]any{"expect": "OK"},
			status: check.Up, class: check.Success, message: `got "OK" from ` + noEOL,
			fields: map[string]any{"banner": "OK", "response": "OK"},
			more: func(t *testing.T, res check.Result) {
				if res.LatencyMS >= 100 {
					t.Errorf("latency %v ms includes the wait for the rest of the line", res.LatencyMS)
				}
			},
		},
		{
			// The expected text split across two TCP segments.
			name: "expect split across reads", target: "tcp://" + split, config: map[string]any{"expect": "SSH-2.0-OpenSSH"},
			status: check.Up, class: check.Success, message: `got "SSH-2.0-OpenSSH" from ` + split,
			fields: map[string]any{"banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2"},
		},
		{
			name: "expect after binary bytes", target: "tcp://" + binBanner, config: map[string]any{"expect": "READY"},
			status: check.Up, class: check.Success, message: `got "READY" from ` + binBanner,
			fields: map[string]any{"banner": "\x00\x01\ufffdREADY"},
		},
		{
			// The RST may come before the connect completes, or after.
			name: "reset without data", target: "tcp://" + reset, config: map[string]any{"expect": "SSH-"},
			status: check.Down, class: check.ExceptionError, message: `{*} ` + reset + `: connection reset by peer{*}`,
		},
		{
			name: "long banner", target: "tcp://" + long, config: map[string]any{"expect": "ready"},
			status: check.Up, class: check.Success, message: `got "ready" from ` + long,
			fields: map[string]any{"response": longBanner, "remote": long},
		},
		{
			name: "banner whole line", target: "tcp://" + ssh, config: map[string]any{"expect": "\r\n"},
			status: check.Up, class: check.Success, message: `got "\r\n" from ` + ssh,
			fields: map[string]any{"banner": "SSH-2.0-test", "response": "SSH-2.0-test\r\n"},
		},
		{
			name: "send and expect text", target: "tcp://" + textAddr, config: map[string]any{"send": "HELO zappy\r\n", "expect": ack([]byte("HELO zappy\r\n"))},
			status: check.Up, class: check.Success, message: `got "` + ack([]byte("HELO zappy\r\n")) + `" from ` + textAddr,
			fields: map[string]any{"sent": 12, "response": ack([]byte("HELO zappy\r\n")) + "\r\n"},
			more:   receivedExactly(textAddr, []byte("HELO zappy\r\n")),
		},
		{
			name: "send hex with spaces and colons", target: "tcp://" + hexAddr,
			config: map[string]any{"send": "de ad:BE:ef 00 0a FF", "content_type": "hex", "expect": ack(binary)},
			status: check.Up, class: check.Success, message: `got "` + ack(binary) + `" from ` + hexAddr,
			fields: map[string]any{"sent": len(binary)},
			more:   receivedExactly(hexAddr, binary),
		},
		{
			name: "send base64", target: "tcp://" + b64Addr,
			config: map[string]any{"send": base64.StdEncoding.EncodeToString(binary), "content_type": "base64", "expect": ack(binary)},
			status: check.Up, class: check.Success, message: `got "` + ack(binary) + `" from ` + b64Addr,
			fields: map[string]any{"sent": len(binary)},
			more:   receivedExactly(b64Addr, binary),
		},
		{
			// APMonitor 1.2.0 reported a port that never answers as up.
			name: "expect from a silent port", target: "tcp://" + silent, config: map[string]any{"expect": "SSH-"}, timeout: time.Second,
			status: check.Down, class: check.ApplicationError, message: `expected "SSH-" but ` + silent + ` stayed silent (read until "SSH-" from ` + silent + `: timed out after {*} (0 bytes received))`,
			fields: map[string]any{"response": "", "banner": ""},
		},
		{
			name: "expect mismatch", target: "tcp://" + smtp, config: map[string]any{"expect": "SSH-"}, timeout: time.Second,
			status: check.Down, class: check.ApplicationError, message: `expected "SSH-", got "220 mail.test ESMTP\r\n"`,
			fields: map[string]any{"banner": "220 mail.test ESMTP", "response": "220 mail.test ESMTP\r\n"},
		},
		{
			name: "expect mismatch then close", target: "tcp://" + smtpClosing, config: map[string]any{"expect": "SSH-"},
			status: check.Down, class: check.ApplicationError, message: `expected "SSH-", got "220 mail.test ESMTP\r\n"`,
		},
		{
			name: "closed without data", target: "tcp://" + hangup, config: map[string]any{"expect": "SSH-"},
			status: check.Down, class: check.ApplicationError, message: `expected "SSH-" but ` + hangup + ` closed the connection without sending anything`,
		},
		{
			name: "bad hex", target: "tcp://" + open, config: map[string]any{"send": "0a zz", "content_type": "hex"},
			status: check.Error, class: check.ExceptionError, message: `send is not valid hex: invalid byte 'z'`,
		},
		{
			name: "bad hex second digit", target: "tcp://" + open, config: map[string]any{"send": "0g", "content_type": "hex"},
			status: check.Error, class: check.ExceptionError, message: `send is not valid hex: invalid byte 'g'`,
		},
		{
			name: "odd hex", target: "tcp://" + open, config: map[string]any{"send": "0a:b", "content_type": "hex"},
			status: check.Error, class: check.ExceptionError, message: "send is not valid hex: odd length hex string",
		},
		{
			name: "unknown content_type", target: "tcp://" + open, config: map[string]any{"send": "x", "content_type": "rot13"},
			status: check.Error, class: check.ExceptionError, message: `content_type "rot13": want text, hex or base64`,
		},
	})
}

func TestUDP(t *testing.T) {
	m := newModule(t)
	echo := testutil.ServeUDP(t, func(b []byte) []byte { return append([]byte("echo:"), b...) })
	wrong := testutil.ServeUDP(t, func([]byte) []byte { return []byte("nope") })
	silent := testutil.ServeUDP(t, func([]byte) []byte { return nil })
	hexEcho := testutil.ServeUDP(t, func(b []byte) []byte { return []byte("got " + hex.EncodeToString(b)) })
	closed := closedPort(t, "udp")
	binary := []byte{0x01, 0x02, 0x00, 0xfe, 0x0a}

	runCases(t, m, "udp", []tc{
		{
			name: "echo with expect", target: "udp://" + echo, config: map[string]any{"send": "hello", "expect": "echo:hello"},
			status: check.Up, class: check.Success, message: "reply of 10 bytes from " + echo + " in {ms} ms",
			fields: map[string]any{"sent": 5, "replied": true, "from": echo, "response": "echo:hello", "rtt_ms": positive{}},
			more: func(t *testing.T, res check.Result) {
				if res.LatencyMS != res.Fields["rtt_ms"] {
					t.Errorf("latency %v, want rtt_ms %v", res.LatencyMS, res.Fields["rtt_ms"])
				}
			},
		},
		{
			name: "reply without expect", target: "udp://" + echo, config: map[string]any{"send": "hi"},
			status: check.Up, class: check.Success, message: "reply of 7 bytes from " + echo + " in {ms} ms",
		},
		{
			name: "reply without the expected text", target: "udp://" + wrong, config: map[string]any{"send": "hello", "expect": "echo:"},
			status: check.Down, class: check.ApplicationError, message: `expected "echo:" in the reply, got "nope"`,
			fields: map[string]any{"replied": true, "response": "nope"},
		},
		{
			// APMonitor 1.2.0 reported a silent port as up.
			name: "silent port", target: "udp://" + silent, config: map[string]any{"send": "hello"}, timeout: time.Second,
			status: check.Down, class: check.ExceptionError,
			message: "no reply from " + silent + " within {ms} ms (set fire_and_forget: true for services that never answer)",
			fields:  map[string]any{"sent": 5, "replied": false, "response": ""},
		},
		{
			name: "silent port with expect", target: "udp://" + silent, config: map[string]any{"send": "hello", "expect": "x", "fire_and_forget": true}, timeout: time.Second,
			status: check.Down, class: check.ExceptionError, message: "no reply from " + silent + ` within {ms} ms (expected a reply containing "x")`,
		},
		{
			name: "fire and forget", target: "udp://" + silent, config: map[string]any{"send": "<13>zappy test", "fire_and_forget": true},
			status: check.Up, class: check.Success, message: "sent 14 bytes to " + silent + " (fire and forget: no reply expected)",
			fields: map[string]any{"sent": 14, "replied": false},
		},
		{
			name: "fire and forget spelled yes", target: "udp://" + silent, config: map[string]any{"send": "x", "fire_and_forget": "yes"},
			status: check.Up, class: check.Success, message: "sent 1 byte to " + silent + " (fire and forget: no reply expected)",
		},
		{
			name: "closed port", target: "udp://" + closed, config: map[string]any{"send": "hello", "expect": "x"},
			status: check.Down, class: check.ExceptionError, message: "udp " + closed + ": connection refused (port unreachable)",
		},
		{
			name: "closed port fire and forget", target: "udp://" + closed, config: map[string]any{"send": "hello", "fire_and_forget": true},
			status: check.Down, class: check.ExceptionError, message: "udp " + closed + ": connection refused (port unreachable)",
		},
		{
			name: "hex payload", target: "udp://" + hexEcho, config: map[string]any{"send": "01:02 00 FE:0a", "content_type": "hex", "expect": "got " + hex.EncodeToString(binary)},
			status: check.Up, class: check.Success, message: "reply of 14 bytes from " + hexEcho + " in {ms} ms",
			fields: map[string]any{"sent": len(binary), "response": "got " + hex.EncodeToString(binary)},
		},
		{
			name: "base64 payload", target: "udp://" + hexEcho, config: map[string]any{"send": base64.StdEncoding.EncodeToString(binary), "content_type": "base64", "expect": "got " + hex.EncodeToString(binary)},
			status: check.Up, class: check.Success, message: "reply of 14 bytes from " + hexEcho + " in {ms} ms",
		},
		{
			name: "bad base64", target: "udp://" + echo, config: map[string]any{"send": "%%%", "content_type": "base64"},
			status: check.Error, class: check.ExceptionError, message: "send is not valid base64: {*}",
		},
	})
}

// httpMux serves what the http and quic cases ask for.
func httpMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Zappy", "yes")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello zappy")
	})
	mux.HandleFunc("/status/503", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "maintenance")
	})
	// /echo reports the request as the server saw it.
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s|%s|%s|%s", r.Method, r.Proto, r.Header.Get("Content-Type"), r.Header.Get("X-Custom"), b)
	})
	mux.HandleFunc("/r/1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/r/2", http.StatusFound) })
	mux.HandleFunc("/r/2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusMovedPermanently) })
	mux.HandleFunc("/r/3", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/status/503", http.StatusFound) })
	// /away redirects to another host name for the same server.
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "http://localhost:"+port+"/ok", http.StatusFound)
	})
	return mux
}

// serveHTTP starts an HTTP server, or HTTPS with leaf, and returns its base URL.
func serveHTTP(t testing.TB, leaf *testutil.Leaf) string {
	t.Helper()
	s := httptest.NewUnstartedServer(httpMux())
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some cases
	if leaf == nil {
		s.Start()
	} else {
		s.TLS = leaf.ServerConfig()
		s.StartTLS()
	}
	t.Cleanup(s.Close)
	return s.URL
}

// hostOf is the host:port of a base URL.
func hostOf(base string) string { return base[strings.Index(base, "://")+3:] }

// colonPin is fp in upper case with colons, as browsers show it.
func colonPin(fp string) string {
	var parts []string
	for i := 0; i < len(fp); i += 2 {
		parts = append(parts, strings.ToUpper(fp[i:i+2]))
	}
	return strings.Join(parts, ":")
}

var otherPin = strings.Repeat("ab", 32)

func TestHTTP(t *testing.T) {
	m := newModule(t)
	plain := serveHTTP(t, nil)
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	selfURL := serveHTTP(t, self)
	expired := testutil.SelfSigned(t, testutil.LeafOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	expiredURL := serveHTTP(t, expired)
	trustedURL := serveHTTP(t, trustedCA.Issue(t, testutil.LeafOptions{}))
	otherName := serveHTTP(t, trustedCA.Issue(t, testutil.LeafOptions{Names: []string{"other.test"}}))
	refused := closedPort(t, "tcp")

	okFields := func(base string) map[string]any {
		return map[string]any{
			"code": 200, "status": "200 OK", "body": "hello zappy", "url": base + "/ok", "remote_addr": hostOf(base),
			"redirects": []any{}, "size": 11, "proto": "HTTP/1.1",
		}
	}
	okMore := func(t *testing.T, res check.Result) {
		wantField(t, res, "yes", "headers", "X-Zappy")
		wantField(t, res, "11", "headers", "Content-Length")
		for _, k := range []string{"first_byte_ms", "total_ms"} {
			if f, _ := field(res, "timings", k).(float64); f <= 0 {
				t.Errorf("timings.%s = %v", k, field(res, "timings", k))
			}
		}
		if total := field(res, "timings", "total_ms"); res.LatencyMS != total {
			t.Errorf("latency %v, want timings.total_ms %v", res.LatencyMS, total)
		}
		var names []string
		for _, mt := range res.Metrics {
			names = append(names, mt.Name)
		}
		if want := []string{"dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "total_ms", "size"}; !reflect.DeepEqual(names, want) {
			t.Errorf("metrics %v, want %v", names, want)
		}
	}
	pinned := func(fp string) func(t *testing.T, res check.Result) {
		return func(t *testing.T, res check.Result) {
			wantField(t, res, true, "tls", "pinned")
			wantField(t, res, fp, "tls", "fingerprint")
			wantField(t, res, fp, "cert", "sha256")
			wantField(t, res, "CN=localhost,O=zappy tests", "cert", "subject")
		}
	}

	runCases(t, m, "http", []tc{
		{
			name: "plain 200", target: plain + "/ok",
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: okFields(plain), absent: []string{"tls", "cert", "error"}, more: okMore,
		},
		{
			name: "expect found", target: plain + "/ok", config: map[string]any{"expect": "zappy"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
		},
		{
			name: "expect not found", target: plain + "/ok", config: map[string]any{"expect": "System Name"},
			status: check.Down, class: check.ApplicationError, message: `expected "System Name" not found in the body (200 OK, 11 bytes)`,
			fields: map[string]any{"code": 200, "body": "hello zappy"},
		},
		{
			name: "expect beyond max_body_bytes", target: plain + "/ok", config: map[string]any{"expect": "zappy", "max_body_bytes": 5},
			status: check.Down, class: check.ApplicationError, message: `expected "zappy" not found in the body (200 OK, 5 bytes, truncated at max_body_bytes)`,
			fields: map[string]any{"body": "hello", "truncated": true},
		},
		{
			name: "503", target: plain + "/status/503",
			status: check.Down, class: check.ApplicationError, message: "HTTP 503 Service Unavailable",
			fields: map[string]any{"code": 503, "status": "503 Service Unavailable", "body": "maintenance"},
		},
		{
			name: "expect_status list", target: plain + "/status/503", config: map[string]any{"expect_status": []int{503}, "expect": "maint"},
			status: check.Up, class: check.Success, message: "503 Service Unavailable in {ms} ms",
		},
		{
			name: "expect_status number", target: plain + "/status/503", config: map[string]any{"expect_status": 503},
			status: check.Up, class: check.Success, message: "503 Service Unavailable in {ms} ms",
		},
		{
			name: "expect_status excludes 200", target: plain + "/ok", config: map[string]any{"expect_status": []int{204}},
			status: check.Down, class: check.ApplicationError, message: "HTTP 200 OK",
		},
		{
			name: "send posts text by default", target: plain + "/echo", config: map[string]any{"send": `{"event": "test"}`},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": `POST HTTP/1.1|text/plain; charset=utf-8||{"event": "test"}`},
		},
		{
			name: "send with content_type and headers", target: plain + "/echo",
			config: map[string]any{"send": "a=1&b=2", "content_type": "application/x-www-form-urlencoded", "headers": map[string]string{"X-Custom": "c"}, "expect": "received"},
			status: check.Down, class: check.ApplicationError, message: `expected "received" not found in the body (200 OK, 57 bytes)`,
			fields: map[string]any{"body": "POST HTTP/1.1|application/x-www-form-urlencoded|c|a=1&b=2"},
		},
		{
			// A Content-Type given in headers is the body's type when
			// content_type is not set, whatever the case of its name.
			name: "send with Content-Type in headers", target: plain + "/echo",
			config: map[string]any{"send": "{}", "headers": map[string]string{"Content-Type": "application/json"}},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "POST HTTP/1.1|application/json||{}"},
		},
		{
			name: "send with lower-case content-type in headers", target: plain + "/echo",
			config: map[string]any{"send": "{}", "headers": map[string]string{"content-type": "application/json"}},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "POST HTTP/1.1|application/json||{}"},
		},
		{
			name: "content_type wins over a header", target: plain + "/echo",
			config: map[string]any{"send": "a=1", "content_type": "application/x-www-form-urlencoded", "headers": map[string]string{"CONTENT-TYPE": "text/csv"}},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "POST HTTP/1.1|application/x-www-form-urlencoded||a=1"},
		},
		{
			name: "method", target: plain + "/echo", config: map[string]any{"method": "put", "send": "x"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "PUT HTTP/1.1|text/plain; charset=utf-8||x"},
		},
		{
			name: "get has no body", target: plain + "/echo",
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "GET HTTP/1.1|||"},
		},
		{
			name: "redirect chain", target: plain + "/r/1", config: map[string]any{"expect": "hello"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms after 2 redirect(s)",
			fields: map[string]any{
				"url": plain + "/ok", "code": 200,
				"redirects": []map[string]any{
					{"url": plain + "/r/1", "code": 302, "location": plain + "/r/2"},
					{"url": plain + "/r/2", "code": 301, "location": plain + "/ok"},
				},
			},
		},
		{
			// The built-ins are trusted: redirects leave the allow-list
			// (the check's own host), as APMonitor follows them.
			name: "redirect to another host", target: plain + "/away",
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms after 1 redirect(s)",
			fields: map[string]any{"url": "http://localhost:" + plain[strings.LastIndex(plain, ":")+1:] + "/ok", "code": 200},
		},
		{
			// The redirect is recorded but was not followed: no "after 1
			// redirect(s)".
			name: "redirect not followed", target: plain + "/r/1", config: map[string]any{"max_redirects": 0},
			status: check.Down, class: check.ApplicationError, message: "HTTP 302 Found (redirect to " + plain + "/r/2 not followed: max_redirects is 0)",
			fields: map[string]any{"code": 302, "redirects": []map[string]any{{"url": plain + "/r/1", "code": 302, "location": plain + "/r/2"}}},
		},
		{
			name: "redirect not followed, status accepted", target: plain + "/r/1", config: map[string]any{"max_redirects": 0, "expect_status": 302},
			status: check.Up, class: check.Success, message: "302 Found in {ms} ms (redirect to " + plain + "/r/2 not followed: max_redirects is 0)",
		},
		{
			name: "redirect followed to a failure", target: plain + "/r/3",
			status: check.Down, class: check.ApplicationError, message: "HTTP 503 Service Unavailable from " + plain + "/status/503 after 1 redirect(s)",
		},
		{
			// The fragment is not sent; the URL answering is the target.
			name: "failure at a URL with a fragment", target: plain + "/status/503#top",
			status: check.Down, class: check.ApplicationError, message: "HTTP 503 Service Unavailable",
		},
		{
			name: "refused", target: "http://" + refused + "/",
			status: check.Down, class: check.ExceptionError, message: "GET http://" + refused + "/: dial tcp " + refused + ": connect: connection refused",
		},
		{
			name: "self-signed without pin", target: selfURL + "/ok",
			status: check.Down, class: check.ApplicationError, message: "GET " + selfURL + "/ok: certificate not trusted: x509: certificate signed by unknown authority",
			fields: map[string]any{"code": 0}, more: func(t *testing.T, res check.Result) { wantField(t, res, self.Fingerprint, "tls", "fingerprint") },
		},
		{
			name: "pin with colons in upper case", target: selfURL + "/ok", config: map[string]any{"ssl_fingerprint": colonPin(self.Fingerprint), "expect": "hello"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: okFields(selfURL), more: pinned(self.Fingerprint),
		},
		{
			name: "pin mismatch", target: selfURL + "/ok", config: map[string]any{"ssl_fingerprint": otherPin},
			status: check.Down, class: check.ApplicationError, message: "GET " + selfURL + "/ok: certificate fingerprint mismatch: expected " + otherPin + ", got " + self.Fingerprint,
		},
		{
			// A pin that is not 64 hex digits can never match a SHA-256
			// fingerprint: the configuration is wrong, not the server.
			name: "pin of the wrong length", target: selfURL + "/ok", config: map[string]any{"ssl_fingerprint": otherPin[:32]},
			status: check.Error, class: check.ExceptionError, message: "ssl_fingerprint has 32 hex digits; a SHA-256 fingerprint has 64",
		},
		{
			name: "pin of SHA-512 length", target: selfURL + "/ok", config: map[string]any{"ssl_fingerprint": otherPin + otherPin},
			status: check.Error, class: check.ExceptionError, message: "ssl_fingerprint has 128 hex digits; a SHA-256 fingerprint has 64",
		},
		{
			name: "expired with pin", target: expiredURL + "/ok", config: map[string]any{"ssl_fingerprint": expired.Fingerprint},
			status: check.Down, class: check.ApplicationError, message: "GET " + expiredURL + `/ok: certificate "localhost" expired ` + expired.Cert.NotAfter.UTC().Format(time.RFC3339) + " ({*} ago)",
		},
		{
			name: "expired with pin and ignore_ssl_expiry", target: expiredURL + "/ok", config: map[string]any{"ssl_fingerprint": expired.Fingerprint, "ignore_ssl_expiry": "yes"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			more: func(t *testing.T, res check.Result) {
				if d, _ := field(res, "tls", "days_left").(float64); d > -0.99 || d < -1.01 {
					t.Errorf("tls.days_left %v, want about -1", field(res, "tls", "days_left"))
				}
			},
		},
		{
			name: "trusted chain", target: trustedURL + "/ok",
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			more: func(t *testing.T, res check.Result) {
				wantField(t, res, true, "tls", "verified")
				wantField(t, res, false, "tls", "pinned")
			},
		},
		{
			name: "wrong hostname", target: otherName + "/ok",
			status: check.Down, class: check.ApplicationError, message: "GET " + otherName + "/ok: certificate is not valid for \"127.0.0.1\" (it covers other.test)",
		},
		{
			name: "verify_ssl false", target: selfURL + "/ok", config: map[string]any{"verify_ssl": false},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			more: func(t *testing.T, res check.Result) { wantField(t, res, false, "tls", "verified") },
		},
		{
			name: "verify_ssl no with wrong hostname", target: otherName + "/ok", config: map[string]any{"verify_ssl": "no"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
		},
	})
}

// serveHTTP3 serves httpMux over HTTP/3 on 127.0.0.1 and returns its base URL.
func serveHTTP3(t testing.TB, leaf *testutil.Leaf) string {
	t.Helper()
	return testutil.ServeHTTP3(t, httpMux(), leaf)
}

func TestQUIC(t *testing.T) {
	m := newModule(t)
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	base := serveHTTP3(t, self)
	pin := colonPin(self.Fingerprint)

	runCases(t, m, "quic", []tc{
		{
			name: "pinned get with expect", target: base + "/ok", config: map[string]any{"ssl_fingerprint": pin, "expect": "zappy"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"code": 200, "body": "hello zappy", "proto": "HTTP/3.0", "redirects": []any{}, "remote_addr": hostOf(base), "size": 11},
			more: func(t *testing.T, res check.Result) {
				wantField(t, res, "h3", "tls", "alpn")
				wantField(t, res, true, "tls", "pinned")
				wantField(t, res, self.Fingerprint, "cert", "sha256")
				wantField(t, res, "yes", "headers", "X-Zappy")
			},
		},
		{
			name: "pin mismatch", target: base + "/ok", config: map[string]any{"ssl_fingerprint": otherPin},
			status: check.Down, class: check.ApplicationError, message: "HTTP/3 GET " + base + "/ok: certificate fingerprint mismatch: expected " + otherPin + ", got " + self.Fingerprint,
		},
		{
			name: "untrusted", target: base + "/ok",
			status: check.Down, class: check.ApplicationError, message: "HTTP/3 GET " + base + "/ok: certificate not trusted: x509: certificate signed by unknown authority",
		},
		{
			name: "post", target: base + "/echo", config: map[string]any{"ssl_fingerprint": pin, "send": "ping", "content_type": "text/plain; charset=utf-8", "expect": "ping"},
			status: check.Up, class: check.Success, message: "200 OK in {ms} ms",
			fields: map[string]any{"body": "POST HTTP/3.0|text/plain; charset=utf-8||ping"},
		},
		{
			name: "503", target: base + "/status/503", config: map[string]any{"ssl_fingerprint": pin},
			status: check.Down, class: check.ApplicationError, message: "HTTP 503 Service Unavailable",
		},
	})
}

// serveTLS accepts connections and completes a TLS handshake with leaf.
func serveTLS(t testing.TB, leaf *testutil.Leaf) string {
	t.Helper()
	cfg := leaf.ServerConfig()
	return testutil.ServeTCP(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			testutil.HoldOpen(tc)
		}
	})
}

// bufConn reads through a bufio.Reader so that a line-oriented server can
// hand the same stream to the TLS server.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// mailServer speaks just enough SMTP, IMAP or POP3 to offer STARTTLS with
// leaf. refuse answers the upgrade command with an error instead.
func mailServer(t testing.TB, proto string, leaf *testutil.Leaf, refuse bool) string {
	t.Helper()
	type step struct{ hear, say string }
	var greeting string
	var steps []step
	switch proto {
	case "smtp":
		greeting = "220-mail.test ESMTP zappy\r\n220 no UCE\r\n"
		steps = []step{{"EHLO zappy\r\n", "250-mail.test\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"}, {"STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n"}}
		if refuse {
			steps[1].say = "454 4.7.0 TLS not available\r\n"
		}
	case "imap":
		greeting = "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"
		steps = []step{{"a1 STARTTLS\r\n", "a1 OK Begin TLS negotiation now\r\n"}}
	case "pop3":
		greeting = "+OK POP3 ready\r\n"
		steps = []step{{"STLS\r\n", "+OK Begin TLS\r\n"}}
	}
	cfg := leaf.ServerConfig()
	return testutil.ServeTCP(t, func(raw net.Conn) {
		c := bufConn{raw, bufio.NewReader(raw)}
		io.WriteString(c, greeting)
		for _, s := range steps {
			line, err := c.r.ReadString('\n')
			if err != nil {
				return
			}
			if line != s.hear {
				io.WriteString(c, "500 unexpected "+strconv.Quote(line)+"\r\n")
				return
			}
			io.WriteString(c, s.say)
		}
		if refuse {
			testutil.HoldOpen(c)
			return
		}
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			testutil.HoldOpen(tc)
		}
	})
}

func TestCert(t *testing.T) {
	m := newModule(t)
	day := 24 * time.Hour
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	selfAddr := serveTLS(t, self)
	soon := testutil.SelfSigned(t, testutil.LeafOptions{NotAfter: time.Now().Add(5 * day)})
	soonAddr := serveTLS(t, soon)
	expired := testutil.SelfSigned(t, testutil.LeafOptions{NotBefore: time.Now().Add(-3 * day), NotAfter: time.Now().Add(-2 * day)})
	expiredAddr := serveTLS(t, expired)
	early := trustedCA.Issue(t, testutil.LeafOptions{NotBefore: time.Now().Add(2 * day), NotAfter: time.Now().Add(400 * day)})
	earlyAddr := serveTLS(t, early)
	trusted := trustedCA.Issue(t, testutil.LeafOptions{})
	trustedAddr := serveTLS(t, trusted)
	localhostOnly := serveTLS(t, trustedCA.Issue(t, testutil.LeafOptions{Names: []string{"localhost"}}))
	otherName := serveTLS(t, trustedCA.Issue(t, testutil.LeafOptions{Names: []string{"other.test"}}))
	refused := closedPort(t, "tcp")
	const subject = "CN=localhost,O=zappy tests"
	// justExpired expired a minute ago: the host rounds days_left to
	// -0.00, which is not below 0.
	justExpired := testutil.SelfSigned(t, testutil.LeafOptions{NotBefore: time.Now().Add(-3 * day), NotAfter: time.Now().Add(-time.Minute)})
	justExpiredAddr := serveTLS(t, justExpired)
	// lastMinutes expires in ten minutes.
	lastMinutes := testutil.SelfSigned(t, testutil.LeafOptions{NotAfter: time.Now().Add(10 * time.Minute)})
	lastMinutesAddr := serveTLS(t, lastMinutes)
	// expiredIntermediate serves a valid leaf issued by an intermediate
	// that expired ten minutes ago (the trusted root is only an hour old,
	// so the chain had a moment when all of it was valid; the leaf's
	// dates start inside the intermediate's).
	interFrom := time.Now().Add(-50 * time.Minute)
	inter := trustedCA.Intermediate(t, "intermediate", interFrom, time.Now().Add(-10*time.Minute))
	expiredIntermediate := serveTLS(t, inter.Issue(t, testutil.LeafOptions{NotBefore: interFrom.Add(time.Minute)}))

	details := func(leaf *testutil.Leaf, days float64) func(t *testing.T, res check.Result) {
		return func(t *testing.T, res check.Result) {
			d, _ := res.Fields["days_left"].(float64)
			if d > days || d < days-0.01 {
				t.Errorf("days_left %v, want just under %v", res.Fields["days_left"], days)
			}
			wantField(t, res, leaf.Fingerprint, "fingerprint")
			wantField(t, res, leaf.Fingerprint, "cert", "sha256")
			wantField(t, res, leaf.Cert.Subject.String(), "cert", "subject")
			wantField(t, res, leaf.Cert.Subject.String(), "subject")
			wantField(t, res, leaf.Cert.NotAfter.UTC().Format(time.RFC3339Nano), "not_after")
			wantField(t, res, "TLS 1.3", "version")
			if len(res.Metrics) != 2 || res.Metrics[0].Name != "days_left" || res.Metrics[0].Value != d || res.Metrics[1].Name != "handshake_ms" {
				t.Errorf("metrics %+v", res.Metrics)
			}
			if len(res.Metrics) == 2 && res.Status != check.Down && res.LatencyMS != res.Metrics[1].Value {
				t.Errorf("latency %v, want handshake_ms %v", res.LatencyMS, res.Metrics[1].Value)
			}
		}
	}

	runCases(t, m, "cert", []tc{
		{
			name: "pinned valid", target: selfAddr, config: map[string]any{"ssl_fingerprint": colonPin(self.Fingerprint)},
			status: check.Up, class: check.Success, message: "certificate " + subject + " pin matched, expires in 90.0 days",
			fields: map[string]any{"pinned": true, "verified": false}, more: details(self, 90),
		},
		{
			name: "trusted chain", target: "tcp://" + trustedAddr,
			status: check.Up, class: check.Success, message: "certificate " + subject + " verified, expires in 90.0 days",
			fields: map[string]any{"pinned": false, "verified": true, "issuer": "CN=zappy builtin test root,O=zappy tests"},
			more: func(t *testing.T, res check.Result) {
				if chain, _ := res.Fields["chain"].([]any); len(chain) != 2 {
					t.Errorf("chain of %d certificates, want leaf and CA", len(chain))
				}
			},
		},
		{
			name: "server_name", target: localhostOnly, config: map[string]any{"server_name": "localhost"},
			status: check.Up, class: check.Success, message: "certificate " + subject + " verified, expires in 90.0 days",
		},
		{
			name: "expires soon", target: soonAddr, config: map[string]any{"ssl_fingerprint": soon.Fingerprint},
			status: check.Degraded, class: check.Success, message: "certificate " + subject + " expires in 5.0 days (warning below 14)",
			more: details(soon, 5),
		},
		{
			name: "expires soon below warn_days", target: soonAddr, config: map[string]any{"ssl_fingerprint": soon.Fingerprint, "warn_days": 3},
			status: check.Up, class: check.Success, message: "certificate " + subject + " pin matched, expires in 5.0 days",
		},
		{
			name: "critical_days", target: soonAddr, config: map[string]any{"ssl_fingerprint": soon.Fingerprint, "critical_days": 10},
			status: check.Down, class: check.ApplicationError, message: "certificate " + subject + " expires in 5.0 days (critical below 10)",
			more: details(soon, 5),
		},
		{
			name: "expired", target: expiredAddr, config: map[string]any{"ssl_fingerprint": expired.Fingerprint},
			status: check.Down, class: check.ApplicationError,
			message: "certificate " + subject + " expired 2.0 days ago (" + expired.Cert.NotAfter.UTC().Format(time.RFC3339) + ")",
			more:    details(expired, -2),
		},
		{
			name: "expired a minute ago", target: justExpiredAddr, config: map[string]any{"ssl_fingerprint": justExpired.Fingerprint},
			status: check.Down, class: check.ApplicationError,
			message: "certificate " + subject + " expired 1 minute(s) ago (" + justExpired.Cert.NotAfter.UTC().Format(time.RFC3339) + ")",
		},
		{
			name: "expired a minute ago, warn_days 0", target: justExpiredAddr, config: map[string]any{"ssl_fingerprint": justExpired.Fingerprint, "warn_days": 0},
			status: check.Down, class: check.ApplicationError,
			message: "certificate " + subject + " expired 1 minute(s) ago (" + justExpired.Cert.NotAfter.UTC().Format(time.RFC3339) + ")",
		},
		{
			name: "expires in minutes", target: lastMinutesAddr, config: map[string]any{"ssl_fingerprint": lastMinutes.Fingerprint},
			status: check.Degraded, class: check.Success, message: "certificate " + subject + " expires in 9 minute(s) (warning below 14)",
		},
		{
			name: "expired intermediate", target: expiredIntermediate,
			status: check.Down, class: check.ApplicationError,
			message: "tls handshake with " + expiredIntermediate + ": certificate chain: x509: certificate has expired or is not yet valid: {*}",
			fields:  map[string]any{"subject": subject},
		},
		{
			name: "expired intermediate with ignore_ssl_expiry", target: expiredIntermediate, config: map[string]any{"ignore_ssl_expiry": true},
			status: check.Up, class: check.Success, message: "certificate " + subject + " verified, expires in 90.0 days",
		},
		{
			name: "pin of the wrong length", target: selfAddr, config: map[string]any{"ssl_fingerprint": colonPin(self.Fingerprint)[:47]},
			status: check.Error, class: check.ExceptionError, message: "ssl_fingerprint has 32 hex digits; a SHA-256 fingerprint has 64",
		},
		{
			name: "expired with ignore_ssl_expiry", target: expiredAddr, config: map[string]any{"ssl_fingerprint": expired.Fingerprint, "ignore_ssl_expiry": true},
			status: check.Up, class: check.Success, message: "certificate " + subject + " pin matched, expired 2.0 days ago (ignore_ssl_expiry)",
		},
		{
			name: "not valid yet", target: earlyAddr,
			status: check.Down, class: check.ApplicationError,
			message: "certificate " + subject + " is not valid before " + early.Cert.NotBefore.UTC().Format(time.RFC3339) + " (in 2.0 days)",
			fields:  map[string]any{"verified": true, "not_before": early.Cert.NotBefore.UTC().Format(time.RFC3339Nano)},
		},
		{
			name: "not valid yet, pinned", target: earlyAddr, config: map[string]any{"ssl_fingerprint": early.Fingerprint, "warn_days": 0},
			status: check.Down, class: check.ApplicationError,
			message: "certificate " + subject + " is not valid before " + early.Cert.NotBefore.UTC().Format(time.RFC3339) + " (in 2.0 days)",
		},
		{
			name: "not valid yet with ignore_ssl_expiry", target: earlyAddr, config: map[string]any{"ignore_ssl_expiry": true},
			status: check.Up, class: check.Success,
			message: "certificate " + subject + " verified, not valid before " + early.Cert.NotBefore.UTC().Format(time.RFC3339) + " (ignore_ssl_expiry)",
		},
		{
			name: "wrong host", target: otherName,
			status: check.Down, class: check.ApplicationError, message: "tls handshake with " + otherName + ": certificate is not valid for \"127.0.0.1\" (it covers other.test)",
			fields: map[string]any{"verified": false, "subject": "CN=other.test,O=zappy tests"},
		},
		{
			name: "untrusted without pin", target: selfAddr,
			status: check.Down, class: check.ApplicationError, message: "tls handshake with " + selfAddr + ": certificate not trusted: x509: certificate signed by unknown authority",
			fields: map[string]any{"fingerprint": self.Fingerprint, "verified": false, "pinned": false},
		},
		{
			name: "verify_ssl false", target: selfAddr, config: map[string]any{"verify_ssl": false},
			status: check.Up, class: check.Success, message: "certificate " + subject + " not verified (verify_ssl: false), expires in 90.0 days",
		},
		{
			name: "pin mismatch", target: selfAddr, config: map[string]any{"ssl_fingerprint": otherPin},
			status: check.Down, class: check.ApplicationError, message: "tls handshake with " + selfAddr + ": certificate fingerprint mismatch: expected " + otherPin + ", got " + self.Fingerprint,
			fields: map[string]any{"fingerprint": self.Fingerprint},
		},
		{
			name: "refused", target: refused,
			status: check.Down, class: check.ExceptionError, message: "connect " + refused + ": connection refused",
		},
	})

	t.Run("starttls", func(t *testing.T) {
		leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
		var cases []tc
		for _, proto := range []string{"smtp", "imap", "pop3"} {
			addr := mailServer(t, proto, leaf, false)
			cases = append(cases, tc{
				name: proto, target: addr, config: map[string]any{"starttls": proto, "ssl_fingerprint": leaf.Fingerprint},
				status: check.Up, class: check.Success, message: "certificate " + subject + " pin matched, expires in 90.0 days",
				fields: map[string]any{"fingerprint": leaf.Fingerprint, "pinned": true}, more: details(leaf, 90),
			})
		}
		smtpTrusted := mailServer(t, "smtp", trusted, false)
		refusing := mailServer(t, "smtp", leaf, true)
		smtpSelf := mailServer(t, "smtp", leaf, false)
		cases = append(cases,
			tc{
				name: "smtp verified", target: "tcp://" + smtpTrusted, config: map[string]any{"starttls": "SMTP"},
				status: check.Up, class: check.Success, message: "certificate " + subject + " verified, expires in 90.0 days",
				fields: map[string]any{"fingerprint": trusted.Fingerprint},
			},
			tc{
				name: "smtp untrusted", target: smtpSelf, config: map[string]any{"starttls": "smtp"},
				status: check.Down, class: check.ApplicationError, message: "tls handshake with " + smtpSelf + ": certificate not trusted: x509: certificate signed by unknown authority",
				fields: map[string]any{"fingerprint": leaf.Fingerprint},
			},
			tc{
				name: "smtp refuses starttls", target: refusing, config: map[string]any{"starttls": "smtp", "ssl_fingerprint": leaf.Fingerprint},
				status: check.Down, class: check.ApplicationError, message: `smtp server said "454 4.7.0 TLS not available", expected 220`,
			},
			tc{
				name: "unknown protocol", target: refusing, config: map[string]any{"starttls": "xmpp"},
				status: check.Error, class: check.ExceptionError, message: `starttls "xmpp": want smtp, imap or pop3`,
			},
		)
		runCases(t, m, "cert", cases)
	})
}

// TestWasmIsFresh rebuilds the module the way `make builtins` does and
// compares it with the embedded one.
func TestWasmIsFresh(t *testing.T) {
	out := filepath.Join(t.TempDir(), "zappy-builtin.wasm")
	cmd := exec.Command("go", "run", "./gen", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, builtin.Wasm()) {
		t.Fatalf("builtin/zappy-builtin.wasm is stale: run make builtins (rebuilt %d bytes, embedded %d bytes)", len(fresh), len(builtin.Wasm()))
	}
}

// acceptAndClose is a listener that accepts and closes at once.
func acceptAndClose(b testing.TB) string { return testutil.AcceptAndClose(b) }

// benchInFlight runs b.N calls of do with exactly inflight of them running
// at any time, and reports the process CPU time per call (the loopback
// listener's share included, identical for every benchmark using it).
func benchInFlight(b *testing.B, inflight int, do func() error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := testutil.CPUTime()
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := do(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cpu := testutil.CPUTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkTCPCheckBuiltin runs the built-in tcp check (connect only)
// through the engine; compare with BenchmarkTCPConnectDirect for the
// overhead of the WebAssembly module.
func BenchmarkTCPCheckBuiltin(b *testing.B) { benchTCPCheck(b, newModule(b)) }

// benchTCPCheck runs connect-only checks of type tcp through m, one and 64
// at a time, against a listener that accepts and closes.
func benchTCPCheck(b *testing.B, m *engine.Module) {
	addr := acceptAndClose(b)
	req := check.Request{Name: "bench", Type: "tcp", Target: "tcp://" + addr, Timeout: 5 * time.Second}
	if res := m.Run(context.Background(), req); res.Status != check.Up {
		b.Fatalf("warm-up check: %s %q", res.Status, res.Message)
	}
	for _, inflight := range []int{1, 64} {
		b.Run("inflight="+strconv.Itoa(inflight), func(b *testing.B) {
			benchInFlight(b, inflight, func() error {
				if res := m.Run(context.Background(), req); res.Status != check.Up {
					return fmt.Errorf("%s %q", res.Status, res.Message)
				}
				return nil
			})
		})
	}
}

// BenchmarkTCPConnectDirect is what BenchmarkTCPCheckBuiltin does without
// WebAssembly: the same primitive (the connect-only probe the tcp type's
// check asks for), the same listener and concurrency.
func BenchmarkTCPConnectDirect(b *testing.B) {
	addr := acceptAndClose(b)
	req := hostfuncs.TCPConnectRequest{Address: addr, TimeoutMS: 5000}
	for _, inflight := range []int{1, 64} {
		b.Run("inflight="+strconv.Itoa(inflight), func(b *testing.B) {
			benchInFlight(b, inflight, func() error {
				_, err := hostfuncs.TCPProbe(context.Background(), req)
				return err
			})
		})
	}
}

// BenchmarkTCPConnectDirectConn opens and closes a connection, a TCPConn
// (a Go net.Conn), where BenchmarkTCPConnectDirect probes: the cost of a
// connection a check goes on to use.
func BenchmarkTCPConnectDirectConn(b *testing.B) {
	addr := acceptAndClose(b)
	req := hostfuncs.TCPConnectRequest{Address: addr, TimeoutMS: 5000}
	b.Run("inflight=64", func(b *testing.B) {
		benchInFlight(b, 64, func() error {
			c, _, err := hostfuncs.TCPConnect(context.Background(), req)
			if err != nil {
				return err
			}
			return c.Close()
		})
	})
}

// lineServerPorts spreads the connections of BenchmarkTenThousandInFlight
// over several listeners: one listener's accept queue (net.core.somaxconn,
// 4096 here) cannot hold 10,000 connections arriving at once, and the
// overflow would be retried by TCP a second or more later.
const lineServerPorts = 8

// serveSlowLines is the child process of BenchmarkTenThousandInFlight: it
// prints its addresses on one line, answers every connection with
// "READY\r\n" one second after accepting it, and exits when its stdin closes
// (the parent is done or gone).
func serveSlowLines() {
	var addrs []string
	for range lineServerPorts {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		addrs = append(addrs, ln.Addr().String())
		go acceptSlowLines(ln)
	}
	fmt.Println(strings.Join(addrs, " "))
	io.Copy(io.Discard, os.Stdin)
}

func acceptSlowLines(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: let connections drain
			continue
		}
		go func() {
			defer c.Close()
			time.Sleep(time.Second)
			io.WriteString(c, "READY\r\n")
			io.Copy(io.Discard, c)
		}()
	}
}

// startLineServer runs serveSlowLines in a child process and returns its
// addresses.
func startLineServer(b testing.TB) []string {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), lineServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("line server: %v", err)
	}
	return strings.Fields(line)
}

// procStatusKB reads a "Vm...:  N kB" line of /proc/self/status.
func procStatusKB(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkTenThousandInFlight starts 10,000 tcp checks with expect at once
// against listeners (in a child process, so that their memory is not
// counted) that answer each connection one second after accepting it. It
// reports the wall time, when the first result came (about 1 s when the
// checks really were in flight together), and memory: the RSS the run added
// at its peak (sampled every 50 ms, and VmHWM), the Go heap and goroutine
// stacks at that peak, and the heap still held after the run and a GC, which
// is mostly the module's linear memory (wasm memory never shrinks).
func BenchmarkTenThousandInFlight(b *testing.B) {
	const n = 10000
	testutil.RaiseNoFile(b, n+1024) // per process: the listener child inherits it
	addrs := startLineServer(b)
	m := newModule(b)
	req := check.Request{Type: "tcp", Timeout: 30 * time.Second, Config: json.RawMessage(`{"expect":"READY"}`)}
	target := func(i int) string { return addrs[i%len(addrs)] }
	warm := req
	warm.Target = target(0)
	if res := m.Run(context.Background(), warm); res.Status != check.Up {
		b.Fatalf("warm-up check: %s %q", res.Status, res.Message)
	}

	var peakKB atomic.Int64
	var peakMu sync.Mutex
	var peakMem runtime.MemStats
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procStatusKB("VmRSS"); kb > peakKB.Load() {
				peakKB.Store(kb)
				peakMu.Lock()
				runtime.ReadMemStats(&peakMem)
				peakMu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	var wall, firstResult time.Duration
	var addedKB int64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		baseKB := procStatusKB("VmRSS")
		hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		peakKB.Store(baseKB)
		b.StartTimer()

		start := time.Now()
		results := make(chan check.Result, n)
		collected := make(chan error, 1)
		go func() {
			seen := make(map[string]bool, n)
			for j := 0; j < n; j++ {
				res := <-results
				if j == 0 {
					firstResult = max(firstResult, time.Since(start))
				}
				id, _ := strconv.Atoi(res.Name)
				addr := target(id)
				if res.Status != check.Up || res.Message != `got "READY" from `+addr || res.Fields["response"] != "READY\r\n" || res.Fields["banner"] != "READY" || res.Fields["remote"] != addr {
					collected <- fmt.Errorf("check %s: %s %q fields %v", res.Name, res.Status, res.Message, res.Fields)
					return
				}
				seen[res.Name] = true
			}
			if len(seen) != n {
				collected <- fmt.Errorf("%d distinct results, want %d", len(seen), n)
				return
			}
			collected <- nil
		}()
		for j := 0; j < n; j++ {
			r := req
			r.Name = strconv.Itoa(j)
			r.Target = "tcp://" + target(j)
			m.Start(context.Background(), r, func(res check.Result) { results <- res })
		}
		if err := <-collected; err != nil {
			b.Fatal(err)
		}
		wall = max(wall, time.Since(start))
		peak := peakKB.Load()
		if hwmReset {
			peak = max(peak, procStatusKB("VmHWM"))
		}
		addedKB = max(addedKB, peak-baseKB)
	}
	b.StopTimer()
	close(stop)
	<-sampled
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(firstResult.Seconds(), "first-result-s")
	b.ReportMetric(n, "checks-ok/op")
	b.ReportMetric(float64(addedKB)/1024, "added-MB")
	peakMu.Lock()
	b.ReportMetric(float64(peakMem.HeapInuse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakMem.StackInuse)/(1<<20), "peak-stacks-MB")
	peakMu.Unlock()
	b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20), "retained-heap-MB")
}

// TestTenThousandInFlight is the correctness half of the benchmark of the
// same name: 10,000 tcp checks in flight at once in one module instance, all
// correct. It caught SDK state being corrupted by goroutine switches inside
// map updates (the guest's GC parks goroutines to assist it).
func TestTenThousandInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	const n = 10000
	testutil.RaiseNoFile(t, n+1024)
	addrs := startLineServer(t)
	m := newModule(t)
	results := make(chan check.Result, n)
	for j := 0; j < n; j++ {
		m.Start(context.Background(), check.Request{Name: strconv.Itoa(j), Type: "tcp", Target: "tcp://" + addrs[j%len(addrs)],
			Timeout: 30 * time.Second, Config: json.RawMessage(`{"expect":"READY"}`)}, func(res check.Result) { results <- res })
	}
	for j := 0; j < n; j++ {
		res := <-results
		id, _ := strconv.Atoi(res.Name)
		if res.Status != check.Up || res.Fields["remote"] != addrs[id%len(addrs)] {
			t.Fatalf("check %s: %s %q", res.Name, res.Status, res.Message)
		}
	}
}
