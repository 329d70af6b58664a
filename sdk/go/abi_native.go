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

func logf(c *Check, level int32, msg string) {}
