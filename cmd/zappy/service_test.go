package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit checks examples/zappy.service: systemd accepts it, and its
// ExecStart is a valid zappy command line.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../examples/zappy.service")
	if err != nil {
		t.Fatal(err)
	}
	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) < 3 || filepath.Base(execStart[0]) != "zappy" {
		t.Fatalf("ExecStart = %q, want a zappy command", execStart)
	}
	root := newRoot(&globalFlags{})
	cmd, args, err := root.Find(execStart[1:])
	if err != nil || cmd.Name() != "run" {
		t.Fatalf("ExecStart %q: command %v, err %v", execStart, cmd.Name(), err)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("ExecStart %q: %v", execStart, err)
	}
	if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
		t.Fatalf("ExecStart %q: %v", execStart, err)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the unit's syntax is not verified")
	}
	// verify wants the binary to exist: point ExecStart at a real file.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "zappy.service")
	text := strings.ReplaceAll(string(unit), execStart[0], self)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
