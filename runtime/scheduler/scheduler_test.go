package scheduler

import (
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

type recorder struct {
	mu   sync.Mutex
	runs map[string][]time.Time
	wg   sync.WaitGroup
}

func (r *recorder) job(id string) Job {
	return func(when time.Time) {
		r.mu.Lock()
		r.runs[id] = append(r.runs[id], when)
		r.mu.Unlock()
		r.wg.Done()
	}
}

func TestIntervalsPhasesAndRunNow(t *testing.T) {
	c := NewFakeClock(t0)
	s := New(c)
	c.Settle = s.Wait
	r := &recorder{runs: map[string][]time.Time{}}
	phase := Phase("b", 15*time.Second)
	var wantB []time.Time
	for at := t0.Add(phase); !at.After(t0.Add(25 * time.Second)); at = at.Add(15 * time.Second) {
		wantB = append(wantB, at)
	}
	wantB = append(wantB, t0.Add(25*time.Second)) // RunNow
	r.wg.Add(3 + len(wantB))
	s.Add("a", Spec{Every: 10 * time.Second, First: t0}, r.job("a"))
	s.Add("b", Spec{Every: 15 * time.Second}, r.job("b"))
	c.Advance(25 * time.Second)
	s.Wait() // a run still in progress would make the RunNow fire be skipped
	s.RunNow("b")
	c.Advance(0)
	r.wg.Wait()
	wantA := []time.Time{t0, t0.Add(10 * time.Second), t0.Add(20 * time.Second)}
	if got := r.runs["a"]; len(got) != 3 || !got[0].Equal(wantA[0]) || !got[1].Equal(wantA[1]) || !got[2].Equal(wantA[2]) {
		t.Fatalf("a ran at %v, want %v", got, wantA)
	}
	b := r.runs["b"]
	sort.Slice(b, func(i, j int) bool { return b[i].Before(b[j]) })
	for i := range wantB {
		if i >= len(b) || !b[i].Equal(wantB[i]) {
			t.Fatalf("b ran at %v, want %v (phase %v)", b, wantB, phase)
		}
	}
	// After RunNow the cadence continues from that run.
	if next, _ := s.Next("b"); !next.Equal(t0.Add(40 * time.Second)) {
		t.Fatalf("b next %v", next)
	}
}

func TestPhaseSpreadsAndIsStable(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 1000; i++ {
		p := Phase(string(rune('a'+i%26))+time.Duration(i).String(), time.Minute)
		if p < 0 || p >= time.Minute {
			t.Fatalf("phase %v out of range", p)
		}
		seen[p/time.Second] = true
	}
	if len(seen) < 50 {
		t.Fatalf("phases bunch up: %d distinct seconds of 60", len(seen))
	}
	// Stable across processes: a restart keeps every monitor's phase.
	if got := Phase("web-frontend", time.Minute); got != 31768009312 {
		t.Fatalf("phase of web-frontend = %d, want the value it has always had", got)
	}
}

func TestCronAndJitter(t *testing.T) {
	c := NewFakeClock(t0.Add(30 * time.Second))
	s := New(c)
	c.Settle = s.Wait
	sched, err := cron.ParseStandard("*/5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{runs: map[string][]time.Time{}}
	r.wg.Add(2)
	s.Add("c", Spec{Cron: sched}, r.job("c"))
	c.Advance(10 * time.Minute)
	r.wg.Wait()
	if got := r.runs["c"]; len(got) != 2 || !got[0].Equal(t0.Add(5*time.Minute)) || !got[1].Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("cron runs %v", got)
	}
	// Jitter delays a run by less than the jitter.
	var fired atomic.Int64
	s.Add("j", Spec{Every: time.Minute, Jitter: 20 * time.Second, First: c.Now()}, func(time.Time) { fired.Add(1) })
	next, _ := s.Next("j")
	if d := next.Sub(c.Now()); d < 0 || d >= 20*time.Second {
		t.Fatalf("jittered first run %v after now", d)
	}
}

func TestRunningJobIsNotStartedTwice(t *testing.T) {
	c := NewFakeClock(t0)
	s := New(c)
	release := make(chan struct{})
	var runs atomic.Int64
	started := make(chan struct{}, 10)
	s.Add("slow", Spec{Every: time.Second, First: t0}, func(time.Time) {
		runs.Add(1)
		started <- struct{}{}
		<-release
	})
	c.Advance(0)
	<-started
	c.Advance(3 * time.Second) // three fires while the first run is still going
	close(release)
	s.Wait()
	if runs.Load() != 1 || s.Stats().Skipped != 3 {
		t.Fatalf("runs %d, skipped %d", runs.Load(), s.Stats().Skipped)
	}
}

func TestRemoveAndReplace(t *testing.T) {
	c := NewFakeClock(t0)
	s := New(c)
	var runs atomic.Int64
	s.Add("x", Spec{Every: time.Second, First: t0.Add(time.Second)}, func(time.Time) { runs.Add(1) })
	s.Remove("x")
	c.Advance(5 * time.Second)
	if runs.Load() != 0 || s.Len() != 0 {
		t.Fatalf("removed job ran %d times", runs.Load())
	}
	done := make(chan struct{}, 1)
	s.Add("x", Spec{Every: time.Second, First: c.Now().Add(time.Second)}, func(time.Time) { done <- struct{}{} })
	s.Add("x", Spec{Every: time.Hour, First: c.Now().Add(time.Hour)}, func(time.Time) { done <- struct{}{} })
	c.Advance(10 * time.Second)
	select {
	case <-done:
		t.Fatal("replaced job kept its old schedule")
	case <-time.After(20 * time.Millisecond):
	}
}

func TestMissedRunsAreNotReplayed(t *testing.T) {
	c := NewFakeClock(t0)
	s := New(c)
	s.Add("m", Spec{Every: 10 * time.Second, First: t0.Add(10 * time.Second)}, func(time.Time) {})
	s.mu.Lock()
	e := s.jobs["m"]
	s.advance(e, t0.Add(95*time.Second))
	s.mu.Unlock()
	if !e.next.Equal(t0.Add(100 * time.Second)) {
		t.Fatalf("next after a long pause: %v", e.next)
	}
}

// BenchmarkLateness schedules 10,000 jobs every 10 s (1,000 runs a second,
// the load of issue 3's acceptance) on the real clock and reports how late
// they start: p50, p99 and max, and how early the earliest started.
func BenchmarkLateness(b *testing.B) {
	const jobs = 10000
	every := 10 * time.Second
	s := New(nil)
	var mu sync.Mutex
	var lates []time.Duration
	s.Late = func(_ string, late time.Duration) {
		mu.Lock()
		lates = append(lates, late)
		mu.Unlock()
	}
	var count atomic.Int64
	total := int64(b.N)
	done := make(chan struct{})
	// Jobs start after the adding is done, each at its phase within the
	// interval, as the daemon's first runs are spread.
	start := time.Now().Add(200 * time.Millisecond)
	for i := 0; i < jobs; i++ {
		id := "monitor-" + time.Duration(i).String()
		s.Add(id, Spec{Every: every, First: start.Add(Phase(id, every))}, func(time.Time) {
			if count.Add(1) == total {
				close(done)
			}
		})
	}
	b.ResetTimer()
	<-done
	b.StopTimer()
	s.Stop()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lates, func(i, j int) bool { return lates[i] < lates[j] })
	// Lateness counts late starts; a start up to Early ahead of time is on
	// time, and how early the earliest was is reported beside.
	pct := func(p float64) float64 { return float64(max(lates[int(p*float64(len(lates)-1))], 0)) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(max(-lates[0], 0))/1e6, "max-early-ms")
}
