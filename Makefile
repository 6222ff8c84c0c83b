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

.PHONY: all build tools test test-turbojpeg vet bench golden clean demo ptx ptx-check clang-cuda build-cuda

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

# The loader with libjpeg-turbo (cgo; Debian's libjpeg62-turbo-dev), under
# the race detector: the decoder GPU workers use.
test-turbojpeg:
	$(GO) test -count=1 -race -tags turbojpeg ./training/data

# Re-record the golden histories after an intended workflow change (it needs
# workflow.GetVersion for runs already in flight).
golden: tools
	$(GO) test -count=1 ./integration -run TestGoldenHistories -update

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)

# CUDA kernels: PTX from training/cuda/kernels/*.cu with Debian's clang-19
# (no NVIDIA toolkit); sm_80 PTX runs on A100 and newer (the driver JITs it).
CLANG_CUDA   ?= clang-19
PTX_FLAGS    := --cuda-gpu-arch=sm_80 --cuda-device-only -nocudalib -nocudainc -O3 -S
CUDA_SOURCES := $(wildcard training/cuda/kernels/*.cu)

ptx: clang-cuda
	for f in $(CUDA_SOURCES); do $(CLANG_CUDA) $(PTX_FLAGS) $$f -o training/cuda/ptx/$$(basename $$f .cu).ptx || exit 1; done

# Fails when the committed PTX does not match its sources.
ptx-check: clang-cuda
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	for f in $(CUDA_SOURCES); do $(CLANG_CUDA) $(PTX_FLAGS) $$f -o $$tmp/$$(basename $$f .cu).ptx || exit 1; done && \
	diff -ru training/cuda/ptx $$tmp || { echo 'PTX is stale: run make ptx and commit training/cuda/ptx'; exit 1; }

clang-cuda:
	@command -v $(CLANG_CUDA) >/dev/null || { echo "$(CLANG_CUDA) not found: apt-get install -y clang-19"; exit 1; }

# The cuda-tagged build against the CUDA headers and link stubs in
# GENIUS_CUDA_DIR (default ../shared/cuda); see training/cuda/build.sh.
build-cuda:
	training/cuda/build.sh
