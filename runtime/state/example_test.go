package state_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/state"
)

// Example shows one check's outcome written atomically: the new state, the
// history row and the notification it queued, then the outbox delivery.
func Example() {
	dir, err := os.MkdirTemp("", "zappy-state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := state.Open(filepath.Join(dir, "site.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	unlock, err := s.Lock()
	if err != nil {
		log.Fatal(err) // another zappy runs this site
	}
	defer unlock()

	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	note := []state.OutboxItem{{Channel: "ops-mail", Monitor: "web", Kind: "outage", Payload: []byte(`{"text":"web down"}`)}}
	err = s.Apply(ctx, []state.Update{{
		Monitor: &state.MonitorState{Name: "web", Status: check.Down, DownCount: 1, LastChecked: now, ErrorReason: "503"},
		History: &state.HistoryRow{Monitor: "web", At: now, Status: check.Down, Class: check.ApplicationError, Message: "503"},
		Outbox:  note,
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("queued an ID of", len(note[0].ID), "characters")

	due, _ := s.DueOutbox(ctx, time.Now(), 10)
	for _, it := range due {
		_ = s.MarkSending(ctx, it.ID)
		// ... deliver it.Payload through the channel, then:
		_ = s.MarkSent(ctx, it.ID, time.Now())
		fmt.Println("sent", it.Kind, "for", it.Monitor, "via", it.Channel)
	}
	st, _, _ := s.Monitor(ctx, "web")
	fmt.Println(st.Name, st.Status, st.DownCount, st.ErrorReason)
	// Output:
	// queued an ID of 26 characters
	// sent outage for web via ops-mail
	// web down 1 503
}

// ExampleWriter shows group commit: many updates, few transactions, and a
// callback per update once it is durable.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "zappy-state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := state.Open(filepath.Join(dir, "site.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	w := s.NewWriter(256, 2*time.Millisecond)
	durable := make(chan error, 100)
	for i := range 100 {
		name := fmt.Sprintf("m%d", i)
		w.Submit(state.Update{Monitor: &state.MonitorState{Name: name, Status: check.Up}},
			func(err error) { durable <- err })
	}
	for range 100 {
		if err := <-durable; err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	all, _ := s.Monitors(context.Background())
	fmt.Println(len(all), "monitors stored")
	// Output: 100 monitors stored
}
