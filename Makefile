# Wharf — see README.md. `make run` needs nothing but Go; `make test` installs
# or builds its own dependencies (redis-server, Prometheus, rrdtool, MinIO, nsqd) through `make deps`.
GO        ?= go
BIN       ?= ./wharf
GOFLAGS_T ?= -race -count=1 -timeout 30m
BENCHTIME ?= 1s

.PHONY: all run build test test-short bench deps lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/wharf

run: build
	$(BIN) serve

deps:
	bash infra/deps.sh

test: deps
	$(GO) test $(GOFLAGS_T) ./...
	# allocation pins: the race detector drops sync.Pool items, so they hold only without -race
	$(GO) test -count=1 -run 'Alloc' ./gateway/...

test-short:
	$(GO) test -short -count=1 ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

# fuzz runs every fuzz target for FUZZTIME each (default 10s).
fuzz:
	bash infra/fuzz.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) ./data
	$(GO) clean -testcache
