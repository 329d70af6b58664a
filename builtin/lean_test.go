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

// leanModule loads a lean connect-only tcp module trusted, as the
// built-ins are: "c" is testdata/leanc/tcpprobe.c (clang, Debian: clang lld
// wasi-libc), "go" testdata/leango (plain Go, no SDK).
func leanModule(tb testing.TB, lang string) *engine.Module {
	tb.Helper()
	var wasm []byte
	switch lang {
	case "c":
		wasm = testutil.CompileC(tb, "testdata/leanc/tcpprobe.c")
	case "go":
		wasm = testutil.BuildGo(tb, "./testdata/leango")
	default:
		tb.Fatalf("no lean module in %q", lang)
	}
	e, err := engine.New(engine.Options{CacheDir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(context.Background()) })
	m, err := e.Load(context.Background(), "lean"+lang, wasm, engine.Policy{Trusted: true})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestLeanMatchesBuiltin holds the lean modules to the built-in tcp type's
// result for a connect-only check (status, message shape, metric, fields),
// so that BenchmarkTCPCheckLeanC and BenchmarkTCPCheckLeanGo compare like
// with like, and to a refusal.
func TestLeanMatchesBuiltin(t *testing.T) {
	builtin := newModule(t)
	addr := acceptAndClose(t)
	req := check.Request{Name: "cmp", Type: "tcp", Target: "tcp://" + addr, Timeout: 5 * time.Second}
	want := builtin.Run(context.Background(), req)
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
	for _, lang := range []string{"c", "go"} {
		t.Run(lang, func(t *testing.T) {
			lean := leanModule(t, lang)
			a := lean.Run(context.Background(), req)
			if shape(a) != shape(want) {
				t.Fatalf("lean module and built-in differ:\nlean:    %s\nbuiltin: %s", shape(a), shape(want))
			}
			if ms, ok := a.Fields["connect_ms"].(float64); !ok || ms <= 0 || ms != a.LatencyMS || !reflect.DeepEqual(a.Metrics[0].Value, ms) {
				t.Fatalf("lean module's connect_ms %v, latency %v, metric %v", a.Fields["connect_ms"], a.LatencyMS, a.Metrics)
			}
			refused := check.Request{Name: "cmp", Type: "tcp", Target: "tcp://" + closedPort(t, "tcp"), Timeout: 5 * time.Second}
			if r := lean.Run(context.Background(), refused); r.Status != check.Down || !strings.Contains(r.Message, "refused") {
				t.Fatalf("lean module on a closed port: %s %q", r.Status, r.Message)
			}
		})
	}
}

// BenchmarkTCPCheckLeanC is BenchmarkTCPCheckBuiltin with the same check
// written in C: the engine and host cost with a guest that costs next to
// nothing. BenchmarkTCPCheckBuiltin minus this is the Go guest's cost.
func BenchmarkTCPCheckLeanC(b *testing.B) { benchTCPCheck(b, leanModule(b, "c")) }

// BenchmarkTCPCheckLeanGo is the same check in plain Go, without the SDK:
// what Go compiled to wasm costs when it does only what the C module does.
func BenchmarkTCPCheckLeanGo(b *testing.B) { benchTCPCheck(b, leanModule(b, "go")) }
