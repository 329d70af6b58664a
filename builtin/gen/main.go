// Command gen rebuilds builtin/zappy-builtin.wasm from builtin/module with
// the flags that make the build reproducible, so that a test can tell whether
// the committed module matches its sources.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	out := "zappy-builtin.wasm"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := Build(out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Build compiles ./module (relative to the builtin directory) into out.
func Build(out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// The committed module has no name section (-s): it would add 68 KB
	// and ~10 ms to every start, which parses it. ZAPPY_BUILTIN_NAMES=1
	// keeps it, for profiles and stack traces with function names during
	// performance work (docs/PERFORMANCE.md, "Profiling guest code").
	ldflags := "-ldflags=-s -w -buildid="
	if os.Getenv("ZAPPY_BUILTIN_NAMES") == "1" {
		ldflags = "-ldflags=-w -buildid="
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		ldflags, "-o", abs, "./module")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./module: %w", err)
	}
	return nil
}
