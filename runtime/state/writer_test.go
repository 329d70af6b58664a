package state

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func writerUpdate(id string) Update {
	return Update{
		Monitor: &MonitorState{Name: id, DownCount: 1},
		History: &HistoryRow{Monitor: id, At: t0, Message: id},
		Outbox:  []OutboxItem{{ID: id, Channel: "c", Monitor: id}},
	}
}

func TestWriterCommitsEverything(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		maxDelay time.Duration
	}{
		{"batches", 64, time.Millisecond},
		{"no delay", 64, 0},
		{"batch of one", 0, -time.Second}, // normalized to 1 and 0
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			w := s.NewWriter(tt.maxBatch, tt.maxDelay)
			const n = 500
			errs := make([]error, n)
			called := make([]int, n)
			var wg sync.WaitGroup
			for g := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < n; i += 5 {
						w.Submit(writerUpdate(fmt.Sprintf("u%04d", i)), func(err error) {
							errs[i] = err
							called[i]++
						})
					}
				}()
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if called[i] != 1 || errs[i] != nil {
					t.Fatalf("update %d: done called %d times, error %v", i, called[i], errs[i])
				}
			}
			if c := countAll(t, s); c != (counts{n, n, n}) {
				t.Errorf("stored %+v, want %d of each", c, n)
			}
		})
	}
}

// TestWriterBadUpdateFailsAlone puts one bad update in a batch with good
// ones: only its submitter hears of the failure.
func TestWriterBadUpdateFailsAlone(t *testing.T) {
	s, _ := openTest(t)
	apply(t, s, writerUpdate("dup"))
	w := s.NewWriter(3, time.Hour) // the batch commits when the third arrives
	var mu sync.Mutex
	results := map[string]string{}
	var wg sync.WaitGroup
	for _, id := range []string{"good1", "dup", "good2"} {
		wg.Add(1)
		w.Submit(writerUpdate(id), func(err error) {
			mu.Lock()
			results[id] = errString(err)
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	want := map[string]string{
		"good1": "",
		"dup":   `state: apply: update 0: outbox item "dup": constraint failed: UNIQUE constraint failed: outbox.id (1555)`,
		"good2": "",
	}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Errorf("results:\n got %q\nwant %q", results, want)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, id := range []string{"good1", "good2"} {
		if _, ok, _ := s.Monitor(ctx, id); !ok {
			t.Errorf("%s not stored", id)
		}
	}
}

func TestWriterWaitsForBatchAndCloseFlushes(t *testing.T) {
	s, _ := openTest(t)
	w := s.NewWriter(100, time.Hour)
	var mu sync.Mutex
	var done []string
	for _, id := range []string{"a", "b", "c"} {
		w.Submit(writerUpdate(id), func(err error) {
			mu.Lock()
			done = append(done, id+":"+errString(err))
			mu.Unlock()
		})
	}
	// The batch is neither full nor due: nothing is committed yet.
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	early := len(done)
	mu.Unlock()
	if early != 0 {
		t.Errorf("%d updates committed before the batch was full or due", early)
	}
	if c := countAll(t, s); c != (counts{}) {
		t.Errorf("stored before Close: %+v", c)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(done) != "[a: b: c:]" {
		t.Errorf("done after Close: %q", done)
	}
	if c := countAll(t, s); c != (counts{3, 3, 3}) {
		t.Errorf("stored after Close: %+v", c)
	}
}

func TestWriterClose(t *testing.T) {
	s, _ := openTest(t)
	apply(t, s, writerUpdate("dup"))
	w := s.NewWriter(10, time.Hour)
	var got error
	w.Submit(writerUpdate("dup"), func(err error) { got = err })
	w.Submit(writerUpdate("fine"), nil) // a nil done is allowed
	// Close reports what failed in the batches it flushed.
	err := w.Close()
	want := `state: apply: update 0: outbox item "dup": constraint failed: UNIQUE constraint failed: outbox.id (1555)`
	if errString(err) != want || errString(got) != want {
		t.Errorf("Close = %q, done got %q; want %q", errString(err), errString(got), want)
	}
	if _, ok, _ := s.Monitor(ctx, "fine"); !ok {
		t.Errorf("update with nil done not stored")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	var after error
	w.Submit(writerUpdate("late"), func(err error) { after = err })
	if errString(after) != "state: writer is closed" {
		t.Errorf("Submit after Close: done got %v", after)
	}
	if _, ok, _ := s.Monitor(ctx, "late"); ok {
		t.Errorf("update submitted after Close was stored")
	}
}

// TestWriterFillsIDs checks that a submitter can learn a generated outbox
// ID from its own Update once done is called.
func TestWriterFillsIDs(t *testing.T) {
	s, _ := openTest(t)
	w := s.NewWriter(4, 0)
	u := Update{Outbox: []OutboxItem{{Channel: "c"}}}
	ch := make(chan error, 1)
	w.Submit(u, func(err error) { ch <- err })
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	w.Close()
	due, _ := s.DueOutbox(ctx, time.Now(), 0)
	if len(due) != 1 || !validID(u.Outbox[0].ID) || due[0].ID != u.Outbox[0].ID {
		t.Errorf("submitter sees ID %q, store has %q", u.Outbox[0].ID, outboxIDs(due))
	}
}
