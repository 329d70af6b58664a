package main_test

// These tests build the example exactly as a user would (GOOS=wasip1
// GOARCH=wasm go build -buildmode=c-shared), load it into the zappy engine and
// point it at a small SMTP server started on 127.0.0.1 by the test.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

// workDir holds the compilation cache and the CLI binary.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zappy-smtp-check")
	if err != nil {
		panic(err)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildModule compiles the example to wasm (once per test binary) and
// writes it into the test's directory for the CLI; it returns the path.
func buildModule(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "smtp-check.wasm")
	if err := os.WriteFile(path, testutil.BuildGo(t, "."), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadModule loads the built example into a fresh engine.
func loadModule(t *testing.T) *engine.Module {
	t.Helper()
	wasm := testutil.BuildGo(t, ".")
	e, err := engine.New(engine.Options{CacheDir: filepath.Join(workDir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	m, err := e.Load(context.Background(), "smtp-check", wasm, engine.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// smtpServer is a minimal ESMTP server: a two-line 220 greeting, EHLO with
// a multi-line 250 reply, STARTTLS, EHLO again over TLS, and QUIT.
type smtpServer struct {
	leaf       *testutil.Leaf
	greeting   string // the greeting, CRLF-terminated lines
	noSTARTTLS bool   // do not advertise or accept STARTTLS
	ehloReply  string // answer EHLO with this line instead of 250

	addr     string
	mu       sync.Mutex
	commands []string             // every command line received, in order
	tlsState *tls.ConnectionState // the server side of the last handshake
}

const defaultGreeting = "220-smtp.test ESMTP zappy test server\r\n220 ready\r\n"

func (s *smtpServer) start(t *testing.T) {
	t.Helper()
	if s.greeting == "" {
		s.greeting = defaultGreeting
	}
	s.addr = testutil.Accept(t, func(c net.Conn) { go s.serve(c) })
}

func (s *smtpServer) serve(conn net.Conn) {
	c := conn
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(text string) { io.WriteString(c, text) }
	say(s.greeting)
	if !strings.HasPrefix(s.greeting, "220") {
		return
	}
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.commands = append(s.commands, cmd)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(strings.ToUpper(cmd), " ")
		switch {
		case verb == "EHLO" && s.ehloReply != "":
			say(s.ehloReply + "\r\n")
		case verb == "EHLO" && secure:
			say("250-smtp.test greets you privately\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n")
		case verb == "EHLO" && s.noSTARTTLS:
			say("250-smtp.test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
		case verb == "EHLO":
			say("250-smtp.test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
		case verb == "STARTTLS" && !secure && !s.noSTARTTLS:
			say("220 2.0.0 Ready to start TLS\r\n")
			tc := tls.Server(c, s.leaf.ServerConfig())
			if err := tc.Handshake(); err != nil {
				return
			}
			st := tc.ConnectionState()
			s.mu.Lock()
			s.tlsState = &st
			s.mu.Unlock()
			c, r, secure = tc, bufio.NewReader(tc), true
		case verb == "QUIT":
			say("221 2.0.0 Bye\r\n")
			return
		default:
			say("502 5.5.2 command not recognized\r\n")
		}
	}
}

func (s *smtpServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.commands...)
}

func (s *smtpServer) negotiated() *tls.ConnectionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsState
}

// normalize round-trips v through JSON so that results compare with plain
// []any / map[string]any / float64 expectations.
func normalize(t *testing.T, v any) any {
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

func toJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// Fixed parts of the test server's replies, as the check reports them.
var (
	plainExtensions = []any{"SIZE", "8BITMIME", "PIPELINING", "STARTTLS"}
	plainParams     = map[string]any{"SIZE": "10240000", "8BITMIME": "", "PIPELINING": "", "STARTTLS": ""}
	tlsExtensions   = []any{"SIZE", "8BITMIME", "PIPELINING", "AUTH"}
	tlsParams       = map[string]any{"SIZE": "10240000", "8BITMIME": "", "PIPELINING": "", "AUTH": "PLAIN LOGIN"}
	greetingText    = "smtp.test ESMTP zappy test server ready"
)

func TestSMTPCheck(t *testing.T) {
	m := loadModule(t)
	leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
	other := testutil.SelfSigned(t, testutil.LeafOptions{})
	// The fingerprint as an operator might paste it: upper case with colons.
	var colons []string
	for i := 0; i < len(leaf.Fingerprint); i += 2 {
		colons = append(colons, strings.ToUpper(leaf.Fingerprint[i:i+2]))
	}
	pastedPin := strings.Join(colons, ":")

	// tlsField is the tls field expected for a handshake with leaf; cipher
	// and version come from the server side of the same handshake.
	tlsField := func(st *tls.ConnectionState, verified, pinned bool) map[string]any {
		return map[string]any{
			"version": tls.VersionName(st.Version), "cipher": tls.CipherSuiteName(st.CipherSuite),
			"fingerprint": leaf.Fingerprint, "days_left": 90.0, "subject": leaf.Cert.Subject.String(),
			"verified": verified, "pinned": pinned,
		}
	}
	// rejectedFields are those of a run whose client refused the
	// certificate: the server never finished its side of the handshake, so
	// the cipher is only known to be some TLS 1.3 suite.
	rejectedFields := func(*tls.ConnectionState) map[string]any {
		return map[string]any{
			"greeting": greetingText, "extensions": plainExtensions, "extension_params": plainParams,
			"tls": map[string]any{"version": "TLS 1.3", "cipher": anyTLS13Suite, "fingerprint": leaf.Fingerprint, "days_left": 90.0,
				"subject": leaf.Cert.Subject.String(), "verified": false, "pinned": false},
		}
	}
	tests := []struct {
		name     string
		server   *smtpServer // nil: a port nothing listens on
		config   map[string]any
		status   check.Status
		class    check.Class
		message  string   // exact, unless msgHas is set
		msgHas   []string // substrings the message must contain
		commands []string
		// fields expected besides timings; st is the server's TLS state
		// (nil when no handshake completed).
		fields  func(st *tls.ConnectionState) map[string]any
		timings []string
		metrics []string
	}{
		{
			name:     "pinned STARTTLS",
			server:   &smtpServer{leaf: leaf},
			config:   map[string]any{"ssl_fingerprint": pastedPin},
			status:   check.Up,
			class:    check.Success,
			message:  "ESMTP ok, STARTTLS TLS 1.3, 4 extensions",
			commands: []string{"EHLO zappy.local", "STARTTLS", "EHLO zappy.local", "QUIT"},
			fields: func(st *tls.ConnectionState) map[string]any {
				return map[string]any{
					"greeting": greetingText, "extensions": tlsExtensions, "extension_params": tlsParams,
					"plain_extensions": plainExtensions, "tls": tlsField(st, false, true),
				}
			},
			timings: []string{"connect", "greeting", "ehlo", "starttls", "tls", "ehlo_tls", "quit", "total"},
			metrics: []string{"connect_ms", "greeting_ms", "tls_ms", "total_ms"},
		},
		{
			name:     "verify_ssl false",
			server:   &smtpServer{leaf: leaf},
			config:   map[string]any{"verify_ssl": false, "helo": "probe.example.org"},
			status:   check.Up,
			class:    check.Success,
			message:  "ESMTP ok, STARTTLS TLS 1.3, 4 extensions",
			commands: []string{"EHLO probe.example.org", "STARTTLS", "EHLO probe.example.org", "QUIT"},
			fields: func(st *tls.ConnectionState) map[string]any {
				return map[string]any{
					"greeting": greetingText, "extensions": tlsExtensions, "extension_params": tlsParams,
					"plain_extensions": plainExtensions, "tls": tlsField(st, false, false),
				}
			},
			timings: []string{"connect", "greeting", "ehlo", "starttls", "tls", "ehlo_tls", "quit", "total"},
			metrics: []string{"connect_ms", "greeting_ms", "tls_ms", "total_ms"},
		},
		{
			name:     "pin mismatch",
			server:   &smtpServer{leaf: leaf},
			config:   map[string]any{"ssl_fingerprint": other.Fingerprint},
			status:   check.Down,
			class:    check.ApplicationError,
			msgHas:   []string{"STARTTLS: tls handshake with ", "fingerprint mismatch", other.Fingerprint, leaf.Fingerprint},
			commands: []string{"EHLO zappy.local", "STARTTLS"},
			// The certificate the server presented is reported, so the
			// operator can compare it with the pin.
			fields:  rejectedFields,
			timings: []string{"connect", "greeting", "ehlo", "starttls", "tls", "total"},
			metrics: []string{"connect_ms", "greeting_ms", "tls_ms", "total_ms"},
		},
		{
			name:     "self-signed without pin",
			server:   &smtpServer{leaf: leaf},
			status:   check.Down,
			class:    check.ApplicationError,
			msgHas:   []string{"STARTTLS: tls handshake with ", "certificate not trusted"},
			commands: []string{"EHLO zappy.local", "STARTTLS"},
			fields:   rejectedFields,
			timings:  []string{"connect", "greeting", "ehlo", "starttls", "tls", "total"},
			metrics:  []string{"connect_ms", "greeting_ms", "tls_ms", "total_ms"},
		},
		{
			name:     "no STARTTLS offered",
			server:   &smtpServer{leaf: leaf, noSTARTTLS: true},
			status:   check.Down,
			class:    check.ApplicationError,
			message:  "STARTTLS: the server does not offer it (EHLO advertised SIZE, 8BITMIME, PIPELINING); set starttls: false to check plain SMTP",
			commands: []string{"EHLO zappy.local"},
			fields: func(*tls.ConnectionState) map[string]any {
				return map[string]any{
					"greeting": greetingText, "extensions": []any{"SIZE", "8BITMIME", "PIPELINING"},
					"extension_params": map[string]any{"SIZE": "10240000", "8BITMIME": "", "PIPELINING": ""},
				}
			},
			timings: []string{"connect", "greeting", "ehlo", "total"},
			metrics: []string{"connect_ms", "greeting_ms", "total_ms"},
		},
		{
			name:     "EHLO not implemented",
			server:   &smtpServer{leaf: leaf, ehloReply: "502 command not implemented"},
			status:   check.Down,
			class:    check.ApplicationError,
			message:  `EHLO: expected 250, server said "502 command not implemented"`,
			commands: []string{"EHLO zappy.local"},
			fields:   func(*tls.ConnectionState) map[string]any { return map[string]any{"greeting": greetingText} },
			timings:  []string{"connect", "greeting", "total"},
			metrics:  []string{"connect_ms", "greeting_ms", "total_ms"},
		},
		{
			name:    "greeting refuses service",
			server:  &smtpServer{leaf: leaf, greeting: "554-smtp.test no service for you\r\n554 go away\r\n"},
			status:  check.Down,
			class:   check.ApplicationError,
			message: `greeting: expected 220, server said "554-smtp.test no service for you 554 go away"`,
			timings: []string{"connect", "total"},
			metrics: []string{"connect_ms", "total_ms"},
		},
		{
			name:    "not an SMTP server",
			server:  &smtpServer{leaf: leaf, greeting: "SSH-2.0-OpenSSH_9.6\r\n"},
			status:  check.Down,
			class:   check.ApplicationError,
			message: `greeting: malformed reply "SSH-2.0-OpenSSH_9.6" (is this an SMTP server?)`,
			timings: []string{"connect", "total"},
			metrics: []string{"connect_ms", "total_ms"},
		},
		{
			name:    "connection refused",
			status:  check.Down,
			class:   check.ExceptionError,
			msgHas:  []string{"connection refused"},
			timings: []string{"total"},
			metrics: []string{"total_ms"},
		},
		{
			name:     "starttls false",
			server:   &smtpServer{leaf: leaf},
			config:   map[string]any{"starttls": false},
			status:   check.Up,
			class:    check.Success,
			message:  "ESMTP ok, no STARTTLS (starttls: false), 4 extensions",
			commands: []string{"EHLO zappy.local", "QUIT"},
			fields: func(*tls.ConnectionState) map[string]any {
				return map[string]any{"greeting": greetingText, "extensions": plainExtensions, "extension_params": plainParams}
			},
			timings: []string{"connect", "greeting", "ehlo", "quit", "total"},
			metrics: []string{"connect_ms", "greeting_ms", "total_ms"},
		},
		{
			name:    "helo with a line break",
			server:  &smtpServer{leaf: leaf},
			config:  map[string]any{"helo": "x\r\nRCPT TO:<victim@example.org>"},
			status:  check.Error,
			class:   check.ExceptionError,
			message: `helo "x\r\nRCPT TO:<victim@example.org>" must be a host name without spaces or line breaks`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := testutil.ClosedPort(t, "tcp")
			if tt.server != nil {
				tt.server.start(t)
				addr = tt.server.addr
			}
			cfg, _ := json.Marshal(tt.config)
			res := m.Run(context.Background(), check.Request{
				Name: tt.name, Type: "smtp", Target: "tcp://" + addr, Timeout: 5 * time.Second, Config: cfg,
			})
			t.Logf("%s/%s: %s", res.Status, res.Class, res.Message)
			if res.Status != tt.status || res.Class != tt.class {
				t.Fatalf("got %s/%s %q, want %s/%s", res.Status, res.Class, res.Message, tt.status, tt.class)
			}
			if tt.msgHas == nil && res.Message != tt.message {
				t.Errorf("message\n got %q\nwant %q", res.Message, tt.message)
			}
			for _, s := range tt.msgHas {
				if !strings.Contains(res.Message, s) {
					t.Errorf("message %q does not contain %q", res.Message, s)
				}
			}
			if tt.server != nil {
				if got := tt.server.received(); !reflect.DeepEqual(got, tt.commands) && (len(got) > 0 || len(tt.commands) > 0) {
					t.Errorf("server received %q, want %q", got, tt.commands)
				}
			}

			fields, _ := normalize(t, res.Fields).(map[string]any)
			timings, _ := fields["timings"].(map[string]any)
			delete(fields, "timings")
			var gotSteps []string
			for step, v := range timings {
				gotSteps = append(gotSteps, step)
				if ms, ok := v.(float64); !ok || ms < 0 {
					t.Errorf("timing %s = %v, want milliseconds >= 0", step, v)
				}
			}
			sort.Strings(gotSteps)
			wantSteps := append([]string{}, tt.timings...)
			sort.Strings(wantSteps)
			if len(gotSteps)+len(wantSteps) > 0 && !reflect.DeepEqual(gotSteps, wantSteps) {
				t.Errorf("timings for steps %q, want %q", gotSteps, wantSteps)
			}
			if total, ok := timings["total"].(float64); ok && res.Status == check.Up && res.LatencyMS != total {
				t.Errorf("latency %v ms, want the total %v ms", res.LatencyMS, total)
			}
			if tt.fields != nil {
				want := normalize(t, tt.fields(tt.server.negotiated()))
				if fieldAt(want, "tls", "cipher") == anyTLS13Suite && isTLS13Suite(fieldAt(fields, "tls", "cipher")) {
					want.(map[string]any)["tls"].(map[string]any)["cipher"] = fieldAt(fields, "tls", "cipher")
				}
				if !reflect.DeepEqual(fields, want) {
					t.Errorf("fields\n got %s\nwant %s", toJSON(fields), toJSON(want))
				}
			}

			var metrics []string
			for _, mt := range res.Metrics {
				metrics = append(metrics, mt.Name)
				if mt.Unit != "ms" || mt.Value < 0 {
					t.Errorf("metric %+v, want non-negative milliseconds", mt)
				}
			}
			if len(metrics)+len(tt.metrics) > 0 && !reflect.DeepEqual(metrics, tt.metrics) {
				t.Errorf("metrics %q, want %q", metrics, tt.metrics)
			}
		})
	}
}

// anyTLS13Suite in an expected tls field accepts the name of any TLS 1.3
// cipher suite.
const anyTLS13Suite = "<any TLS 1.3 suite>"

func isTLS13Suite(name any) bool {
	for _, cs := range tls.CipherSuites() {
		if cs.Name == name && slices.Contains(cs.SupportedVersions, tls.VersionTLS13) {
			return true
		}
	}
	return false
}

// fieldAt follows path through nested JSON objects.
func fieldAt(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestManifest(t *testing.T) {
	man := loadModule(t).Manifest()
	if man.Name != "smtp-check" || man.Version != "1.0.0" {
		t.Fatalf("module %s %s, want smtp-check 1.0.0", man.Name, man.Version)
	}
	typ, ok := man.Type("smtp")
	if !ok || !reflect.DeepEqual(typ.Capabilities, []string{"tcp"}) {
		t.Fatalf("type smtp: %+v (found %v), want capabilities [tcp]", typ, ok)
	}
	if names := man.TypeNames(); len(names) != 1 {
		t.Fatalf("types %v, want only smtp", names)
	}
}

// TestCLI runs the example through the real command line, the way the README
// tells users to.
func TestCLI(t *testing.T) {
	if files, _ := filepath.Glob("../../cmd/zappy/*.go"); len(files) == 0 {
		t.Skip("flag not yet available: cmd/zappy has no Go files yet, so there is no `zappy check --module/--set`")
	}
	wasm := buildModule(t)
	bin := filepath.Join(workDir, "zappy")
	build := exec.Command("go", "build", "-o", bin, "github.com/zappy-mon/zappy/cmd/zappy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the CLI: %v\n%s", err, out)
	}
	help, err := exec.Command(bin, "check", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("zappy check --help: %v\n%s", err, help)
	}
	for _, flag := range []string{"--module", "--set"} {
		if !bytes.Contains(help, []byte(flag)) {
			t.Skipf("flag not yet available: `zappy check --help` does not list %s", flag)
		}
	}

	leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
	t.Run("flags", func(t *testing.T) {
		srv := &smtpServer{leaf: leaf}
		srv.start(t)
		out := runCLI(t, bin, "check", "--module", wasm, "--type", "smtp", "--address", "tcp://"+srv.addr,
			"--set", "ssl_fingerprint="+leaf.Fingerprint, "--set", "helo=cli.example.org", "--json")
		res := cliResult(t, out)
		if res.Name == "" || res.Type != "smtp" || res.Status != "up" || res.Class != "SUCCESS" ||
			res.Message != "ESMTP ok, STARTTLS TLS 1.3, 4 extensions" {
			t.Fatalf("result %s", out)
		}
		if fieldAt(res.Fields, "tls", "fingerprint") != leaf.Fingerprint || fieldAt(res.Fields, "tls", "pinned") != true ||
			fieldAt(res.Fields, "greeting") != greetingText || !reflect.DeepEqual(res.Fields["extensions"], tlsExtensions) {
			t.Fatalf("fields %s", toJSON(res.Fields))
		}
		if got, want := srv.received(), []string{"EHLO cli.example.org", "STARTTLS", "EHLO cli.example.org", "QUIT"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("server received %q, want %q", got, want)
		}
	})
	// README: the built-in cert type finds the fingerprint to pin.
	t.Run("fingerprint from cert", func(t *testing.T) {
		srv := &smtpServer{leaf: leaf}
		srv.start(t)
		out := runCLI(t, bin, "check", "--type", "cert", "--address", "tcp://"+srv.addr,
			"--set", "starttls=smtp", "--set", "verify_ssl=false", "--json")
		if res := cliResult(t, out); res.Status != "up" || res.Fields["fingerprint"] != leaf.Fingerprint {
			t.Fatalf("cert check %s/%q, fingerprint %v, want up with %s", res.Status, res.Message, res.Fields["fingerprint"], leaf.Fingerprint)
		}
	})
	// The YAML example in README.md, pointed at the test server, must run
	// as documented: module path relative to the config, assertions and all.
	t.Run("README config", func(t *testing.T) {
		readme, err := os.ReadFile("README.md")
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(readme), "```yaml\n")
		yamlText, _, ok2 := strings.Cut(rest, "```")
		if !ok || !ok2 {
			t.Fatal("README.md has no ```yaml block")
		}
		const docAddr, docPin = "tcp://mail.example.com:25", "a1b2c3d4e5f67890abcdef1234567890abcdef1234567890abcdef1234567890"
		if !strings.Contains(yamlText, docAddr) || !strings.Contains(yamlText, docPin) {
			t.Fatalf("README's config no longer has address %s and pin %s:\n%s", docAddr, docPin, yamlText)
		}
		srv := &smtpServer{leaf: leaf}
		srv.start(t)
		yamlText = strings.NewReplacer(docAddr, "tcp://"+srv.addr, docPin, leaf.Fingerprint).Replace(yamlText)
		dir := t.TempDir()
		module, err := os.ReadFile(wasm)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "smtp-check.wasm"), module, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "mail.yaml"), []byte(yamlText), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runCLI(t, bin, "check", "-c", filepath.Join(dir, "mail.yaml"), "--json")
		res := cliResult(t, out)
		if res.Name != "mail-relay" || res.Type != "smtp" || res.Status != "up" || res.Message != "ESMTP ok, STARTTLS TLS 1.3, 4 extensions" {
			t.Fatalf("result %s", out)
		}
		if got, want := srv.received(), []string{"EHLO monitor.example.com", "STARTTLS", "EHLO monitor.example.com", "QUIT"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("server received %q, want %q", got, want)
		}
	})
}

// runCLI runs the zappy binary, which must exit 0, and returns its stdout.
func runCLI(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("zappy %s: %v (want exit code 0)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("zappy %s:\n%s", strings.Join(args, " "), stdout.String())
	return stdout.Bytes()
}

// cliJSON is the part of `zappy check --json` output the tests read.
type cliJSON struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Class   string         `json:"class"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields"`
}

// cliResult decodes the one result printed by `zappy check --json`.
func cliResult(t *testing.T, out []byte) cliJSON {
	t.Helper()
	var res cliJSON
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not a JSON result (%v):\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one result:\n%s", out)
	}
	return res
}
