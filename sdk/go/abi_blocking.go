//go:build wasip1 && (tinygo || zappy_blocking)

package zappy

// The blocking runtime: each check runs synchronously inside zappy_check and
// every primitive blocks in the host's await import. The host gives each
// in-flight check its own pooled instance (ABI.md, "Blocking mode"). This is
// the mode used under TinyGo, whose scheduler cannot be driven from outside;
// standard Go can opt in with -tags zappy_blocking.

import "github.com/zappy-mon/zappy/sdk/go/zjson"

//go:wasmimport zappy await
func hostAwait(token int64) int64

//go:wasmexport zappy_manifest
func exportManifest() int64 { return exportManifestFor("blocking") }

//go:wasmexport zappy_check
func exportCheck(checkID int64, inputLen int32) {
	if c := acceptInput(checkID, inputLen); c != nil {
		finish(c, runHandler(handlerFor(c.Type), c))
	}
}

// call starts op with the request in w (recycled once the host has copied
// it) and waits for its result.
func call(c *Check, op int32, w *zjson.Writer, data []byte) (zjson.Value, []byte, error) {
	tok, v, out, err := startCall(c, op, w, data)
	if tok == 0 {
		return v, out, err
	}
	sizes := hostAwait(tok)
	if sizes < 0 {
		return zjson.Value{}, nil, abiError(sizes, "await")
	}
	return takeResult(tok, int32(sizes>>32&sizeMask), int32(sizes&sizeMask), false)
}

// checkRuntime: nothing per check in this mode.
type checkRuntime struct{}

// callThen runs op to the end, then hands its result to then: here every
// operation completes before its call returns.
func callThen(c *Check, op int32, w *zjson.Writer, data []byte, then delivery) {
	v, out, err := call(c, op, w, data)
	then.deliver(c, v, out, err)
}

func logf(c *Check, level int32, msg string) {
	var id int64
	if c != nil {
		id = c.ID
	}
	logHost(id, level, msg)
}
