//go:build !wasip1

package zappy

import "github.com/zappy-mon/zappy/sdk/go/zjson"

// Outside WebAssembly there is no zappy host to lend primitives: the package
// still compiles (so check code can share types with native tools and its
// pure logic can be unit-tested), and every primitive reports that clearly.

func call(c *Check, op int32, w *zjson.Writer, data []byte) (zjson.Value, []byte, error) {
	putWriter(w)
	return zjson.Value{}, nil, &Error{Code: "invalid", Message: "zappy: " + opName(op) + " needs the zappy host (build with GOOS=wasip1 GOARCH=wasm)"}
}

// checkRuntime: nothing per check in this mode.
//
//lint:ignore U1000 Check.rt has this type in every mode
type checkRuntime struct{}

// callThen runs op to the end, then hands its result to then: here every
// operation completes before its call returns.
func callThen(c *Check, op int32, w *zjson.Writer, data []byte, then delivery) {
	v, out, err := call(c, op, w, data)
	then.deliver(c, v, out, err)
}

func logf(c *Check, level int32, msg string) {}
