# cas — build, test, generate.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/cas-proxy/cas/api.Version=$(VERSION)
# The whole suite stays well inside CI's limit; the timeout only stops a hang.
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: all build test test-deps vet lint generate run bench clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/casd ./cmd/casd
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/cas ./cmd/cas

## test: install what the tests drive for real (when missing), then vet and run every test.
test: test-deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

test-deps:
	@scripts/test-deps.sh

vet:
	$(GO) vet ./...

## lint: vet plus staticcheck (fetched from the Go module proxy, pinned).
lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## generate: man pages and shell completions from the command tree.
generate:
	$(GO) generate ./...

## run: casd with the built-in demo IdP and app.
run:
	$(GO) run ./cmd/casd --demo

## bench: package benchmarks (whole-system runs live under bench/).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin dist
