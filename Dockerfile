# syntax=docker/dockerfile:1
#
# The genius binary in a small non-root image. ENTRYPOINT is genius and CMD
# is `worker`, so `docker run IMAGE` starts a CPU worker configured from the
# environment (TEMPORAL_ADDRESS, GENIUS_WORKER_KIND, ...; see
# helm/genius/values.yaml) and `docker run IMAGE search ...` runs another verb.
#
#   docker build -t genius .
#
# This image trains on the CPU only: its genius is pure Go. GPU workers run
# the CUDA image, Dockerfile.cuda (`docker build -f Dockerfile.cuda .`).

ARG GO_VERSION=1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VARIANT=cpu
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    case "${VARIANT}" in \
      cpu) ;; \
      *) echo "VARIANT=${VARIANT}: this Dockerfile builds the CPU image only; build the GPU image with docker build -f Dockerfile.cuda ." >&2; exit 1 ;; \
    esac && \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/genius ./cmd/genius

FROM ${RUNTIME_IMAGE}
ARG VARIANT=cpu
ARG VERSION=dev
LABEL org.opencontainers.image.title="genius" \
      org.opencontainers.image.description="Durable LLM-driven neural architecture search on Temporal (${VARIANT} worker)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/genius-nas/genius"
COPY --from=build /out/genius /usr/local/bin/genius
# distroless nonroot: UID/GID 65532; the chart's podSecurityContext uses the same.
USER 65532:65532
WORKDIR /home/nonroot
# Health (/healthz, /readyz) and Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/genius"]
CMD ["worker"]
