# syntax=docker/dockerfile:1
#
# The genius binary in a small non-root image. ENTRYPOINT is genius and CMD
# is `worker`, so `docker run IMAGE` starts a CPU worker configured from the
# environment (TEMPORAL_ADDRESS, GENIUS_WORKER_KIND, ...; see
# helm/genius/values.yaml) and `docker run IMAGE search ...` runs another verb.
#
#   docker build -t genius .
#   docker build --build-arg VARIANT=gpu -t genius:gpu .
#
# VARIANT=gpu is the image for GPU workers. Until the CUDA training backend
# lands it builds the same pure-Go binary (training then runs on the CPU of a
# GPU node); the backend will build with the `cuda` tag against
# gorgonia.org/cu, which needs cgo and the CUDA runtime, so that variant will
# also set CGO_ENABLED=1 and RUNTIME_IMAGE to a CUDA runtime base
# (nvidia/cuda:<version>-runtime) in place of distroless/static.

ARG GO_VERSION=1.26
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VARIANT=cpu
ARG CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    case "${VARIANT}" in \
      cpu) tags="" ;; \
      gpu) tags="cuda" ;; \
      *) echo "VARIANT must be cpu or gpu, not ${VARIANT}" >&2; exit 1 ;; \
    esac && \
    CGO_ENABLED=${CGO_ENABLED} go build -trimpath -buildvcs=false -tags "${tags}" \
      -ldflags "-s -w" -o /out/genius ./cmd/genius

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
