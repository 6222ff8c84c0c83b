// Package metrics serves a worker's Prometheus metrics: the Temporal SDK's
// standard worker metrics, through the SDK's tally handler and tally's
// Prometheus reporter, under the names Temporal's dashboards and KEDA use
// (temporal_worker_task_slots_used, temporal_request_total,
// temporal_workflow_task_schedule_to_start_latency_seconds, ...), next to
// genius's own series (genius_*) and the Go runtime's, from one
// prometheus/client_golang registry.
package metrics
