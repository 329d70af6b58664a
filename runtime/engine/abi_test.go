package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/hostfuncs"
	"github.com/zappy-mon/zappy/runtime/check"
)

// The tests of this file hold the engine to sdk/ABI.md, statement by
// statement, with hand-written WAT modules that call the imports with
// exactly the arguments a case needs (the SDK would never pass most of
// them).

// wat compiles WebAssembly text with wat2wasm (Debian: wabt); it skips the
// test when wat2wasm is not installed.
func wat(t testing.TB, src string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skipf("wat2wasm not installed (Debian: apt-get install wabt): %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s\n%s", err, b, src)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// watString quotes s as a WAT string literal.
func watString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			fmt.Fprintf(&b, `\%02x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

const probeManifest = `{"abi":1,"name":"probe","version":"1","mode":"%s","types":[{"name":"probe"}]}`

// probeModule is a module of one check type, "probe", whose check runs body
// (WAT instructions with the locals $id and $n, the check and its input's
// length, and scratch locals $a, $b, $c of type i64). The body appends
// numbers to the result's message with $num and reports it with $finish
// (which returns zappy.done's code). The manifest is at 0, data (WAT data
// segments) may use 1024–4095, the message is built from 4096 and 8192 on
// is free. mode is "multiplexed" (body runs in zappy_start) or "blocking"
// (in zappy_check).
func probeModule(t testing.TB, mode, body, data string) []byte {
	t.Helper()
	manifest := fmt.Sprintf(probeManifest, mode)
	exports := `
  (func (export "zappy_start") (param $id i64) (param $n i32) (local $a i64) (local $b i64) (local $c i64)
    (global.set $pos (i32.const 4122))
    BODY)
  (func (export "zappy_complete") (param i64 i32 i32))
  (func (export "zappy_cancel") (param i64))
  (func (export "zappy_run"))`
	if mode == modeBlocking {
		exports = `
  (func (export "zappy_check") (param $id i64) (param $n i32) (local $a i64) (local $b i64) (local $c i64)
    (global.set $pos (i32.const 4122))
    BODY)`
	}
	src := `(module
  (import "zappy" "input" (func $input (param i64 i32 i32) (result i32)))
  (import "zappy" "op" (func $op (param i64 i32 i32 i32 i32 i32) (result i64)))
  (import "zappy" "take" (func $take (param i64 i32 i32 i32 i32) (result i64)))
  (import "zappy" "await" (func $await (param i64) (result i64)))
  (import "zappy" "done" (func $done (param i64 i32 i32) (result i32)))
  (import "zappy" "log" (func $log (param i64 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ` + watString(manifest) + `)
  (data (i32.const 4096) ` + watString(`{"status":"up","message":"`) + `)
  DATA
  (global $pos (mut i32) (i32.const 4122))
  (func (export "zappy_abi_version") (result i32) (i32.const 1))
  (func (export "zappy_manifest") (result i64) (i64.const ` + fmt.Sprint(len(manifest)) + `))
  ;; $num appends v in decimal and a space to the message.
  (func $num (param $v i64) (local $s i32) (local $e i32) (local $t i32)
    (if (i64.lt_s (local.get $v) (i64.const 0))
      (then
        (i32.store8 (global.get $pos) (i32.const 45))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (local.set $v (i64.sub (i64.const 0) (local.get $v)))))
    (local.set $s (global.get $pos))
    (loop $digits
      (i32.store8 (global.get $pos) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $v) (i64.const 0))))
    (local.set $e (i32.sub (global.get $pos) (i32.const 1)))
    (block $done
      (loop $reverse
        (br_if $done (i32.ge_u (local.get $s) (local.get $e)))
        (local.set $t (i32.load8_u (local.get $s)))
        (i32.store8 (local.get $s) (i32.load8_u (local.get $e)))
        (i32.store8 (local.get $e) (local.get $t))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $e (i32.sub (local.get $e) (i32.const 1)))
        (br $reverse)))
    (i32.store8 (global.get $pos) (i32.const 32))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
  ;; $finish reports {"status":"up","message":"<numbers>"}.
  (func $finish (param $id i64) (result i32)
    (i32.store8 (global.get $pos) (i32.const 34))
    (i32.store8 (i32.add (global.get $pos) (i32.const 1)) (i32.const 125))
    (call $done (local.get $id) (i32.const 4096) (i32.sub (i32.add (global.get $pos) (i32.const 2)) (i32.const 4096))))
  ;; $logNums logs the numbers appended so far as a module-wide line.
  (func $logNums
    (call $log (i64.const 0) (i32.const 0) (i32.const 4122) (i32.sub (global.get $pos) (i32.const 4122))))
` + exports + `
)`
	src = strings.Replace(src, "BODY", body, 1)
	src = strings.Replace(src, "DATA", data, 1)
	return wat(t, src)
}

// TestABIImports calls every import of ABI.md section 4 with the arguments
// the table and the return codes name, in both modes, and checks the codes
// and what they do to the check.
func TestABIImports(t *testing.T) {
	const (
		n      = `(i64.extend_i32_s (local.get $n))`
		finish = `(drop (call $finish (local.get $id)))`
	)
	num32 := func(call string) string { return `(call $num (i64.extend_i32_s ` + call + `))` }
	num64 := func(call string) string { return `(call $num ` + call + `)` }
	// A ready token: an op whose request is not JSON is refused at once.
	const refusedOp = `(local.set $a (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 1) (i32.const 0) (i32.const 0)))`
	const brace = `(data (i32.const 1024) "{")`
	tests := []struct {
		name    string
		mode    string
		policy  Policy
		body    string
		data    string
		status  check.Status
		message string   // "N" stands for the input's length (the body reports it first)
		logs    []string // in the engine's log
	}{
		// input
		{name: "input: length, copy, then released",
			body: `(call $num ` + n + `)` +
				num32(`(call $input (local.get $id) (i32.const 8192) (i32.const 0))`) +
				num32(`(call $input (local.get $id) (i32.const 8192) (i32.const 32768))`) +
				num32(`(call $input (local.get $id) (i32.const 8192) (i32.const 32768))`) + finish,
			status: check.Up, message: "N N N 0"},
		{name: "input: too small a buffer is left untouched, even outside memory",
			body: `(call $num ` + n + `)` +
				num32(`(call $input (local.get $id) (i32.const 0xfffffff0) (i32.const 1))`) + finish,
			status: check.Up, message: "N N"},
		{name: "input: unknown check",
			body:   num32(`(call $input (i64.add (local.get $id) (i64.const 1000)) (i32.const 8192) (i32.const 32768))`) + finish,
			status: check.Up, message: "-2"},
		{name: "input: outside memory fails the check",
			body:   num32(`(call $input (local.get $id) (i32.const 65500) (i32.const 32768))`) + finish,
			status: check.Error, message: "invalid pointer or length to zappy.input"},
		// op
		{name: "op: unknown operation numbers",
			body: num64(`(call $op (local.get $id) (i32.const 0) (i32.const 1024) (i32.const 2) (i32.const 0) (i32.const 0))`) +
				num64(`(call $op (local.get $id) (i32.const 13) (i32.const 1024) (i32.const 2) (i32.const 0) (i32.const 0))`) +
				num64(`(call $op (local.get $id) (i32.const -1) (i32.const 1024) (i32.const 2) (i32.const 0) (i32.const 0))`) + finish,
			data:   `(data (i32.const 1024) "{}")`,
			status: check.Up, message: "-3 -3 -3"},
		{name: "op: unknown check",
			body:   num64(`(call $op (i64.const 0) (i32.const 12) (i32.const 1024) (i32.const 2) (i32.const 0) (i32.const 0))`) + finish,
			data:   `(data (i32.const 1024) "{}")`,
			status: check.Up, message: "-2"},
		{name: "op: request outside memory fails the check",
			body:   num64(`(call $op (local.get $id) (i32.const 12) (i32.const 65530) (i32.const 7) (i32.const 0) (i32.const 0))`) + finish,
			status: check.Error, message: "invalid pointer or length to zappy.op"},
		{name: "op: payload outside memory fails the check",
			body:   num64(`(call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 2) (i32.const 0) (i32.const -1))`) + finish,
			data:   `(data (i32.const 1024) "{}")`,
			status: check.Error, message: "invalid pointer or length to zappy.op"},
		// A refused operation is ready at once (bit 62); take says so when
		// a buffer is too small, copies when both fit, and only once.
		{name: "op and take: ready token, too small, taken once",
			body: refusedOp +
				num64(`(i64.and (i64.shr_u (local.get $a) (i64.const 62)) (i64.const 1))`) +
				`(local.set $b (call $take (local.get $a) (i32.const 8192) (i32.const 1) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.and (i64.shr_u (local.get $b) (i64.const 62)) (i64.const 1))`) +
				`(local.set $c (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.extend_i32_u (i64.eq (local.get $c) (i64.and (local.get $b) (i64.const 0x3fffffffffffffff))))`) +
				num64(`(i64.and (local.get $c) (i64.const 0xffffffff))`) +
				num64(`(call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0))`) +
				// the result JSON, logged: its error code
				`(call $log (i64.const 0) (i32.const 0) (i32.const 8192) (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 32))))` + finish,
			data:   brace,
			status: check.Up, message: "1 1 1 0 -4", logs: []string{`\"code\":\"invalid\"`}},
		{name: "op: capability not granted fails the check",
			body: `(local.set $a (call $op (local.get $id) (i32.const 1) (i32.const 1024) (i32.const 25) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.and (i64.shr_u (local.get $a) (i64.const 62)) (i64.const 1))`) +
				`(local.set $c (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))` +
				`(call $log (i64.const 0) (i32.const 0) (i32.const 8192) (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 32))))` + finish,
			data:   `(data (i32.const 1024) "{\"address\":\"127.0.0.1:1\"}")`,
			status: check.Error, message: `may not use tcp.connect (capability "tcp" not granted) (the module reported: "1")`,
			logs: []string{`\"code\":\"denied\"`}},
		{name: "op: one more than the operations in flight completes with limit",
			policy: Policy{MaxOpsInFlight: 1},
			body: num64(`(i64.and (i64.shr_u (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 11) (i32.const 0) (i32.const 0)) (i64.const 62)) (i64.const 1))`) +
				`(local.set $a (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 11) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.and (i64.shr_u (local.get $a) (i64.const 62)) (i64.const 1))`) +
				`(local.set $c (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))` +
				`(call $log (i64.const 0) (i32.const 0) (i32.const 8192) (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 32))))` + finish,
			data:   `(data (i32.const 1024) "{\"ms\":5000}")`,
			status: check.Up, message: "0 1", logs: []string{`\"code\":\"limit\"`}},
		// take
		{name: "take: unknown tokens",
			body: num64(`(call $take (i64.const 0) (i32.const 8192) (i32.const 16) (i32.const 0) (i32.const 0))`) +
				num64(`(call $take (i64.const 987654) (i32.const 8192) (i32.const 16) (i32.const 0) (i32.const 0))`) + finish,
			status: check.Up, message: "-4 -4"},
		{name: "take: a result not ready yet",
			body: `(local.set $a (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 11) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.and (i64.shr_u (local.get $a) (i64.const 62)) (i64.const 1))`) +
				num64(`(call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0))`) + finish,
			data:   `(data (i32.const 1024) "{\"ms\":5000}")`,
			status: check.Up, message: "0 -4"},
		{name: "take: buffer outside memory fails the check",
			body: refusedOp +
				num64(`(call $take (local.get $a) (i32.const 65530) (i32.const 4096) (i32.const 0) (i32.const 0))`) + finish,
			data:   brace,
			status: check.Error, message: "invalid pointer or length to zappy.take"},
		// await
		{name: "await: a multiplexed module may not",
			body: refusedOp +
				num64(`(call $await (local.get $a))`) + finish,
			data:   brace,
			status: check.Up, message: "-2"},
		{name: "await: ready and unknown tokens", mode: modeBlocking,
			body: refusedOp +
				`(local.set $b (call $await (local.get $a)))` +
				`(local.set $c (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.extend_i32_u (i64.eq (local.get $b) (local.get $c)))`) +
				num64(`(call $await (i64.const 987654))`) + finish,
			data:   brace,
			status: check.Up, message: "1 -4"},
		{name: "await: an operation that completes later", mode: modeBlocking,
			body: `(local.set $a (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 9) (i32.const 0) (i32.const 0)))` +
				num64(`(i64.and (i64.shr_u (local.get $a) (i64.const 62)) (i64.const 1))`) +
				`(local.set $b (call $await (local.get $a)))` +
				num64(`(i64.extend_i32_u (i64.eq (local.get $b) (call $take (local.get $a) (i32.const 8192) (i32.const 4096) (i32.const 0) (i32.const 0))))`) +
				num64(`(i64.shr_u (local.get $b) (i64.const 32))`) + finish,
			data:   `(data (i32.const 1024) "{\"ms\":10}")`,
			status: check.Up, message: "0 1 2"},
		// done
		{name: "done: outside memory fails the check",
			body:   num32(`(call $done (local.get $id) (i32.const 65000) (i32.const 4096))`) + finish,
			status: check.Error, message: "invalid pointer or length to zappy.done"},
		{name: "done: over the result cap returns 0 and fails the check",
			policy: Policy{MaxResultBytes: 30},
			body: `(local.set $a (i64.extend_i32_s (call $done (local.get $id) (i32.const 4096) (i32.const 31))))` +
				num64(`(local.get $a)`) + `(call $logNums)`,
			status: check.Error, message: "reported a result of 31 bytes, over the sandbox cap of 30 bytes",
			logs: []string{`msg="0 "`}},
		{name: "done: a rejected result returns 0 too",
			body: `(local.set $a (i64.extend_i32_s (call $done (local.get $id) (i32.const 1024) (i32.const 2))))` +
				num64(`(local.get $a)`) + `(call $logNums)`,
			data:   `(data (i32.const 1024) "[]")`,
			status: check.Error, message: "reported a result that is not valid JSON",
			logs: []string{`msg="0 "`}},
		{name: "done: a second report is refused",
			body: `(local.set $a (i64.extend_i32_s (call $finish (local.get $id))))` +
				`(global.set $pos (i32.const 4122))` +
				num64(`(local.get $a)`) +
				num32(`(call $done (local.get $id) (i32.const 1024) (i32.const 17))`) + `(call $logNums)`,
			data:   `(data (i32.const 1024) "{\"status\":\"down\"}")`,
			status: check.Up, message: "", logs: []string{`msg="0 -2 "`}},
		// log
		{name: "log: a long line is cut, the check goes on",
			body:   `(call $log (local.get $id) (i32.const 4) (i32.const 8192) (i32.const 5000))` + finish,
			data:   `(data (i32.const 8192) "` + strings.Repeat("x", 5000) + `")`,
			status: check.Up, message: "", logs: []string{"level=WARN msg=" + strings.Repeat("x", 4096) + "… module=probe monitor=probe"}},
		{name: "log: outside memory fails the check",
			body:   `(call $log (local.get $id) (i32.const 0) (i32.const 65000) (i32.const 1000))` + finish,
			status: check.Error, message: "invalid pointer or length to zappy.log"},
		{name: "log: a long line running past memory fails the check",
			body:   `(call $log (local.get $id) (i32.const 0) (i32.const 8192) (i32.const 100000))` + finish,
			status: check.Error, message: "invalid pointer or length to zappy.log (ptr=0x2000, len=100000"},
		{name: "log: module-wide line outside memory fails nothing",
			body:   `(call $log (i64.const 0) (i32.const 0) (i32.const 65000) (i32.const 100000))` + finish,
			status: check.Up, message: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			if mode == "" {
				mode = modeMultiplexed
			}
			e, logs := testEngine(t)
			m, err := e.Load(context.Background(), "probe", probeModule(t, mode, tt.body, tt.data), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			res := m.Run(context.Background(), check.Request{Name: "probe", Type: "probe", Timeout: 2 * time.Second})
			msg := res.Message
			if strings.Contains(tt.message, "N") {
				// The input's length varies with the check's number.
				f := strings.Fields(msg)
				for i := len(f) - 1; i >= 0; i-- {
					if f[i] == f[0] {
						f[i] = "N"
					}
				}
				msg = strings.Join(f, " ")
			}
			ok := res.Status == tt.status
			if tt.status == check.Error {
				ok = ok && strings.Contains(msg, tt.message)
			} else {
				ok = ok && msg == tt.message
			}
			if !ok {
				t.Fatalf("got %s %q, want %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			for _, want := range tt.logs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs.String())
				}
			}
		})
	}
}

// TestABILoadRefusals: the module-level rules of ABI.md sections 1–3 are
// checked when a module loads, and a refusal names what is wrong.
func TestABILoadRefusals(t *testing.T) {
	exports := func(manifest string) string {
		return `(memory (export "memory") 1)
  (data (i32.const 0) ` + watString(manifest) + `)
  (func (export "zappy_abi_version") (result i32) (i32.const 1))
  (func (export "zappy_manifest") (result i64) (i64.const ` + fmt.Sprint(len(manifest)) + `))
  (func (export "zappy_start") (param i64 i32))
  (func (export "zappy_complete") (param i64 i32 i32))
  (func (export "zappy_run"))`
	}
	good := fmt.Sprintf(probeManifest, modeMultiplexed)
	tests := []struct {
		name string
		wat  string
		err  string // "" loads
	}{
		{"well-formed, no zappy_cancel", exports(good), ""},
		{"an import the host does not have", `(import "zappy" "sleep_ms" (func (param i32)))` + exports(good),
			"imports zappy.sleep_ms, which ABI v1 does not have"},
		{"an import from another module", `(import "env" "now" (func (result i64)))` + exports(good),
			"imports env.now: only the zappy and wasi_snapshot_preview1 modules are available"},
		{"a memory from another module", `(import "env" "mem" (memory 1))` + strings.Replace(exports(good), `(memory (export "memory") 1)`, `(export "memory" (memory 0))`, 1),
			"imports env.mem (a memory): only the zappy and wasi_snapshot_preview1 modules are available"},
		// wazero does not list imported globals and tables: they fail to
		// instantiate, which refuses the module too.
		{"a global from another module", `(import "env" "g" (global i32))` + exports(good),
			"module[env] not instantiated"},
		{"an import of the wrong signature", `(import "zappy" "done" (func (param i32 i32) (result i32)))` + exports(good),
			"zappy.done"},
		{"_initialize runs before zappy_abi_version",
			`(global $v (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $v (i32.const 1)))
  (memory (export "memory") 1)
  (data (i32.const 0) ` + watString(good) + `)
  (func (export "zappy_abi_version") (result i32) (global.get $v))
  (func (export "zappy_manifest") (result i64) (i64.const ` + fmt.Sprint(len(good)) + `))
  (func (export "zappy_start") (param i64 i32))
  (func (export "zappy_complete") (param i64 i32 i32))
  (func (export "zappy_run"))`, ""},
		{"mode does not match the exports", exports(fmt.Sprintf(probeManifest, modeBlocking)),
			`manifest says mode "blocking" but the module's exports are those of "multiplexed" mode`},
		{"multiplexed without zappy_run", strings.Replace(exports(good), `(func (export "zappy_run"))`, "", 1),
			"multiplexed module does not export zappy_run"},
		{"zappy_complete of the wrong signature", strings.Replace(exports(good), `(func (export "zappy_complete") (param i64 i32 i32))`, `(func (export "zappy_complete") (param i64 i32))`, 1),
			"export zappy_complete has parameters (i64, i32)"},
		{"manifest over 1 MiB", strings.Replace(exports(good), fmt.Sprintf("(i64.const %d)", len(good)), fmt.Sprintf("(i64.const %d)", 1<<20+1), 1),
			"manifest of 1048577 bytes is larger than 1 MiB"},
		{"manifest outside memory", strings.Replace(exports(good), fmt.Sprintf("(i64.const %d)", len(good)), fmt.Sprintf("(i64.const %d)", int64(0xfff0)<<32|100), 1),
			"zappy_manifest returned an invalid pointer/length"},
		{"manifest of another ABI", exports(strings.Replace(good, `"abi":1`, `"abi":2`, 1)),
			"manifest declares ABI 2; this host speaks ABI 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := testEngine(t)
			m, err := e.Load(context.Background(), "refuse", wat(t, "(module\n"+tt.wat+"\n)"), Policy{})
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err == "" && m.Manifest().Name != "probe":
				t.Fatalf("manifest %+v", m.Manifest())
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

// TestParseManifest holds the manifest rules of ABI.md section 2.
func TestParseManifest(t *testing.T) {
	tests := []struct {
		name, json, err string
	}{
		{"minimal", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"t"}]}`, ""},
		{"everything", `{"abi":1,"name":"m","version":"1.0","mode":"multiplexed","sdk":"go","future":true,
			"types":[{"name":"a.b_c-9","description":"d","schema":{"type":"object"},"capabilities":["tcp","udp","http","http3","tls","icmp","snmp"]}],
			"capabilities":["tcp"]}`, ""},
		{"not JSON", `{`, "manifest is not valid JSON"},
		{"no abi", `{"name":"m","mode":"blocking","types":[{"name":"t"}]}`, "manifest declares ABI 0"},
		{"no name", `{"abi":1,"mode":"blocking","types":[{"name":"t"}]}`, "manifest has no name"},
		{"no mode", `{"abi":1,"name":"m","types":[{"name":"t"}]}`, `manifest mode "": want "multiplexed" or "blocking"`},
		{"no types", `{"abi":1,"name":"m","mode":"blocking","types":[]}`, "manifest declares no check types"},
		{"upper-case type", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"Smtp"}]}`, `check type name "Smtp"`},
		{"type name of 65", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"` + strings.Repeat("a", 65) + `"}]}`, "check type name"},
		{"type name of 64", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"` + strings.Repeat("a", 64) + `"}]}`, ""},
		{"type twice", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"t"},{"name":"t"}]}`, `check type "t" declared twice`},
		{"unknown type capability", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"t","capabilities":["sleep"]}]}`, `check type "t" asks for unknown capability "sleep"`},
		{"unknown module capability", `{"abi":1,"name":"m","mode":"blocking","types":[{"name":"t"}],"capabilities":["fs"]}`, `manifest asks for unknown capability "fs"`},
	}
	for _, tt := range tests {
		_, err := parseManifest([]byte(tt.json))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
		}
	}
}

// TestManifestFrames: "frames" asks for input frames by version; what this
// host cannot read as a version is no error, the module gets JSON.
func TestManifestFrames(t *testing.T) {
	for _, tt := range []struct {
		frames string
		want   frameVersions
	}{{``, 0}, {`,"frames":1`, 1}, {`,"frames":2`, 2}, {`,"frames":"1"`, 0}, {`,"frames":[1,2]`, 0}, {`,"frames":1.5`, 0}, {`,"frames":null`, 0}} {
		m, err := parseManifest([]byte(`{"abi":1,"name":"m","mode":"blocking","types":[{"name":"t"}]` + tt.frames + `}`))
		if err != nil || m.Frames != tt.want {
			t.Errorf("%q: frames %d, err %v; want %d", tt.frames, m.Frames, err, tt.want)
		}
	}
}

// orderModule is a multiplexed probe module that records the calls of its
// exports (S start, R run, C complete, X cancel) and reports the record as
// its second check's message. Its first check runs the WAT in first; when
// keep, the next zappy_run runs inRun (with $first, that check's ID).
func orderModule(first string, keep bool, inRun string) string {
	man := fmt.Sprintf(probeManifest, modeMultiplexed)
	set := ""
	if keep {
		set = `(global.set $first (local.get $id))`
	}
	return `(module
  (import "zappy" "input" (func $input (param i64 i32 i32) (result i32)))
  (import "zappy" "op" (func $op (param i64 i32 i32 i32 i32 i32) (result i64)))
  (import "zappy" "done" (func $done (param i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ` + watString(man) + `)
  (data (i32.const 1024) "{\"ms\":5000}")
  (data (i32.const 2048) "{\"status\":\"up\"}")
  (data (i32.const 4096) "{\"status\":\"up\",\"message\":\"")
  (global $pos (mut i32) (i32.const 4122))
  (global $count (mut i32) (i32.const 0))
  (global $first (mut i64) (i64.const 0))
  (func $mark (param $c i32) (i32.store8 (global.get $pos) (local.get $c)) (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
  (func (export "zappy_abi_version") (result i32) (i32.const 1))
  (func (export "zappy_manifest") (result i64) (i64.const ` + fmt.Sprint(len(man)) + `))
  (func (export "zappy_start") (param $id i64) (param $n i32)
    (call $mark (i32.const 83))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (if (i32.eq (global.get $count) (i32.const 1))
      (then ` + first + set + `)
      (else
        (call $mark (i32.const 34)) (call $mark (i32.const 125))
        (drop (call $done (local.get $id) (i32.const 4096) (i32.sub (global.get $pos) (i32.const 4096)))))))
  (func (export "zappy_complete") (param i64 i32 i32) (call $mark (i32.const 67)))
  (func (export "zappy_cancel") (param i64) (call $mark (i32.const 88)))
  (func (export "zappy_run")
    (call $mark (i32.const 82))
    (if (i64.ne (global.get $first) (i64.const 0))
      (then ` + inRun + ` (global.set $first (i64.const 0)))))
)`
}

// pendingSleep starts a sleep of 5 s (operation 12) for the check $id.
const pendingSleep = `(drop (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 11) (i32.const 0) (i32.const 0)))`

// reportFirst reports up for the check $first.
const reportFirst = `(drop (call $done (global.get $first) (i32.const 2048) (i32.const 15)))`

// TestABIEndOfCheck holds section 3's order of events when a check ends
// with operations pending: the host gives up on it (its deadline passes
// without a report): they complete (zappy_complete) before zappy_cancel;
// the module reports from zappy_run: they complete too, and zappy_cancel is
// not called. The module marks each call of an export in a string (S
// start, R run, C complete, X cancel), which a second check reports.
func TestABIEndOfCheck(t *testing.T) {
	for _, report := range []bool{false, true} {
		t.Run(fmt.Sprintf("reported=%v", report), func(t *testing.T) {
			e, _ := testEngine(t)
			m, err := e.Load(context.Background(), "order", wat(t, orderModule(pendingSleep, report, reportFirst)), Policy{})
			if err != nil {
				t.Fatal(err)
			}
			first := m.Run(context.Background(), check.Request{Name: "first", Type: "probe", Timeout: 100 * time.Millisecond})
			if want := map[bool]check.Status{false: check.Error, true: check.Up}[report]; first.Status != want {
				t.Fatalf("first check: %s %q, want %s", first.Status, first.Message, want)
			}
			time.Sleep(100 * time.Millisecond) // the cleanup runs on a goroutine of its own
			seq := m.Run(context.Background(), check.Request{Name: "second", Type: "probe", Timeout: time.Second}).Message
			c, x := strings.Index(seq, "C"), strings.Index(seq, "X")
			switch {
			case !strings.HasPrefix(seq, "SR") || !strings.HasSuffix(seq, "S") || c < 0:
				t.Fatalf("calls %q: the pending operation did not complete", seq)
			case report && x >= 0:
				t.Fatalf("calls %q: zappy_cancel after the module reported", seq)
			case !report && (x < 0 || x < c || strings.Count(seq, "X") != 1):
				t.Fatalf("calls %q: want one zappy_cancel after the completion", seq)
			}
			t.Logf("calls %q", seq)
		})
	}
}

// TestABIBlockingPoolFull: a blocking module's check that finds no free
// instance before its deadline fails (section 3).
func TestABIBlockingPoolFull(t *testing.T) {
	e, _ := testEngine(t)
	body := `(drop (call $await (call $op (local.get $id) (i32.const 12) (i32.const 1024) (i32.const 10) (i32.const 0) (i32.const 0))))` +
		`(drop (call $finish (local.get $id)))`
	m, err := e.Load(context.Background(), "probe", probeModule(t, modeBlocking, body, `(data (i32.const 1024) "{\"ms\":500}")`), Policy{MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	busy := make(chan check.Result, 1)
	m.Start(context.Background(), check.Request{Name: "busy", Type: "probe", Timeout: 5 * time.Second}, func(r check.Result) { busy <- r })
	time.Sleep(50 * time.Millisecond)
	res := m.Run(context.Background(), check.Request{Name: "waits", Type: "probe", Timeout: 100 * time.Millisecond})
	if want := "no free instance of module probe before the deadline (1 in use)"; res.Status != check.Error || !strings.Contains(res.Message, want) {
		t.Fatalf("got %s %q, want error containing %q", res.Status, res.Message, want)
	}
	if r := <-busy; r.Status != check.Up {
		t.Fatalf("the busy check: %s %q", r.Status, r.Message)
	}
}

// neverCompletes makes operation 12 (sleep) one that never completes, not
// even when its check ends, for the rest of the test: an operation that
// breaks its contract, and one that leaves no completion behind to be
// delivered later.
func neverCompletes(t testing.TB) {
	t.Helper()
	old := hostfuncs.Ops[12]
	hostfuncs.Ops[12] = &hostfuncs.Op{ID: 12, Name: "never", PrepareStart: func(hostfuncs.Env, []byte, []byte) (hostfuncs.Start, error) {
		return func(context.Context, hostfuncs.Done) {}, nil
	}}
	t.Cleanup(func() { hostfuncs.Ops[12] = old })
}

// TestABIRunFollowsEveryBatch: every batch of calls into a multiplexed
// module is followed by zappy_run (section 3), including the calls a check
// that ended during zappy_run needs (its pending operations completed as
// canceled, zappy_cancel); a check that just reports costs no extra
// zappy_run. The module records its exports' calls (S start, C complete, X
// cancel, R run) and the second check reports the record.
func TestABIRunFollowsEveryBatch(t *testing.T) {
	neverCompletes(t)
	// In zappy_run, the first check reports (done) or passes a pointer
	// outside memory (fault), with or without an operation pending.
	const (
		done  = reportFirst
		fault = `(drop (call $input (global.get $first) (i32.const 65500) (i32.const 32768)))`
	)
	tests := []struct {
		name    string
		inRun   string
		pending bool
		status  check.Status
		calls   string
	}{
		{"reports", done, false, check.Up, "SRS"},
		{"reports, an operation pending", done, true, check.Up, "SRCRS"},
		{"faults", fault, false, check.Error, "SRXRS"},
		{"faults, an operation pending", fault, true, check.Error, "SRCXRS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := ""
			if tt.pending {
				op = pendingSleep
			}
			src := orderModule(op, true, tt.inRun)
			e, _ := testEngine(t)
			m, err := e.Load(context.Background(), "order", wat(t, src), Policy{})
			if err != nil {
				t.Fatal(err)
			}
			// The caller's goroutine drives the instance: by the time Run
			// returns, the first check's calls are all made.
			first := m.Run(context.Background(), check.Request{Name: "first", Type: "probe", Timeout: 5 * time.Second})
			if first.Status != tt.status {
				t.Fatalf("first check: %s %q, want %s", first.Status, first.Message, tt.status)
			}
			second := m.Run(context.Background(), check.Request{Name: "second", Type: "probe", Timeout: 5 * time.Second})
			if second.Status != check.Up || second.Message != tt.calls {
				t.Fatalf("calls %s %q, want %q", second.Status, second.Message, tt.calls)
			}
		})
	}
}
