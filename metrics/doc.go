// Package metrics collects the Temporal SDK's worker metrics (it implements
// client.MetricsHandler) and serves them in the Prometheus text exposition
// format, without the tally and Prometheus client dependencies.
package metrics
