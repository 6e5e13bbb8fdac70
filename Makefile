# boxoffice — make run | make test | make bench | make build
GO        ?= go
BIN       ?= bin/boxoffice
DATA      ?= ./data
HTTP      ?= 127.0.0.1:8080
PKGS      ?= ./...
TESTFLAGS ?= -race -tags invariants -count=1 -timeout 15m

.PHONY: build run test test-short deps vet bench bench-core bench-http fuzz fuzz-all clean rocketmq-up rocketmq-down chaos k8s-validate

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

test: deps vet
	$(GO) test $(TESTFLAGS) $$($(GO) list $(PKGS) | grep -v '/cmd/boxoffice$$')
	$(GO) test $(TESTFLAGS) $(E2E)

# chaos kills (SIGKILL or SIGTERM) and restarts random nodes of a three-node
# cluster under load for CHAOS, then prints the figures.
CHAOS ?= 2m
chaos:
	BOXOFFICE_CHAOS=$(CHAOS) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 60m ./cmd/boxoffice/ | grep -E 'CHAOS|kill node|SIGTERM node|missing|two acknowledged|seed|^(---|ok|FAIL)'

# k8s-validate checks deploy/k8s with kubeconform against the Kubernetes JSON
# schemas in deploy/k8s/schemas (KIND-VERSION.json, from the
# kubernetes-json-schema project, standalone-strict). They are not in the
# repository yet, so this target is not part of `make test`.
KUBECONFORM ?= github.com/yannh/kubeconform/cmd/kubeconform@v0.6.7
k8s-validate:
	$(GO) run $(KUBECONFORM) -strict -summary -schema-location 'deploy/k8s/schemas/{{.ResourceKind}}{{.KindSuffix}}.json' deploy/k8s/boxoffice.yaml

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
