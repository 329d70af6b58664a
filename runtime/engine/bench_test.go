package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
)

// BenchmarkNoopCheck measures the engine's own cost per check: a check type
// that does no I/O at all, 64 in flight, through a trusted multiplexed Go
// module. It is the floor under every check's overhead (docs/PERFORMANCE.md).
func BenchmarkNoopCheck(b *testing.B) {
	b.Run("trusted", func(b *testing.B) { benchNoop(b, Policy{Trusted: true}) })
	// Untrusted modules are compiled with termination checks at every loop
	// header and function entry, so that an endless loop can be stopped.
	b.Run("sandboxed", func(b *testing.B) { benchNoop(b, Policy{}) })
}

func benchNoop(b *testing.B, p Policy) {
	e, _ := testEngine(b)
	m := load(b, e, "hostile", p)
	m.Run(context.Background(), check.Request{Type: "state", Timeout: time.Second})
	var wg sync.WaitGroup
	slots := make(chan struct{}, 64)
	c0 := testutil.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slots <- struct{}{}
		wg.Add(1)
		m.Start(context.Background(), check.Request{Name: "n", Type: "state", Timeout: 5 * time.Second}, func(r check.Result) {
			if r.Status != check.Up {
				b.Error(r.Message)
			}
			<-slots
			wg.Done()
		})
	}
	wg.Wait()
	b.ReportMetric(float64(testutil.CPUTime()-c0)/float64(b.N), "cpu-ns/op")
}
