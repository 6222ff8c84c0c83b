// Package charttest checks the genius Helm chart (helm/genius) offline.
//
// It renders the chart with a real helm binary, decodes every rendered
// document strictly into the Kubernetes API types of k8s.io/api (unknown,
// duplicate or miscased fields are errors, as a strict API server would
// report them), checks the custom resources it renders (KEDA ScaledObject
// and TriggerAuthentication, Prometheus Operator ServiceMonitor) against the
// fields those operators read, and checks what no schema can: selectors that
// match their pods, mounts that name a volume, probes that name a port, and
// that secrets reach pods only through Secret references.
//
// No schema is downloaded and no cluster is needed. The tests find helm via
// GENIUS_HELM_BIN, then bin/helm in a parent directory, then PATH; without
// one they skip, except under CI=true where they fail.
package charttest
