# passd: the one entry point for people and CI.
GO ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT ?= 14m
BENCHTIME ?= 3s

.PHONY: run build build-openssl test test-openssl test-short chaos bench lint fuzz vendor-axe vendor-zxing screenshots clean

## run: start passd on the embedded default (SQLite in ./data, dev certificates, the demo program)
run:
	$(GO) run ./cmd/passd

## build: build passd and passctl into ./bin
build:
	$(GO) build -o bin/ ./cmd/...

## build-openssl: the same, signing passes with OpenSSL's libcrypto (cgo; needs a C compiler and libssl-dev)
build-openssl:
	CGO_ENABLED=1 $(GO) build -tags openssl -o bin/ ./cmd/...

## test: every test, with the race detector, against SQLite and a throwaway PostgreSQL 15
test:
	$(GO) vet ./...
	scripts/with-postgres.sh $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) test-openssl

## test-openssl: every package whose code or tests reach the pass signer (passkit), again with the OpenSSL signer (-tags openssl), without -race (the run above has it), so that TestMessageReachesEveryCard takes its full 10,000 cards; the other packages build the same with or without the tag
OPENSSL_PKGS ?= $(shell $(GO) list -tags openssl -test -f '{{.ImportPath}} {{join .Deps " "}}' ./... | awk '$$1 ~ /\.test$$/ { for (i = 2; i <= NF; i++) if ($$i == "github.com/passd/passd/passkit") { sub(/\.test$$/, "", $$1); print $$1; break } }' | sort -u)
test-openssl: export CGO_ENABLED=1
test-openssl:
	$(GO) vet -tags openssl ./passkit/
	$(GO) test -race -count=1 -tags openssl ./passkit/
	scripts/with-postgres.sh $(GO) test -count=1 -tags openssl -timeout $(TEST_TIMEOUT) $(OPENSSL_PKGS)

## test-short: the tests without PostgreSQL (skips the PostgreSQL conformance run)
test-short:
	$(GO) test -race -count=1 ./...

## chaos: the fault-injection suite (internal/chaos) in its long form: a 60 s APNs outage, ten SIGKILLs and four PostgreSQL restarts under load, a longer Google storm (make test runs its bounded form)
chaos:
	PASSD_CHAOS=long scripts/with-postgres.sh $(GO) test -count=1 -v -timeout 30m ./internal/chaos/

## bench: benchmarks (ledger on SQLite and PostgreSQL beside pgbench, pass signing beside raw RSA and openssl speed with each signer, a 100,000-card message, earns with Google on and off, tills during a 100,000-card programme change, earns with expiry, 100,000 lots expiring, programme figures)
bench:
	scripts/with-postgres.sh scripts/bench.sh $(BENCHTIME)

## lint: gofmt, go vet, staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags openssl ./passkit/

## fuzz: run each fuzz target for FUZZTIME (default 20s)
FUZZTIME ?= 20s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## vendor-axe: re-download axe-core (the browser test's accessibility check) at AXE_VERSION with npm, verify it and write its SHA256SUMS
AXE_VERSION ?= $(shell cat internal/web/testdata/axe/VERSION)
vendor-axe:
	scripts/vendor-axe.sh $(AXE_VERSION)

## vendor-zxing: re-download the staff scanner's barcode decoder (@zxing/library's UMD build) at ZXING_VERSION with npm, verify it and write its SHA256SUMS
ZXING_VERSION ?= $(shell cat internal/console/static/scan-zxing/VERSION)
vendor-zxing:
	scripts/vendor-zxing.sh $(ZXING_VERSION)

## screenshots: the console's main pages at phone and desktop widths, from a passd with the demo programme, into docs/screenshots (headless chromium)
screenshots:
	mkdir -p docs/screenshots
	PASSD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' ./internal/console/

clean:
	rm -rf bin
