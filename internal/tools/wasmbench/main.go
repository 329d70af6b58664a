// Command wasmbench runs a wasip1 test binary of the Go SDK under wazero
// with stub "zappy" host functions, so that SDK code can be benchmarked
// inside WebAssembly (sdk/go/guest_bench_test.go, docs/PERFORMANCE.md):
//
//	GOOS=wasip1 GOARCH=wasm go test -c -o /tmp/sdk.wasm ./sdk/go
//	go run ./internal/tools/wasmbench /tmp/sdk.wasm -test.run '^$' -test.bench Guest
//
// The stubs: zappy.input returns guestbench.Input as an input frame (what
// the engine hands the SDK, whose manifest asks for frames); zappy.op completes every
// operation at once (the ready bit); zappy.take returns
// guestbench.ConnectResult; zappy.done accepts only up results (a failing
// check would time another path) and zappy.log anything; zappy.await
// reports an unknown token; zappy.json_index is the engine's own.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/zappy-mon/zappy/internal/guestbench"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
)

const readyBit = int64(1) << 62

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wasmbench TEST.wasm [test flags]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmbench:", err)
		os.Exit(1)
	}
}

func run(path string, args []string) error {
	ctx := context.Background()
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	fn := func(f func(m api.Module, s []uint64)) api.GoModuleFunction {
		return api.GoModuleFunc(func(_ context.Context, m api.Module, s []uint64) { f(m, s) })
	}
	input := engine.InputFrame(guestbench.CheckID, check.Request{
		Name: guestbench.Name, Type: guestbench.Type, Target: guestbench.Target,
		Timeout: guestbench.TimeoutMS * time.Millisecond,
	}, time.UnixMilli(guestbench.DeadlineUnixMS))
	b := rt.NewHostModuleBuilder("zappy")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(m api.Module, s []uint64) {
		if uint32(s[2]) >= uint32(len(input)) {
			m.Memory().Write(uint32(s[1]), input)
		}
		s[0] = uint64(len(input))
	}), []api.ValueType{i64, i32, i32}, []api.ValueType{i32}).Export("input")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(_ api.Module, s []uint64) {
		s[0] = api.EncodeI64(1 | readyBit)
	}), []api.ValueType{i64, i32, i32, i32, i32, i32}, []api.ValueType{i64}).Export("op")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(m api.Module, s []uint64) {
		if uint32(s[2]) < uint32(len(guestbench.ConnectResult)) {
			s[0] = api.EncodeI64(int64(len(guestbench.ConnectResult))<<32 | readyBit)
			return
		}
		m.Memory().Write(uint32(s[1]), guestbench.ConnectResult)
		s[0] = api.EncodeI64(int64(len(guestbench.ConnectResult)) << 32)
	}), []api.ValueType{i64, i32, i32, i32, i32}, []api.ValueType{i64}).Export("take")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(_ api.Module, s []uint64) {
		s[0] = api.EncodeI64(-4)
	}), []api.ValueType{i64}, []api.ValueType{i64}).Export("await")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(m api.Module, s []uint64) {
		// Every check the benchmarks run must succeed: a failing one
		// would time a different path.
		res, ok := m.Memory().Read(uint32(s[1]), uint32(s[2]))
		up := bytes.HasPrefix(res, []byte(`{"status":"up"`)) || bytes.HasPrefix(res, []byte{1, 1}) // JSON, or a frame
		if !ok || !up {
			fmt.Fprintf(os.Stderr, "wasmbench: a check reported %s\n", res)
			os.Exit(1)
		}
		s[0] = 0
	}), []api.ValueType{i64, i32, i32}, []api.ValueType{i32}).Export("done")
	b.NewFunctionBuilder().WithGoModuleFunction(fn(func(api.Module, []uint64) {}),
		[]api.ValueType{i64, i32, i32, i32}, nil).Export("log")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(engine.JSONIndex),
		[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).Export("json_index")
	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}
	cfg := wazero.NewModuleConfig().WithArgs(args...).WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysWalltime().WithSysNanotime()
	_, err = rt.InstantiateWithConfig(ctx, wasm, cfg)
	return err
}
