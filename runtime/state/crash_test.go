package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

// The tests re-execute their own binary as a child process that works on a
// store until it is killed; these variables tell the child what to do.
const (
	envChild = "ZAPPY_STATE_TEST_CHILD" // apply, writer, lock, hold
	envPath  = "ZAPPY_STATE_TEST_PATH"
	envRound = "ZAPPY_STATE_TEST_ROUND"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(child(mode, os.Getenv(envPath)))
	}
	os.Exit(m.Run())
}

// child runs one child mode and returns its exit code. It reports on
// stdout, one line per event, each written with a single write(2).
func child(mode, path string) int {
	say := func(format string, args ...any) {
		os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	s, err := Open(path)
	if err != nil {
		say("open: %v", err)
		return 2
	}
	unlock, err := s.Lock()
	switch mode {
	case "lock": // try the lock once and report
		if err != nil {
			say("%v", err)
			return 1
		}
		unlock()
		say("locked")
		return 0
	case "hold": // take the lock and keep it until killed
		if err != nil {
			say("%v", err)
			return 1
		}
		say("locked")
		select {}
	}
	if err != nil {
		say("lock: %v", err)
		return 3
	}
	switch mode {
	case "apply":
		return childApply(s, say)
	case "writer":
		return childWriter(s, say)
	}
	say("unknown mode %q", mode)
	return 2
}

// pad makes each transaction span several pages, so that a kill lands
// inside a commit's writes more often.
var pad = strings.Repeat("p", 3000)

// crashUpdate is the n-th update of the apply child: the monitor's state
// counts n, and the history row and two outbox items carry n.
func crashUpdate(n int) Update {
	payload := json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, n, pad))
	return Update{
		Monitor: &MonitorState{Name: "m", DownCount: n, Status: check.Down, LastChecked: t0.Add(time.Duration(n) * time.Second),
			ModuleState: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))},
		History: &HistoryRow{Monitor: "m", At: t0.Add(time.Duration(n) * time.Second), Status: check.Down,
			Attempts: n, Message: fmt.Sprint(n), Fields: payload},
		Outbox: []OutboxItem{
			{ID: fmt.Sprintf("c%08d-a", n), Channel: "mail", Monitor: "m", Kind: "outage", Payload: payload, CreatedAt: t0},
			{ID: fmt.Sprintf("c%08d-b", n), Channel: "sms", Monitor: "m", Kind: "outage", Payload: payload, CreatedAt: t0},
		},
	}
}

func childApply(s *Store, say func(string, ...any)) int {
	st, _, err := s.Monitor(ctx, "m")
	if err != nil {
		say("monitor: %v", err)
		return 2
	}
	for n := st.DownCount + 1; ; n++ {
		if err := s.Apply(ctx, []Update{crashUpdate(n)}); err != nil {
			say("apply: %v", err)
			return 2
		}
		say("committed %d", n)
	}
}

func childWriter(s *Store, say func(string, ...any)) int {
	round := os.Getenv(envRound)
	w := s.NewWriter(32, time.Millisecond)
	var k atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := fmt.Sprintf("w%s-%07d", round, k.Add(1))
				w.Submit(Update{
					History: &HistoryRow{Monitor: "w", At: t0, Message: id, Fields: json.RawMessage(`"` + pad + `"`)},
					Outbox:  []OutboxItem{{ID: id, Channel: "w", Monitor: "w", Kind: "test", CreatedAt: t0}},
				}, func(err error) {
					if err != nil {
						say("failed %s: %v", id, err)
						return
					}
					say("durable %s", id)
				})
			}
		}()
	}
	wg.Wait()
	return 0
}

// startChild starts the test binary in mode on path and returns its stdout
// lines as they come.
func startChild(t *testing.T, mode, path string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envPath+"="+path)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	// An os.Pipe rather than StdoutPipe: Wait closes a StdoutPipe, which
	// could drop lines the child wrote just before it was killed; this
	// pipe's reader sees EOF only once the child, its last writer, is dead.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, lines
}

// killAfter SIGKILLs cmd after d while collecting its output, and returns
// every line it wrote.
func killAfter(t *testing.T, cmd *exec.Cmd, lines <-chan string, d time.Duration) []string {
	t.Helper()
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l := range lines {
			got = append(got, l)
		}
	}()
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	<-done
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v; output %q", err, got)
	}
	return got
}

func integrityOK(t *testing.T, s *Store) {
	t.Helper()
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatal(err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
}

// TestCrashSafetyApply kills a child that loops over Apply at random
// moments and checks after each kill that the database is intact and holds
// every update the child saw committed, each whole or not at all.
func TestCrashSafetyApply(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	path := filepath.Join(t.TempDir(), "site.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	last, reportedMax := 0, 0
	for round := range 20 {
		cmd, lines := startChild(t, "apply", path)
		delay := time.Duration(5+rng.IntN(146)) * time.Millisecond
		out := killAfter(t, cmd, lines, delay)
		reported := 0
		for _, l := range out {
			n, err := strconv.Atoi(strings.TrimPrefix(l, "committed "))
			if err != nil || !strings.HasPrefix(l, "committed ") {
				t.Fatalf("round %d: child said %q", round, l)
			}
			reported = n
		}
		reportedMax = max(reportedMax, reported)

		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		integrityOK(t, s)
		st, _, err := s.Monitor(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		n := st.DownCount
		if n < reported || n < last {
			t.Fatalf("round %d (killed after %v): state counter %d, child reported %d committed, previous round %d", round, delay, n, reported, last)
		}
		if want := fmt.Sprintf(`{"n":%d}`, n); n > 0 && string(st.ModuleState) != want {
			t.Fatalf("round %d: module state %s, want %s", round, st.ModuleState, want)
		}
		// History rows 1..n, each exactly once, and nothing beyond.
		var count, lo, hi, distinct, badFields int
		err = s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(attempts), 0), coalesce(max(attempts), 0),
			count(DISTINCT attempts), count(*) FILTER (WHERE fields <> '{"n":' || attempts || ',"pad":"' || ? || '"}')
			FROM history WHERE monitor = 'm'`, pad).Scan(&count, &lo, &hi, &distinct, &badFields)
		if err != nil {
			t.Fatal(err)
		}
		wantLo := min(n, 1)
		if count != n || lo != wantLo || hi != n || distinct != n || badFields != 0 {
			t.Fatalf("round %d: history has %d rows (%d..%d, %d distinct, %d damaged), want exactly 1..%d",
				round, count, lo, hi, distinct, badFields, n)
		}
		// Outbox items c1-a, c1-b .. cn-a, cn-b, and nothing beyond.
		rows, err := s.db.QueryContext(ctx, "SELECT id, payload FROM outbox ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for rows.Next() {
			var id, payload string
			if err := rows.Scan(&id, &payload); err != nil {
				t.Fatal(err)
			}
			k := i/2 + 1
			want := fmt.Sprintf("c%08d-%c", k, "ab"[i%2])
			if id != want || payload != fmt.Sprintf(`{"n":%d,"pad":%q}`, k, pad) {
				t.Fatalf("round %d: outbox item %d is %q (payload %d bytes), want %q", round, i, id, len(payload), want)
			}
			i++
		}
		rows.Close()
		if i != 2*n {
			t.Fatalf("round %d: %d outbox items, want %d", round, i, 2*n)
		}
		s.Close()
		t.Logf("round %d: killed after %v, %d reported, %d committed", round, delay, reported, n)
		last = n
	}
	if reportedMax == 0 {
		t.Fatal("the child never reported a commit; the test proved nothing")
	}
}

// TestCrashSafetyWriter kills a child that pushes updates through a Writer
// from four goroutines, and checks that every update whose done(nil) it
// reported is durable, and every update is whole or absent.
func TestCrashSafetyWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	path := filepath.Join(t.TempDir(), "site.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	totalReported := 0
	for round := range 10 {
		cmd, lines := startChild(t, "writer", path, fmt.Sprintf("%s=%02d", envRound, round))
		delay := time.Duration(5+rng.IntN(146)) * time.Millisecond
		out := killAfter(t, cmd, lines, delay)
		var reported []string
		for _, l := range out {
			id, ok := strings.CutPrefix(l, "durable ")
			if !ok {
				t.Fatalf("round %d: child said %q", round, l)
			}
			reported = append(reported, id)
		}
		totalReported += len(reported)

		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		integrityOK(t, s)
		stored := map[string]bool{}
		rows, err := s.db.QueryContext(ctx, "SELECT id FROM outbox WHERE id LIKE ?", fmt.Sprintf("w%02d-%%", round))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			stored[id] = true
		}
		rows.Close()
		for _, id := range reported {
			if !stored[id] {
				t.Fatalf("round %d (killed after %v): %s was reported durable but is not stored", round, delay, id)
			}
		}
		// Each update is whole: its history row and outbox item both exist
		// or neither does.
		var orphans int
		err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM (
			SELECT id FROM (SELECT message AS id FROM history WHERE monitor = 'w'
				UNION ALL SELECT id FROM outbox WHERE channel = 'w')
			GROUP BY id HAVING count(*) <> 2)`).Scan(&orphans)
		if err != nil {
			t.Fatal(err)
		}
		if orphans != 0 {
			t.Fatalf("round %d: %d half-written updates", round, orphans)
		}
		s.Close()
		t.Logf("round %d: killed after %v, %d reported durable, %d stored", round, delay, len(reported), len(stored))
	}
	if totalReported == 0 {
		t.Fatal("the child never reported a durable update; the test proved nothing")
	}
}
