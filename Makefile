# tiercache: the two quick-start commands are `make demo` and `make test`.
GO        ?= go
FUZZTIME  ?= 20s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: demo test redis-server bench fuzz lint cache-tests

## demo: run the demo against $REDIS_URL, or an embedded Redis when it is unset.
## (Built, then run: `go run` would add an "exit status 1" line to the demo's own.)
demo:
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && $(GO) build -o "$$dir/demo" ./cmd/demo && "$$dir/demo"

## test: every test of the module under the race detector, on real redis-server processes.
test: redis-server
	$(GO) test -race -count=1 -timeout 14m ./...

## redis-server: make sure a redis-server binary is on PATH (apt-get install as root).
redis-server:
	@sh scripts/ensure-redis-server.sh

## bench: the benchmark table (bench/ module: tiercache against its peers and the limits).
bench: redis-server
	cd bench && $(GO) run ./cmd/benchtable

## fuzz: every fuzz target for FUZZTIME each.
fuzz:
	@for target in $$($(GO) test -list 'Fuzz.*' ./... | grep -v '^ok' | grep '^Fuzz'); do \
		pkg=$$(grep -rl "func $$target(" --include='*_test.go' . | head -1 | xargs dirname); \
		echo "== $$pkg $$target"; \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

## lint: go mod tidy clean in both modules, go vet and staticcheck (fetched through the Go module proxy).
lint:
	$(GO) mod tidy -diff
	cd bench && $(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## cache-tests: the http-tests/cache-tests suite against tiercache-proxy, local-only and on a
## redis-server of its own (needs node >= 18: `apt-get install nodejs npm` as root; the suite is cloned
## into ~/.cache/tiercache/cache-tests unless CACHE_TESTS_DIR names a checkout). Not part of `make test`.
cache-tests: redis-server
	@command -v node >/dev/null || { echo "cache-tests: node is required (apt-get install nodejs npm)"; exit 1; }
	@dir=$${CACHE_TESTS_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/tiercache/cache-tests}; \
	[ -f "$$dir/tests/index.mjs" ] || git clone --depth 1 https://github.com/http-tests/cache-tests "$$dir"; \
	[ -d "$$dir/node_modules/undici" ] || (cd "$$dir" && npm install --no-audit --no-fund); \
	CACHE_TESTS_DIR=$$dir sh httpcache/conformance/run.sh && \
	CACHE_TESTS_DIR=$$dir WITH_REDIS=1 sh httpcache/conformance/run.sh
