package state

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func lockFileContent(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLockInProcess(t *testing.T) {
	s, path := openTest(t)
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lockFileContent(t, path), fmt.Sprintf("%d\n", os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want %q", got, want)
	}
	// flock locks belong to open files, not processes: a second Lock in
	// the same process is refused too.
	want := fmt.Sprintf("state: %s is locked by pid %d", path, os.Getpid())
	if _, err := s.Lock(); errString(err) != want {
		t.Errorf("second Lock: %q, want %q", errString(err), want)
	}
	unlock()
	unlock() // harmless twice
	if got := lockFileContent(t, path); got != "" {
		t.Errorf("lock file after unlock holds %q", got)
	}
	unlock, err = s.Lock()
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}

	// Close releases the lock too; the unlock func is then a no-op.
	s.Close()
	unlock()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Lock(); err != nil {
		t.Fatalf("Lock after Close: %v", err)
	}
}

// waitLine returns the next line of a child's output, failing after a
// generous deadline (a hung child, not a slow one).
func waitLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("child exited without a word")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("child said nothing for 30s")
	}
	return ""
}

func TestLockAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	s, path := openTest(t)

	// We hold it: the child is refused and told our pid.
	unlock, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	cmd, lines := startChild(t, "lock", path)
	if got, want := waitLine(t, lines), fmt.Sprintf("state: %s is locked by pid %d", path, os.Getpid()); got != want {
		t.Errorf("child: %q, want %q", got, want)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("child exit: %v, want exit status 1", err)
	}

	// Released: the child gets it.
	unlock()
	cmd, lines = startChild(t, "lock", path)
	if got := waitLine(t, lines); got != "locked" {
		t.Errorf("child after unlock: %q, want locked", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child exit: %v", err)
	}

	// The child holds it: we are refused with its pid, until it dies.
	cmd, lines = startChild(t, "hold", path)
	if got := waitLine(t, lines); got != "locked" {
		t.Fatalf("holding child: %q", got)
	}
	want := fmt.Sprintf("state: %s is locked by pid %d", path, cmd.Process.Pid)
	if _, err := s.Lock(); errString(err) != want {
		t.Errorf("Lock while child holds it: %q, want %q", errString(err), want)
	}
	killAfter(t, cmd, lines, 0)
	unlock, err = s.Lock()
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
}
