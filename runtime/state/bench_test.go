package state

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// benchUpdate is what one typical finished check writes: state, a history
// row with a metric, and on every tenth check a notification.
func benchUpdate(i int) Update {
	name := fmt.Sprintf("mon%03d", i%500)
	u := Update{
		Monitor: &MonitorState{Name: name, IsUp: true, Status: check.Up, LastChecked: t0.Add(time.Duration(i)),
			RecentStatuses: "uuuuuuuuuu", ModuleState: []byte(`{"etag":"abc"}`)},
		History: &HistoryRow{Monitor: name, At: t0.Add(time.Duration(i)), Status: check.Up, Class: check.Success,
			LatencyMS: 12.5, Message: "200 OK", Attempts: 1, Metrics: []check.Metric{{Name: "total_ms", Value: 12.5, Unit: "ms"}}},
	}
	if i%10 == 0 {
		u.Outbox = []OutboxItem{{Channel: "mail", Monitor: name, Kind: "recovery", Payload: []byte(`{"text":"up"}`)}}
	}
	return u
}

// BenchmarkApplySingle commits one update per transaction: the cost the
// Writer exists to avoid.
func BenchmarkApplySingle(b *testing.B) {
	s, _ := openTest(b)
	i := 0
	for b.Loop() {
		if err := s.Apply(ctx, []Update{benchUpdate(i)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkWriter pushes updates from 16 goroutines through group commit
// and waits for each to be durable.
func BenchmarkWriter(b *testing.B) {
	for _, cfg := range []struct {
		batch int
		delay time.Duration
	}{{256, 0}, {256, 2 * time.Millisecond}, {1024, 5 * time.Millisecond}} {
		b.Run(fmt.Sprintf("batch=%d/delay=%v", cfg.batch, cfg.delay), func(b *testing.B) {
			s, _ := openTest(b)
			w := s.NewWriter(cfg.batch, cfg.delay)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failed error
			done := func(err error) {
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
				wg.Done()
			}
			b.ResetTimer()
			const producers = 16
			n := b.N
			var prod sync.WaitGroup
			for p := range producers {
				prod.Add(1)
				go func() {
					defer prod.Done()
					for i := p; i < n; i += producers {
						wg.Add(1)
						w.Submit(benchUpdate(i), done)
					}
				}()
			}
			prod.Wait()
			wg.Wait()
			b.StopTimer()
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			if failed != nil {
				b.Fatal(failed)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "updates/s")
		})
	}
}
