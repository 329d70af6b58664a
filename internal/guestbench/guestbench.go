// Package guestbench holds what the stub host of internal/tools/wasmbench
// answers and sdk/go/guest_bench_test.go expects: the input and the
// tcp.connect result the built-in tcp type sees for a connect-only check.
package guestbench

// The check the stub host hands out, as an input frame (wasmbench builds
// it with the engine's encoder) and as Input, its JSON form.
const (
	CheckID        = 1
	Name           = "bench"
	Type           = "tcp"
	Target         = "tcp://127.0.0.1:36137"
	TimeoutMS      = 5000
	DeadlineUnixMS = 1795293533267
)

var (
	// Input is the check's JSON input (sdk/ABI.md, "Check input").
	Input = []byte(`{"check_id":1,"name":"bench","type":"tcp","target":"tcp://127.0.0.1:36137","timeout_ms":5000,"deadline_unix_ms":1795293533267,"attempt":1,"config":{},"state":null}`)
	// ConnectResult is the result zappy.take returns for every operation.
	ConnectResult = []byte(`{"remote":"127.0.0.1:36137","local":"127.0.0.1:58832","connect_ms":0.216}`)
)
