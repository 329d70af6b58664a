// Package builtin bundles zappy's built-in check types (ping, tcp, udp, http,
// quic, cert) as one WebAssembly module written with the guest SDK in
// sdk/go, the same SDK users write their own checks with. The module's source
// is in ./module; `make builtins` (go generate) rebuilds zappy-builtin.wasm,
// which is embedded here, and the tests fail when the committed file is stale.
package builtin

//go:generate go run ./gen

import (
	"context"
	_ "embed"

	"github.com/zappy-mon/zappy/builtin/internal/version"
	"github.com/zappy-mon/zappy/runtime/engine"
)

//go:embed zappy-builtin.wasm
var wasm []byte

// Name is the module name of the built-ins.
const Name = "builtin"

// Wasm returns the embedded module.
func Wasm() []byte { return wasm }

// Load compiles the built-in module into e. The built-ins are trusted: they
// are built from this repository and verified by its tests, so they run
// without wazero's termination checks (docs/PERFORMANCE.md); every other
// sandbox limit still applies.
func Load(ctx context.Context, e *engine.Engine) (*engine.Module, error) {
	return e.Load(ctx, Name, wasm, engine.Policy{Trusted: true})
}

// Version is the built-in module's version.
func Version() string { return version.Version }
