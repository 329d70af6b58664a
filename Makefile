# zappy — see README.md. Every target works on a fresh Debian machine with Go.

GO      ?= go
PKGS    ?= ./...
BENCH   ?= .
COUNT   ?= 1
# Debian packages the test suite drives: snmpd for SNMP tests, iproute2 for
# network namespaces, clang/lld/wasi-libc for the C guest module.
DEBS    := snmpd snmp iproute2 clang lld wasi-libc
BIN     := bin/zappy
# staticcheck is installed from the Go module proxy into bin/ by make lint.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck

.PHONY: all build builtins test test-go deps lint bench bench-guest bench-tcp fuzz run demo clean

all: build

## build: the zappy binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/zappy

## builtins: rebuild builtin/zappy-builtin.wasm from builtin/module (go generate)
builtins:
	cd builtin && $(GO) generate .

## deps: install the Debian packages the tests need (apt-get update once, as root)
deps:
	@missing=""; \
	for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## test: the whole suite (installs what it needs first)
test: deps lint test-go fuzz

test-go:
	$(GO) test -count=$(COUNT) -timeout 20m $(PKGS)

## lint: gofmt, go vet and staticcheck
lint: $(STATICCHECK)
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/go/... ./builtin/module/
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags zappy_blocking ./sdk/go/...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	$(STATICCHECK) $(PKGS)

$(STATICCHECK):
	GOBIN=$(CURDIR)/bin GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## fuzz: short fuzzing runs of the parsers (CI runs them briefly). Budgets
## are counts of executions, not durations: with a duration Go 1.26's fuzz
## coordinator can fail with "context deadline exceeded" at the deadline on
## a busy machine (golang/go#75804, fixed in Go 1.27).
fuzz:
	$(GO) test ./sdk/go/zjson -run '^$$' -fuzz FuzzParse -fuzztime 200000x -fuzzminimizetime 200x
	$(GO) test ./sdk/go/zjson -run '^$$' -fuzz FuzzAppendString -fuzztime 200000x -fuzzminimizetime 200x
	$(GO) test ./sdk/go/zjson -run '^$$' -fuzz FuzzNumbers -fuzztime 200000x -fuzzminimizetime 200x
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime 25000x -fuzzminimizetime 200x

## bench: benchmarks; figures are recorded in docs/PERFORMANCE.md
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=$(COUNT) $(PKGS)

## bench-tcp: the TCP-connect comparison of docs/PERFORMANCE.md, each run
## of each benchmark in a fresh network namespace (no TIME_WAIT left by the
## one before, whose port searches cost the kernel more) with the same
## number of checks; COUNT rounds, alternating. Needs root for unshare -n;
## without it the runs share the host's namespace (and it says so).
## WIDE_PORTS=1 also widens the namespace's ephemeral port range to
## 1024-65535, so that 40,000 connects to one listener never have to search
## past ports still in TIME_WAIT: the kernel's cost per connect then no
## longer depends on the rate, and the comparison is of zappy's code alone.
TCP_CHECKS ?= 40000
WIDE_PORTS ?=
PORTS_CMD   = $(if $(WIDE_PORTS),sysctl -qw net.ipv4.ip_local_port_range='1024 65535' &&,)
bench-tcp:
	$(GO) test -c -o bin/builtin.test ./builtin
	@if unshare -n true 2>/dev/null; then ns="unshare -n"; else \
		echo "bench-tcp: cannot unshare -n (not root?): the runs share this network namespace"; ns=""; fi; \
	cd builtin && for i in $$(seq $(COUNT)); do \
		for b in TCPConnectDirect TCPConnectDirectConn TCPCheckBuiltin TCPCheckLeanC TCPCheckLeanGo; do \
			$$ns sh -c "{ [ -z '$$ns' ] || { ip link set lo up && $(PORTS_CMD) true; }; } && ../bin/builtin.test -test.run '^\$$' \
				-test.bench '^Benchmark$$b\$$/^inflight=64\$$' -test.benchtime $(TCP_CHECKS)x" || exit 1; \
		done; \
	done

## bench-guest: the Go SDK's guest path timed inside WebAssembly (stub host)
bench-guest:
	GOOS=wasip1 GOARCH=wasm $(GO) test -c -o bin/sdk-guest.wasm ./sdk/go
	$(GO) run ./internal/tools/wasmbench bin/sdk-guest.wasm -test.run '^$$' -test.bench Guest -test.benchmem -test.count $(COUNT)

## run: build zappy, start the demo services on 127.0.0.1 and check them
run: build
	@$(GO) build -o bin/zappy-demo ./examples/demo
	@./bin/zappy-demo & pid=$$!; sleep 1; \
	./$(BIN) check -c examples/demo.yaml; status=$$?; \
	kill $$pid; echo "zappy exit status $$status (0 up, 1 degraded, 2 down, 3 error)"

## demo: the demo services under the daemon (zappy run) until Ctrl-C; state in a temporary directory
demo: build
	@$(GO) build -o bin/zappy-demo ./examples/demo
	@state=$$(mktemp -d); ./bin/zappy-demo & pid=$$!; sleep 1; \
	trap 'kill $$pid; rm -rf $$state' EXIT; \
	./$(BIN) run -v --state $$state/demo.db examples/demo.yaml

clean:
	rm -rf bin
