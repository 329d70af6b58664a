package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGuestBenchmarksRun builds the SDK's wasip1 test binary and runs its
// guest benchmarks a few times through the stub host: they must run and
// every check they start must report up (the stub's done exits otherwise).
func TestGuestBenchmarksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm test binary")
	}
	out := filepath.Join(t.TempDir(), "sdk.wasm")
	cmd := exec.Command("go", "test", "-c", "-o", out, "../../../sdk/go")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the sdk test binary: %v\n%s", err, b)
	}
	if err := run(out, []string{out, "-test.run", "^$", "-test.bench", "Guest", "-test.benchtime", "20x"}); err != nil {
		t.Fatal(err)
	}
}
