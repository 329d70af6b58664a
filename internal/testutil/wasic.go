package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var compiled struct {
	sync.Mutex
	wasm map[string][]byte
}

// buildOnce returns the module cached under key, or runs build, which
// writes the module to the path it is given, and caches what it wrote.
func buildOnce(t testing.TB, key string, build func(out string)) []byte {
	t.Helper()
	compiled.Lock()
	defer compiled.Unlock()
	if wasm, ok := compiled.wasm[key]; ok {
		return wasm
	}
	out := filepath.Join(t.TempDir(), "module.wasm")
	build(out)
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if compiled.wasm == nil {
		compiled.wasm = map[string][]byte{}
	}
	compiled.wasm[key] = wasm
	return wasm
}

// CompileC compiles the C file src into a wasm32-wasi reactor module with
// clang (Debian: clang lld wasi-libc), once per test process, and returns
// the module. It skips the test when clang or wasi-libc is missing.
func CompileC(t testing.TB, src string) []byte {
	t.Helper()
	return buildOnce(t, "c:"+src, func(out string) {
		clang, err := exec.LookPath("clang")
		if err != nil {
			t.Skipf("clang not installed (Debian: apt-get install clang lld wasi-libc): %v", err)
		}
		cmd := exec.Command(clang, "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wl,--strip-all", "-o", out, src)
		if b, err := cmd.CombinedOutput(); err != nil {
			if bytes.Contains(b, []byte("stdio.h")) {
				t.Skipf("wasi-libc not installed (Debian: apt-get install wasi-libc): %s", b)
			}
			t.Fatalf("clang %s: %v\n%s", src, err, b)
		}
	})
}

// BuildGo compiles the Go package pkg (a path relative to the test's
// directory, e.g. "./testdata/guests/echo") into a wasip1 reactor module
// (-buildmode=c-shared) with the given build tags, once per test process,
// and returns the module.
func BuildGo(t testing.TB, pkg string, tags ...string) []byte {
	t.Helper()
	return buildOnce(t, "go:"+pkg+":"+strings.Join(tags, ","), func(out string) {
		args := []string{"build", "-buildmode=c-shared", "-o", out}
		if len(tags) > 0 {
			args = append(args, "-tags", strings.Join(tags, ","))
		}
		cmd := exec.Command("go", append(args, pkg)...)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the Go guest %s: %v\n%s", pkg, err, b)
		}
	})
}
