package testutil

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var compiled struct {
	sync.Mutex
	wasm map[string][]byte
}

// CompileC compiles the C file src into a wasm32-wasi reactor module with
// clang (Debian: clang lld wasi-libc), once per test process, and returns
// the module. It skips the test when clang or wasi-libc is missing.
func CompileC(t testing.TB, src string) []byte {
	t.Helper()
	compiled.Lock()
	defer compiled.Unlock()
	if wasm, ok := compiled.wasm[src]; ok {
		return wasm
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skipf("clang not installed (Debian: apt-get install clang lld wasi-libc): %v", err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(src)+".wasm")
	cmd := exec.Command(clang, "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wl,--strip-all", "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(b, []byte("stdio.h")) {
			t.Skipf("wasi-libc not installed (Debian: apt-get install wasi-libc): %s", b)
		}
		t.Fatalf("clang %s: %v\n%s", src, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if compiled.wasm == nil {
		compiled.wasm = map[string][]byte{}
	}
	compiled.wasm[src] = wasm
	return wasm
}
