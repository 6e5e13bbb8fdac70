# boxoffice — make run | make test | make bench | make build
GO        ?= go
BIN       ?= bin/boxoffice
DATA      ?= ./data
HTTP      ?= 127.0.0.1:8080
PKGS      ?= ./...
TESTFLAGS ?= -race -tags invariants -count=1 -timeout 15m

.PHONY: build run test test-short deps vet bench bench-core bench-http fuzz fuzz-all clean rocketmq-up rocketmq-down

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/boxoffice

run: build
	$(BIN) serve --http $(HTTP) --data $(DATA)

# deps installs what the tests need on a fresh machine (idempotent).
deps:
	@scripts/test-deps

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

test: deps vet
	$(GO) test $(TESTFLAGS) $(PKGS)

test-short: vet
	$(GO) test -short $(TESTFLAGS) $(PKGS)

# Benchmarks print benchstat-compatible lines; bench/README.md records the last figures.
bench: bench-core bench-http

bench-core:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./actors/... ./persistence/pebble/ ./persistence/redis/ ./edge/
	$(GO) test -run '^$$' -bench OrderPipeline -benchtime 20000x -count 1 ./cmd/boxoffice/

bench-http: build
	scripts/bench-http $(BIN)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCommands -fuzztime 30s -tags invariants ./actors/seatmap/

# fuzz-all runs every Fuzz* target (bodies, paths, query, headers, tokens,
# seat ids, command sequences) for FUZZTIME each and prints the inputs run;
# their seed corpora also run as tests in make test.
FUZZTIME ?= 30s
fuzz-all:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz-all

rocketmq-up:
	scripts/rocketmq-local start .rocketmq

rocketmq-down:
	scripts/rocketmq-local stop .rocketmq

clean:
	rm -rf bin
