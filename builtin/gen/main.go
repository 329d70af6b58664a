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
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", abs, "./module")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./module: %w", err)
	}
	return nil
}
