// Package health serves a worker's Kubernetes probes: /healthz (liveness:
// the process serves and its worker has not failed) and /readyz (readiness:
// the worker has started and the Temporal frontend answers).
package health
