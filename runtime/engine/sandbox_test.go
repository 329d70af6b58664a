package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/zappy-mon/zappy/runtime/check"
)

// TestHostileModules runs each misbehaviour in a sandboxed module while a
// well-behaved check runs in another module; each misbehaving check must end
// with status error and a clear reason, and the host and the other module
// must carry on.
func TestHostileModules(t *testing.T) {
	e, logs := testEngine(t)
	addr := listener(t, "220 ok", 0)
	other := listener(t, "220 other", 0)
	good := load(t, e, "good", Policy{})
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") }))
	defer elsewhere.Close()
	_, elsewherePort, _ := net.SplitHostPort(elsewhere.Listener.Addr().String())
	redirector := httptest.NewServer(http.RedirectHandler("http://localhost:"+elsewherePort+"/", http.StatusFound))
	defer redirector.Close()
	tests := []struct {
		name    string
		policy  Policy
		req     check.Request
		message []string
	}{
		{"infinite loop", Policy{}, check.Request{Type: "loop", Timeout: 300 * time.Millisecond},
			[]string{"did not finish within its timeout of 300ms"}},
		{"memory past the cap", Policy{MemoryLimitPages: 400}, check.Request{Type: "oom", Timeout: 10 * time.Second},
			[]string{"instance stopped", "memory cap was reached"}},
		{"bad pointer", Policy{}, check.Request{Type: "badptr", Timeout: time.Second},
			[]string{"invalid pointer or length to zappy.op", "ptr=0xfffffff0"}},
		{"destination outside the allow-list", Policy{}, check.Request{Type: "elsewhere", Target: "tcp://" + addr, Timeout: time.Second, Config: cfg("other", "10.255.255.1:25")},
			[]string{"denied: destination 10.255.255.1:25 is not in the allow-list", `reported: "ignoring: `}},
		{"redirect outside the allow-list", Policy{}, check.Request{Type: "fetch", Target: redirector.URL + "/", Timeout: time.Second},
			[]string{"denied: destination localhost:" + elsewherePort + " is not in the allow-list"}},
		{"primitive without capability", Policy{}, check.Request{Type: "nocap", Target: "udp://127.0.0.1:9", Timeout: time.Second},
			[]string{`denied: module hostile may not use udp.exchange (capability "udp" not granted)`}},
		{"oversized result", Policy{}, check.Request{Type: "bigresult", Timeout: 2 * time.Second},
			[]string{"reported a result of", "over the sandbox cap of 1048576 bytes"}},
		{"ignores its deadline", Policy{}, check.Request{Type: "ignore", Timeout: 200 * time.Millisecond},
			[]string{"did not finish within its timeout of 200ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := load(t, e, "hostile", tt.policy)
			defer m.Close(context.Background())
			// A good check in another module runs across the misbehaviour.
			var wg sync.WaitGroup
			var goodRes check.Result
			wg.Add(1)
			go func() {
				defer wg.Done()
				goodRes = good.Run(context.Background(), check.Request{Name: "good", Type: "banner", Target: "tcp://" + other, Timeout: 5 * time.Second})
			}()
			tt.req.Name = tt.name
			res := m.Run(context.Background(), tt.req)
			wg.Wait()
			t.Logf("result: %s %s %q", res.Status, res.Class, res.Message)
			if res.Status != check.Error {
				t.Fatalf("status %s (%q), want error", res.Status, res.Message)
			}
			for _, want := range tt.message {
				if !strings.Contains(res.Message, want) {
					t.Errorf("message %q does not contain %q", res.Message, want)
				}
			}
			if goodRes.Status != check.Up {
				t.Fatalf("check in the other module: %s %q", goodRes.Status, goodRes.Message)
			}
			// The misbehaving module still serves well-behaved checks.
			if r := m.Run(context.Background(), check.Request{Name: "after", Type: "connect", Target: "tcp://" + addr, Timeout: 2 * time.Second}); r.Status != check.Up {
				t.Fatalf("well-behaved check after the misbehaviour: %s %q", r.Status, r.Message)
			}
		})
	}
	_ = logs
}

// TestLoopKillsOnlyItsInstance shows the endless loop's instance being
// stopped, the other checks in flight in that instance failing with the reason,
// and a fresh instance taking over.
func TestLoopKillsOnlyItsInstance(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	res := m.Run(context.Background(), check.Request{Name: "loop", Type: "loop", Timeout: 200 * time.Millisecond})
	if res.Status != check.Error {
		t.Fatalf("loop: %s %q", res.Status, res.Message)
	}
	// The loop lane gets a new instance: another loop check again times out
	// cleanly instead of waiting behind the stuck one.
	start := time.Now()
	res = m.Run(context.Background(), check.Request{Name: "loop2", Type: "loop", Timeout: 200 * time.Millisecond})
	if res.Status != check.Error || !strings.Contains(res.Message, "did not finish within its timeout") {
		t.Fatalf("second loop: %s %q", res.Status, res.Message)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("second loop check took %s", time.Since(start))
	}
}

func TestOutputCapped(t *testing.T) {
	e, logs := testEngine(t)
	m := load(t, e, "hostile", Policy{OutputBytesPerMinute: 10000})
	res := m.Run(context.Background(), check.Request{Name: "spam", Type: "spam", Timeout: 5 * time.Second})
	if res.Status != check.Up {
		t.Fatalf("spam: %s %q", res.Status, res.Message)
	}
	out := logs.String()
	if !strings.Contains(out, "module output cap reached") {
		t.Fatalf("no cap warning in log")
	}
	// 10000 bytes of 101-byte lines: 99 lines forwarded, the rest dropped.
	if n := strings.Count(out, "stream=stdout line="); n != 10000/101 {
		t.Fatalf("%d spam lines forwarded, want %d", n, 10000/101)
	}
}

func TestCallerCancel(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := m.Run(ctx, check.Request{Name: "s", Type: "sleep", Timeout: 5 * time.Second, Config: cfg("ms", 3000)})
	if res.Status != check.Error || !strings.Contains(res.Message, "canceled") {
		t.Fatalf("%s %q", res.Status, res.Message)
	}
	// The lane is fine afterwards.
	if r := m.Run(context.Background(), check.Request{Name: "s2", Type: "sleep", Timeout: time.Second, Config: cfg("ms", 1)}); r.Status != check.Up {
		t.Fatalf("%s %q", r.Status, r.Message)
	}
}

func TestAllowList(t *testing.T) {
	tests := []struct {
		target string
		extra  []string
		host   string
		port   int
		ok     bool
	}{
		{"tcp://mail.example.com:25", nil, "mail.example.com", 587, true},
		{"tcp://mail.example.com:25", nil, "MAIL.example.com.", 25, true},
		{"tcp://mail.example.com:25", nil, "other.example.com", 25, false},
		{"https://[::1]:8443/x", nil, "::1", 8443, true},
		{"snmp://10.0.0.1", []string{"10.0.0.0/8"}, "10.9.9.9", 161, true},
		{"snmp://10.0.0.1", []string{"10.0.0.0/8:161"}, "10.9.9.9", 162, false},
		{"h", []string{"*.example.org"}, "a.b.example.org", 1, true},
		{"h", []string{"*.example.org"}, "example.org", 1, false},
		{"h", []string{"192.0.2.7"}, "192.0.2.7", 80, true},
		{"h", []string{"api.example.net:443"}, "api.example.net", 443, true},
		{"h", []string{"api.example.net:443"}, "api.example.net", 80, false},
	}
	for _, tt := range tests {
		a, err := newAllowList(tt.target, tt.extra)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.check(tt.host, tt.port); (err == nil) != tt.ok {
			t.Errorf("target %s extra %v: %s:%d allowed=%v, want %v (%v)", tt.target, tt.extra, tt.host, tt.port, err == nil, tt.ok, err)
		}
	}
	for _, bad := range []string{"", "a/b*", "host:99999", "host:x"} {
		if _, err := newAllowList("t", []string{bad}); err == nil {
			t.Errorf("allow entry %q accepted", bad)
		}
	}
	_ = net.IPv4len
}

// TestJSONIndexImport: zappy.json_index refuses ranges outside memory (an
// index length that wraps included), documents that are not JSON and one
// with more values than it indexes, with the codes of ABI.md and without
// failing the check; it gives the count, writing nothing, when the records
// do not fit, and writes them when they do.
func TestJSONIndexImport(t *testing.T) {
	e, _ := testEngine(t)
	m := load(t, e, "hostile", Policy{})
	res := m.Run(context.Background(), check.Request{Name: "index", Type: "badindex", Timeout: 2 * time.Second})
	if res.Status != check.Up {
		t.Fatalf("status %s %q, want up", res.Status, res.Message)
	}
	// {"a":[1,"x"]} has 5 records: the object, "a", the array, 1, "x".
	if want := "json_index: -1 -1 -1 -5 -5 -6 5 5 5"; res.Message != want {
		t.Fatalf("message %q, want %q", res.Message, want)
	}
	if res.Fields["small_buffer_untouched"] != true {
		t.Fatal("json_index wrote into a buffer too small for the records")
	}
	// The object: kind 5, no flags, start 0, end 13, next 5, count 1.
	want := []any{5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 13.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0}
	if got := res.Fields["first_record"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("first record %v, want %v", got, want)
	}
}

// fakeExport is an export with a given signature, for checkSignature.
type fakeExport struct {
	api.Function
	params, results []api.ValueType
}

func (f fakeExport) Definition() api.FunctionDefinition {
	return fakeDef{params: f.params, results: f.results}
}

type fakeDef struct {
	api.FunctionDefinition
	params, results []api.ValueType
}

func (d fakeDef) ParamTypes() []api.ValueType  { return d.params }
func (d fakeDef) ResultTypes() []api.ValueType { return d.results }

// TestExportSignatures: the engine calls exports with a shared stack, so an
// export whose signature is not ABI.md's is refused with what it has and
// what it should have.
func TestExportSignatures(t *testing.T) {
	tests := []struct {
		name            string
		params, results []api.ValueType
		err             string
	}{
		{"matches", []api.ValueType{i64, i32}, nil, ""},
		{"no parameters", nil, nil, "export zappy_start has parameters () and 0 results; sdk/ABI.md says (i64, i32) and none"},
		{"swapped", []api.ValueType{i32, i64}, nil, "has parameters (i32, i64)"},
		{"a result", []api.ValueType{i64, i32}, []api.ValueType{i32}, "and 1 results"},
	}
	for _, tt := range tests {
		err := checkSignature("zappy_start", fakeExport{params: tt.params, results: tt.results}, i64, i32)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
		}
	}
}

// wasmFunc is an export of a module built by moduleExporting.
type wasmFunc struct {
	name            string
	params, results []api.ValueType
	value           byte // what each result is (0–63)
}

// moduleExporting is a minimal module exporting funcs, each of which
// returns its value, and (with memory) one page of memory as "memory".
func moduleExporting(memory bool, funcs ...wasmFunc) []byte {
	vec := func(n int, items ...byte) []byte { return append([]byte{byte(n)}, items...) }
	section := func(id byte, content []byte) []byte { return append([]byte{id, byte(len(content))}, content...) }
	var types, fns, exports, code []byte
	for i, f := range funcs {
		types = append(types, 0x60)
		types = append(types, vec(len(f.params), f.params...)...)
		types = append(types, vec(len(f.results), f.results...)...)
		fns = append(fns, byte(i))
		exports = append(exports, vec(len(f.name), []byte(f.name)...)...)
		exports = append(exports, 0, byte(i)) // a function, index i
		body := []byte{0}                     // no locals
		for _, r := range f.results {
			if r == i64 {
				body = append(body, 0x42, f.value) // i64.const value
			} else {
				body = append(body, 0x41, f.value) // i32.const value
			}
		}
		body = append(body, 0x0b) // end
		code = append(code, vec(len(body), body...)...)
	}
	n, nExports := len(funcs), len(funcs)
	if memory {
		exports = append(exports, vec(len("memory"), []byte("memory")...)...)
		exports = append(exports, 2, 0) // a memory, index 0
		nExports++
	}
	w := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	w = append(w, section(1, vec(n, types...))...)
	w = append(w, section(3, vec(n, fns...))...)
	if memory {
		w = append(w, section(5, vec(1, 0, 1))...) // one memory: at least one page, no maximum
	}
	w = append(w, section(7, vec(nExports, exports...))...)
	return append(w, section(10, vec(n, code...))...)
}

// TestLoadChecksManifestExports: a module without the memory the host
// reads, or whose exports do not return what the host reads from them, is
// refused with a load error, never a panic.
func TestLoadChecksManifestExports(t *testing.T) {
	e, _ := testEngine(t)
	check := wasmFunc{"zappy_check", []api.ValueType{i64, i32}, nil, 0}
	version := func(results ...api.ValueType) wasmFunc {
		return wasmFunc{"zappy_abi_version", nil, results, ABIVersion}
	}
	manifest := func(results ...api.ValueType) wasmFunc { return wasmFunc{"zappy_manifest", nil, results, 0} }
	tests := []struct {
		name string
		wasm []byte
		err  string
	}{
		{"version returns nothing", moduleExporting(true, check, version()), "export zappy_abi_version has parameters () and results (); sdk/ABI.md says () and (i32)"},
		{"version returns i64", moduleExporting(true, check, version(i64)), "results (i64); sdk/ABI.md says () and (i32)"},
		{"old ABI", moduleExporting(true, check, wasmFunc{"zappy_abi_version", nil, []api.ValueType{i32}, 0}), "module speaks ABI 0; this host speaks ABI 1"},
		{"no manifest", moduleExporting(true, check, version(i32)), "module does not export zappy_manifest"},
		{"manifest returns i32", moduleExporting(true, check, version(i32), manifest(i32)), "export zappy_manifest has parameters () and results (i32); sdk/ABI.md says () and (i64)"},
		{"manifest returns nothing", moduleExporting(true, check, version(i32), manifest()), "results (); sdk/ABI.md says () and (i64)"},
		{"empty manifest", moduleExporting(true, check, version(i32), manifest(i64)), "manifest is not valid JSON"},
		{"no memory", moduleExporting(false, check, version(i32), manifest(i64)), `does not export its linear memory as "memory"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Load(context.Background(), "sig", tt.wasm, Policy{})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// TestRestartBackoff: a module whose instance traps on every check is not
// instantiated again for every check: blocking modules' pools replace dead
// instances at the pace multiplexed modules' lanes do (restarts).
func TestRestartBackoff(t *testing.T) {
	for _, mode := range []string{modeMultiplexed, modeBlocking} {
		t.Run(mode, func(t *testing.T) {
			man := fmt.Sprintf(probeManifest, mode)
			exports := `
  (func (export "zappy_start") (param i64 i32) unreachable)
  (func (export "zappy_complete") (param i64 i32 i32))
  (func (export "zappy_run"))`
			if mode == modeBlocking {
				exports = `
  (func (export "zappy_check") (param i64 i32) unreachable)`
			}
			src := `(module
  (import "zappy" "log" (func $log (param i64 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ` + watString(man) + `)
  (data (i32.const 1024) "instantiated")
  (func (export "_initialize") (call $log (i64.const 0) (i32.const 0) (i32.const 1024) (i32.const 12)))
  (func (export "zappy_abi_version") (result i32) (i32.const 1))
  (func (export "zappy_manifest") (result i64) (i64.const ` + fmt.Sprint(len(man)) + `))` + exports + `
)`
			e, logs := testEngine(t)
			m, err := e.Load(context.Background(), "crasher", wat(t, src), Policy{})
			if err != nil {
				t.Fatal(err)
			}
			const checks = 30
			backedOff := 0
			for i := 0; i < checks; i++ {
				res := m.Run(context.Background(), check.Request{Name: "crash", Type: "probe", Timeout: 50 * time.Millisecond})
				if res.Status != check.Error {
					t.Fatalf("check %d: %s %q", i, res.Status, res.Message)
				}
				if strings.Contains(res.Message, "keeps failing") {
					backedOff++
				}
			}
			// The instance made at load time, one replaced at once, then
			// one after 100 ms, 200 ms, 400 ms...: 30 checks that fail in
			// microseconds (or wait 50 ms at most) see a handful.
			made := strings.Count(logs.String(), "msg=instantiated")
			t.Logf("%d instances for %d checks, %d checks refused while backing off", made, checks, backedOff)
			if made > 6 || backedOff == 0 {
				t.Fatalf("%d instances made for %d checks that each crashed one (%d refused while backing off): no backoff", made, checks, backedOff)
			}
			if mode == modeBlocking {
				// A check whose deadline is after the next restart waits
				// for it rather than failing at once.
				res := m.Run(context.Background(), check.Request{Name: "patient", Type: "probe", Timeout: 10 * time.Second})
				if res.Status != check.Error || !strings.Contains(res.Message, "instance stopped: the module crashed") {
					t.Fatalf("a check with time to wait for the restart: %s %q", res.Status, res.Message)
				}
			}
		})
	}
}
