# Tools the tests start (Temporal CLI dev server, S3-compatible server, helm)
# are installed into ./bin from the Go module proxy; a second run finds them.
BIN        := $(CURDIR)/bin
GO         ?= go
TEMPORAL_CLI_VERSION ?= v1.5.1
VERSITYGW_VERSION    ?= v1.8.0
HELM_VERSION         ?= v3.22.0
STATICCHECK_VERSION  ?= v0.8.2
GENIUS_DATA_DIR      ?= $(abspath ../shared/data/bench)

export GENIUS_DATA_DIR
export GENIUS_TEMPORAL_BIN := $(BIN)/temporal
export GENIUS_VERSITYGW_BIN := $(BIN)/versitygw
export GENIUS_HELM_BIN := $(BIN)/helm

.PHONY: all build tools test vet bench golden clean demo

all: build

build:
	$(GO) build -o $(BIN)/genius ./cmd/genius

tools: $(BIN)/temporal $(BIN)/versitygw $(BIN)/helm $(BIN)/staticcheck

$(BIN)/temporal:
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/versitygw:
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

$(BIN)/helm:
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet: $(BIN)/staticcheck
	test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

# From a fresh clone to a finished search on the embedded dev server, with
# its report; see scripts/demo.sh for the settings it reads.
demo:
	BIN=$(BIN) GO=$(GO) scripts/demo.sh

# The test command the README gives; needs `make tools` first.
test: tools
	$(GO) test -count=1 -timeout 40m ./...

# Re-record the golden histories after an intended workflow change (it needs
# workflow.GetVersion for runs already in flight).
golden: tools
	$(GO) test -count=1 ./integration -run TestGoldenHistories -update

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
