# boxoffice — make run | make test | make bench | make build
GO        ?= go
BIN       ?= bin/boxoffice
DATA      ?= ./data
HTTP      ?= 127.0.0.1:8080
PKGS      ?= ./...
TESTFLAGS ?= -race -tags invariants -count=1 -timeout 15m

.PHONY: proto build run test test-short deps vet vopr vopr-test bench bench-core bench-http bench-hot bench-server-cpu bench-serial bench-cluster bench-sse bench-fill onsale fuzz fuzz-all clean rocketmq-up rocketmq-down chaos k8s-validate k8s-schemas k8s-schemas-check

# proto regenerates facts/factspb from facts/facts.proto and wire.proto (the generated code is
# committed: builds and CI need no protoc). Needs protoc (Debian:
# protobuf-compiler) and protoc-gen-go of the module's protobuf version.
PROTOC_GEN_GO ?= google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
proto:
	$(GO) install $(PROTOC_GEN_GO)
	cd facts && protoc --plugin=protoc-gen-go=$$($(GO) env GOPATH)/bin/protoc-gen-go \
		--go_out=factspb --go_opt=paths=source_relative facts.proto wire.proto

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

# The end-to-end tests (separate processes: nodes, redis-server, a RocketMQ
# broker) run after the package tests, not beside them: on a 2-CPU machine
# the two together starve the clusters' timers (lease renewals, stall guards).
E2E := ./cmd/boxoffice/

# The simulator (sim/vopr) runs apart, without -race: it is one goroutine
# (the race detector finds nothing there and costs it 10x).
VOPR := ./sim/vopr

test: deps vet k8s-validate
	$(GO) test $(TESTFLAGS) $$($(GO) list $(PKGS) | grep -v '/cmd/boxoffice$$' | grep -v '/sim/vopr$$')
	$(MAKE) vopr-test
	$(GO) test $(TESTFLAGS) $(E2E)

# vopr-test: the simulator's regression seeds and VOPR_TEST_SEEDS new seeds
# (about 28,000 steps each: 40 seeds are over 10^6 steps). A failure prints
# its seed, step and trace; replay it with
#   go test ./sim/vopr -run TestVOPR -seed N -disk D
# One seed in four runs the real Pebble journal on a crashable, error-injecting
# in-memory FS (VOPR_DISK=mem or pebble forces every seed on one disk).
VOPR_TEST_SEEDS ?= 40
vopr-test:
	$(GO) test -tags invariants -count=1 -timeout 15m -run '^TestVOPR' $(VOPR) -seeds $(VOPR_TEST_SEEDS)

# vopr: 10^7 simulated steps over VOPR_SEEDS seeds (seeds from the clock;
# VOPR_FIRST=N repeats a run); prints steps/s.
VOPR_SEEDS ?= 360
vopr:
	bash -o pipefail -c "$(GO) test -tags invariants -count=1 -timeout 120m -run '^TestVOPR' $(VOPR) -seeds $(VOPR_SEEDS) -v 2>&1 | grep -v -e '^=== RUN' -e 'vopr_test.go:[0-9]*: seed [0-9]*: '"

# chaos kills (SIGKILL or SIGTERM) and restarts random nodes of a three-node
# cluster under load for CHAOS, then prints the figures.
CHAOS ?= 2m
chaos:
	BOXOFFICE_CHAOS=$(CHAOS) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 60m ./cmd/boxoffice/ | grep -E 'CHAOS|kill node|SIGTERM node|missing|two acknowledged|seed|^(---|ok|FAIL)'

# k8s-validate checks deploy/k8s with kubeconform, strict and offline,
# against the JSON schemas committed in deploy/k8s/schemas, and checks that
# the broken manifests in deploy/k8s/testdata/invalid fail (see
# deploy/k8s/README.md). k8s-schemas regenerates the schemas from the
# Kubernetes OpenAPI spec in the Go module k8s.io/kubernetes (module proxy);
# k8s-schemas-check fails if the committed ones are out of date.
KUBECONFORM ?= github.com/yannh/kubeconform/cmd/kubeconform@v0.6.7
K8S_MANIFESTS = deploy/k8s/*.yaml deploy/k8s/testdata/valid/*.yaml
k8s-validate:
	GO=$(GO) KUBECONFORM_PKG=$(KUBECONFORM) scripts/k8s-validate

k8s-schemas:
	$(GO) run ./deploy/k8s/schemagen -out deploy/k8s/schemas $(K8S_MANIFESTS)

k8s-schemas-check:
	$(GO) run ./deploy/k8s/schemagen -check -out deploy/k8s/schemas $(K8S_MANIFESTS)

test-short: vet
	$(GO) test -short $(TESTFLAGS) $(PKGS)

# Benchmarks print benchstat-compatible lines; bench/README.md records the last figures.
bench: bench-core bench-http bench-hot bench-serial bench-cluster bench-sse bench-fill

bench-core:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./actors/... ./persistence/pebble/ ./persistence/redis/ ./edge/
	$(GO) test -run '^$$' -bench OrderPipeline -benchtime 20000x -count 1 ./cmd/boxoffice/

bench-http: build
	scripts/bench-http $(BIN)

# bench-hot: issue 12 over HTTP: GA holds (hold then release) on one show
# (one actor), synced, at 16, 64, 512 and 1,024 connections, each after the
# no-op server with the same client (boxoffice noop: a server process of its
# own, started like the real one); CPU µs per arrival of each server; three
# rounds of 5 s loads, each after a 2 s warm-up against the same server
# (BENCH_WARMUP), each count's medians over them (~3.5 min; BENCH_HOT_ROUNDS,
# BENCH_HOT_CONNS; BENCH_HOT_SERVER=noop: a second no-op in boxoffice's place,
# the instrument's own spread).
bench-hot: build
	BENCH_SET=hot scripts/bench-http $(BIN)

# bench-server-cpu: the server's own CPU per request and the work it writes
# (checkpoint rows, Pebble WAL, flush and compaction bytes per request) under
# bench-hot's load at 512 connections, over a window past the first minute,
# when released hold ids are forgotten (~1.5 min; not part of bench). Compare
# two binaries with scripts/bench-server-cpu A B A B; BENCH_REDIS=host:port
# runs them with --redis (that Redis is flushed) and adds Redis's bytes and CPU.
bench-server-cpu: build
	scripts/bench-server-cpu $(BIN)

# bench-serial: issue 12's serial path (bench/serial): the CPU time per
# command of one show's actor and writer (labelled CPU profile samples),
# process CPU, holds/s and commands per writer group, holding GA seats for
# fresh users on a synced Pebble journal at 64 and 1,024 callers, the two
# alternated for three rounds, then each count's median (~35 s).
# SERIAL_CALLERS, SERIAL_ROUNDS, SERIAL_SECONDS, SERIAL_PROFILE=prefix (CPU,
# block, mutex).
bench-serial:
	$(GO) test -run '^$$' -bench Serial -benchtime 1x -timeout 10m ./bench/serial/

# bench-fill: issue 11's fill benchmark (bench/fill): one show (GA 2,000,000 +
# seated 200,000) filled to 1,000,000 live holds by 64 callers, per 100,000:
# holds/s, p50, p99, p99.9, max; memory per live hold; recovery from Pebble and
# from Redis alone; then what each way of checkpointing costs a turn, a restore
# of 1,000,000 holds from rows, the seat map's Apply of a GA hold at 1,000,000 live holds
# (with the state's bytes per hold and a full GC's time), a Redis Load of 1,000,000 rows,
# and recovery from Redis alone without the fill (BenchmarkRecoverRedis) (~7 min).
# FILL_HOLDS, FILL_RUNS (pebble,redis), FILL_PROFILE=prefix (a CPU profile per tenth),
# FILL_PEBBLE (Pebble options to try; bench/fill/doc.go).
bench-fill:
	$(GO) test -run '^$$' -bench Fill -benchtime 1x -timeout 30m ./bench/fill/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench 'CheckpointChoice|RestoreRows' -benchtime 1x -timeout 30m ./actors/seatmap/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench ApplyGAHold -benchtime 300000x -timeout 30m ./actors/seatmap/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench WorstApplyFilling -benchtime 1x -timeout 30m ./actors/seatmap/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench LoadRows -benchtime 1x -timeout 30m ./persistence/redis/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench LoadShowPebble -benchtime 2x -timeout 30m ./actors/
	FILL_BENCH=1 $(GO) test -run '^$$' -bench RecoverRedis -benchtime 2x -timeout 30m ./bench/fill/

# bench-cluster: holds/s through the show's owner vs through the other node
# of a two-node cluster with Redis (32 connections, 3 phases of 5 s; about 35 s).
bench-cluster:
	$(GO) test -run '^$$' -bench ClusterForwarding -benchtime 1x -count 1 ./cmd/boxoffice/

# bench-sse: holds/s on a show with 1,000 SSE subscribers (in a separate
# process) against a show without, alternating 1 s phases, ten rounds.
bench-sse:
	BOXOFFICE_SSE_COST=1 $(GO) test -count 1 -run '^TestSSESubscriberCost$$' -v ./actors/ | grep -E 'round|mean|subscribers:|ok|FAIL'

# onsale: the full-size on-sale simulation (100,000 fans, 20,000 seats) with and
# without the waiting room, in simulated time; 10-30 min on 2 CPUs. The
# figures and the charts of the last run are in bench/README.md and bench/onsale.html.
ONSALE_SEED ?= 20261127
onsale: build
	$(BIN) sim onsale --seed $(ONSALE_SEED) --report bench/onsale.html

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
