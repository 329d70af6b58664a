//go:build wasip1 && !tinygo && !zappy_blocking

package zappy

// Benchmarks of the SDK inside WebAssembly, without the engine: a check's
// whole guest path and its parts, timed by the Go benchmark harness inside
// the module, free of the kernel's and the host's noise. They need the
// "zappy" host functions, which internal/tools/wasmbench stubs:
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o /tmp/sdk.wasm ./sdk/go
//	go run ./internal/tools/wasmbench /tmp/sdk.wasm -test.run '^$' -test.bench Guest -test.benchmem
//
// The stub host answers zappy.input with guestbench.Input, every operation
// at once (ready), and zappy.take with guestbench.ConnectResult: what the
// built-in tcp type sees for a connect-only check.

import (
	"strconv"
	"testing"

	"github.com/zappy-mon/zappy/internal/guestbench"
	"github.com/zappy-mon/zappy/sdk/go/internal/hostindex"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// probeCheck is the built-in tcp type's connect-only path.
func probeCheck(c *Check, done func(Result)) {
	if c.Config.Get("send").Exists() || c.Config.Get("expect").Str() != "" {
		done(ErrorMsg("not a connect-only check"))
		return
	}
	c.ProbeTCPThen(c.Target, nil, func(info *ConnectInfo, err error) {
		if err != nil {
			done(Down(err))
			return
		}
		r := Up("connected to "+info.Remote+" in 0.216 ms").With("remote", info.Remote).WithFloat("connect_ms", info.ConnectMS)
		r = r.Metric("connect_ms", info.ConnectMS, "ms")
		r.LatencyMS = info.ConnectMS
		done(r)
	})
}

// BenchmarkGuestCheck runs a whole connect-only check: zappy_start reads
// and parses the input, the check starts tcp.connect, takes and parses its
// (ready) result, builds its result and reports it.
func BenchmarkGuestCheck(b *testing.B) {
	RegisterThen(Type{Name: "tcp"}, probeCheck)
	b.ReportAllocs()
	for b.Loop() {
		exportStart(1, int32(len(guestbench.Input)))
	}
}

// BenchmarkGuestParseInput reads the check's input from the host, a frame.
func BenchmarkGuestParseInput(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readInput(1, 2048); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuestParseInputJSON reads the JSON form (a host without frames).
func BenchmarkGuestParseInputJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := inputDoc.Parse(guestbench.Input)
		if err != nil {
			b.Fatal(err)
		}
		checkFrom(v)
	}
}

func BenchmarkGuestConnectResult(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := zjson.ParseCopy(guestbench.ConnectResult)
		if err != nil {
			b.Fatal(err)
		}
		connectInfoFrom(v)
	}
}

func BenchmarkGuestRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		putWriter(dialRequest("tcp://127.0.0.1:36137", nil, true))
	}
}

// benchResult is the tcp type's result for a connect-only check.
func benchResult() Result {
	r := Up("connected to 127.0.0.1:36137 in 0.216 ms").With("remote", "127.0.0.1:36137").WithFloat("connect_ms", 0.216)
	r = r.Metric("connect_ms", 0.216, "ms")
	r.LatencyMS = 0.216
	return r
}

// BenchmarkGuestResult builds the result and encodes it as a frame.
func BenchmarkGuestResult(b *testing.B) {
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		r := benchResult()
		buf, _ = r.appendFrame(buf[:0])
	}
}

// BenchmarkGuestResultJSON encodes it as JSON (a host without frames).
func BenchmarkGuestResultJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := benchResult()
		w := getWriter()
		r.MarshalZJSON(w)
		putWriter(w)
	}
}

// BenchmarkGuestParseWalk reads an SNMP walk result of 1,000 varbinds (~75
// KB) through the host's index (the SDK's way) and by parsing it in wasm.
func BenchmarkGuestParseWalk(b *testing.B) {
	w := zjson.Writer{}
	w.ObjectStart()
	w.Key("varbinds")
	w.ArrayStart()
	for i := range 1000 {
		w.ObjectStart()
		w.Key("oid")
		w.String(".1.3.6.1.2.1.2.2.1.10." + strconv.Itoa(i))
		w.Key("type")
		w.String("Counter32")
		w.Key("value")
		w.Int(int64(i) * 7919)
		w.ObjectEnd()
	}
	w.ArrayEnd()
	w.ObjectEnd()
	doc := w.Bytes()
	read := func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			v, err := zjson.Parse(doc)
			if err != nil {
				b.Fatal(err)
			}
			var sum int64
			for _, vb := range v.Get("varbinds").Array() {
				sum += vb.Get("value").Int()
			}
			if sum == 0 {
				b.Fatal("no values")
			}
		}
	}
	b.Run("index", read)
	b.Run("wasm", func(b *testing.B) {
		f := hostindex.Func
		hostindex.Func = nil
		defer func() { hostindex.Func = f }()
		read(b)
	})
}

// BenchmarkGuestRun is zappy_run with nothing to run, the host calls it
// after every batch of starts and completions: the path through the
// scheduler metric, since the test binary has goroutines of its own (a
// module whose checks are all callbacks has none, and skips the metric).
func BenchmarkGuestRun(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		exportRun()
	}
}
