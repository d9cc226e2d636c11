# Developer entry points. GOTOOLCHAIN=local: build with the installed Go
# (go.mod pins 1.26.8), never download another toolchain.
SHELL := /bin/bash
export GOTOOLCHAIN ?= local

# staticcheck v0.8.2 is release 2026.2.2, the newest; the module proxy knows
# staticcheck releases only by their v0.x names (@2025.1.1 is refused).
# workflowcheck v0.6.0 is what @latest resolves to, pinned.
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

.PHONY: dev stop demo chaos bench test lint build clean

## dev: build, start the local stack (Postgres, Temporal, maildev, Twilio stand-in, dangol) and print its URLs
dev:
	./scripts/dev.sh

## demo: seed the dev stack's database with a small demo store (make dev first)
demo:
	source .dev/env && bin/dangol demo

## chaos: both program families over 300 customers on the dev stack through Twilio 500/429/hangs, SMTP refusing, PostgreSQL killed during purchases and kill -9 of dangol, Temporal and PostgreSQL; count what the stand-ins received
CHAOS_FLAGS ?= -customers 300 -rounds 2
chaos:
	go run ./cmd/chaos $(CHAOS_FLAGS)

## bench: measure dangol against raw Temporal on a throwaway local stack; prints a table, writes BENCHMARKS.md (minutes; not part of make test)
BENCH_FLAGS ?=
bench:
	go run ./cmd/bench $(BENCH_FLAGS)

## stop: stop everything make dev started
stop:
	./scripts/stop.sh

## test: lint, then every Go test (installs the test servers if missing)
test: lint
	./scripts/test.sh

## lint: gofmt, go vet, staticcheck, workflowcheck
lint:
	@echo "lint: gofmt"
	@unformatted=$$(find . -type f -name "*.go" -not -path "./.dev/*" -not -path "./bin/*" -not -path "*/node_modules/*" -not -path "*/testdata/*" -print0 | xargs -0 gofmt -l); \
	if [[ -n $$unformatted ]]; then echo "lint: these files need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	@echo "lint: go mod tidy -diff"
	go mod tidy -diff
	@echo "lint: go vet"
	go vet ./...
	@echo "lint: staticcheck"
	go run $(STATICCHECK) ./...
	@echo "lint: workflowcheck"
	go run $(WORKFLOWCHECK) ./workflows/...

## build: compile every package, and bin/dangol and bin/twilio-standin
build:
	go build ./...
	go build -o bin/dangol ./cmd/dangol
	go build -o bin/twilio-standin ./cmd/twilio-standin

## clean: stop the dev stack and delete its state (.dev) and the built binaries (bin/temporal is kept)
clean: stop
	rm -rf .dev bin/dangol bin/twilio-standin
