package builtin_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

// leanModule compiles testdata/leanc/tcpprobe.c (a connect-only tcp check
// in C, Debian: clang lld wasi-libc) and loads it trusted, as the built-ins
// are.
func leanModule(tb testing.TB) *engine.Module {
	tb.Helper()
	wasm := testutil.CompileC(tb, "testdata/leanc/tcpprobe.c")
	e, err := engine.New(engine.Options{CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	m, err := e.Load(context.Background(), "leanc", wasm, engine.Policy{Trusted: true})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestLeanCMatchesBuiltin holds the C module to the built-in tcp type's
// result for a connect-only check (status, message shape, metric, fields),
// so that BenchmarkTCPCheckLeanC compares like with like, and to a refusal.
func TestLeanCMatchesBuiltin(t *testing.T) {
	lean, builtin := leanModule(t), newModule(t)
	addr := acceptAndClose(t)
	req := check.Request{Name: "cmp", Type: "tcp", Target: "tcp://" + addr, Timeout: 5 * time.Second}
	a, b := lean.Run(context.Background(), req), builtin.Run(context.Background(), req)
	shape := func(r check.Result) string {
		msg := strings.Fields(r.Message)
		if len(msg) == 6 {
			msg[4] = "N" // the connect time
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range r.Fields {
				if !yield(k) {
					return
				}
			}
		})
		var metrics []string
		for _, m := range r.Metrics {
			metrics = append(metrics, m.Name+"/"+m.Unit)
		}
		return fmt.Sprint(r.Status, r.Class, msg, keys, metrics, r.Fields["remote"])
	}
	if shape(a) != shape(b) {
		t.Fatalf("C module and built-in differ:\nC:       %s\nbuiltin: %s", shape(a), shape(b))
	}
	if ms, ok := a.Fields["connect_ms"].(float64); !ok || ms <= 0 || ms != a.LatencyMS || !reflect.DeepEqual(a.Metrics[0].Value, ms) {
		t.Fatalf("C module's connect_ms %v, latency %v, metric %v", a.Fields["connect_ms"], a.LatencyMS, a.Metrics)
	}
	refused := check.Request{Name: "cmp", Type: "tcp", Target: "tcp://" + closedPort(t, "tcp"), Timeout: 5 * time.Second}
	if r := lean.Run(context.Background(), refused); r.Status != check.Down || !strings.Contains(r.Message, "refused") {
		t.Fatalf("C module on a closed port: %s %q", r.Status, r.Message)
	}
}

// BenchmarkTCPCheckLeanC is BenchmarkTCPCheckBuiltin with the same check
// written in C: the engine and host cost with a guest that costs next to
// nothing. BenchmarkTCPCheckBuiltin minus this is the Go guest's cost.
func BenchmarkTCPCheckLeanC(b *testing.B) { benchTCPCheck(b, leanModule(b)) }
