//go:build wasip1

// A multiplexed check module in plain Go (no SDK) that does what the
// built-in tcp type does for a connect-only check, with the same result —
// the Go twin of ../leanc/tcpprobe.c: read the input, start tcp.connect with
// close, and report "connected to REMOTE in N ms" with the connect_ms metric
// and the remote and connect_ms fields, in static buffers, with no JSON
// parser and no allocation per check. It exists for BenchmarkTCPCheckLeanGo:
// Go compiled to wasm by the standard toolchain, without the SDK's
// generality (docs/PERFORMANCE.md). Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o leango.wasm ./builtin/testdata/leango
package main

import (
	"bytes"
	"unsafe"
)

//go:wasmimport zappy input
func zInput(check int64, ptr unsafe.Pointer, cap int32) int32

//go:wasmimport zappy op
func zOp(check int64, op int32, req unsafe.Pointer, reqLen int32, data unsafe.Pointer, dataLen int32) int64

//go:wasmimport zappy take
func zTake(tok int64, js unsafe.Pointer, jsCap int32, data unsafe.Pointer, dataCap int32) int64

//go:wasmimport zappy done
func zDone(check int64, ptr unsafe.Pointer, n int32) int32

const (
	ready     = int64(1) << 62 // op completed at once: take it now
	opConnect = 1              // tcp.connect (sdk/ABI.md, "Operations")
)

var manifest = []byte(`{"abi":1,"name":"leango","version":"1.0.0","mode":"multiplexed","types":[{"name":"tcp","capabilities":["tcp"]}]}`)

//go:wasmexport zappy_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport zappy_manifest
func zManifest() int64 {
	return int64(uintptr(unsafe.Pointer(&manifest[0])))<<32 | int64(len(manifest))
}

// Calls into a module never overlap (sdk/ABI.md, "Multiplexed"), so one set
// of buffers serves every check.
var (
	in, out, req [4096]byte
	pending      = map[int64]int64{} // token -> check
)

// value finds "key": in flat JSON and returns a string value's text
// (escapes left as they are: it goes back into JSON) or a number's.
func value(js []byte, key string) []byte {
	var pat [40]byte
	p := append(append(append(pat[:0], '"'), key...), '"', ':')
	i := bytes.Index(js, p)
	if i < 0 {
		return nil
	}
	v := js[i+len(p):]
	if len(v) > 0 && v[0] == '"' {
		for j := 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
			case '"':
				return v[1:j]
			}
		}
		return nil
	}
	if j := bytes.IndexAny(v, ",}"); j >= 0 {
		return v[:j]
	}
	return nil
}

func done(check int64, b []byte) { zDone(check, unsafe.Pointer(&b[0]), int32(len(b))) }

func report(check, tok int64) {
	r := zTake(tok, unsafe.Pointer(&in[0]), int32(len(in)), nil, 0)
	if r < 0 || r&ready != 0 {
		done(check, []byte(`{"status":"error","message":"cannot take the tcp.connect result"}`))
		return
	}
	js := in[:r>>32&0x7fffffff]
	if bytes.Contains(js, []byte(`"error":`)) {
		o := append(out[:0], `{"status":"down","message":"`...)
		o = append(o, value(js, "message")...)
		done(check, append(o, `"}`...))
		return
	}
	remote, ms := value(js, "remote"), value(js, "connect_ms")
	o := append(out[:0], `{"status":"up","message":"connected to `...)
	o = append(append(append(o, remote...), " in "...), ms...)
	o = append(append(o, ` ms","latency_ms":`...), ms...)
	o = append(append(o, `,"metrics":[{"name":"connect_ms","value":`...), ms...)
	o = append(append(o, `,"unit":"ms"}],"fields":{"connect_ms":`...), ms...)
	o = append(append(o, `,"remote":"`...), remote...)
	done(check, append(o, `"}}`...))
}

//go:wasmexport zappy_start
func start(check int64, inputLen int32) {
	n := zInput(check, unsafe.Pointer(&in[0]), int32(len(in)))
	if n < 0 || int(n) > len(in) {
		done(check, []byte(`{"status":"error","message":"check input too large for this module"}`))
		return
	}
	addr := value(in[:n], "target")
	if i := bytes.Index(addr, []byte("://")); i >= 0 {
		addr = addr[i+3:]
	}
	q := append(append(req[:0], `{"address":"`...), addr...)
	q = append(q, `","close":true}`...)
	tok := zOp(check, opConnect, unsafe.Pointer(&q[0]), int32(len(q)), nil, 0)
	switch {
	case tok < 0:
		done(check, []byte(`{"status":"error","message":"tcp.connect refused by the host"}`))
	case tok&ready != 0:
		report(check, tok)
	default:
		pending[tok] = check
	}
}

//go:wasmexport zappy_complete
func complete(tok int64, jsonLen, dataLen int32) {
	if check, ok := pending[tok]; ok {
		delete(pending, tok)
		report(check, tok)
	}
}

//go:wasmexport zappy_cancel
func cancel(check int64) {}

//go:wasmexport zappy_run
func run() {}

func main() {}
