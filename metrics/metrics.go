package metrics

import (
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// DefaultBuckets are the histogram upper bounds, in seconds, for timers:
// from a fast look-up activity to a day-long training run.
var DefaultBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400}

type kind int

const (
	counterKind kind = iota
	gaugeKind
	timerKind
)

func (k kind) String() string {
	return [...]string{"counter", "gauge", "histogram"}[k]
}

type series struct {
	name   string
	labels string // rendered {k="v",...} or ""
	kind   kind

	mu      sync.Mutex
	value   float64  // counter, gauge
	buckets []uint64 // timer: cumulative counts per DefaultBuckets bound
	count   uint64
	sum     float64
}

func (s *series) Inc(d int64) {
	s.mu.Lock()
	s.value += float64(d)
	s.mu.Unlock()
}

func (s *series) Update(v float64) {
	s.mu.Lock()
	s.value = v
	s.mu.Unlock()
}

func (s *series) Record(d time.Duration) {
	sec := d.Seconds()
	s.mu.Lock()
	for i, b := range DefaultBuckets {
		if sec <= b {
			s.buckets[i]++
		}
	}
	s.count++
	s.sum += sec
	s.mu.Unlock()
}

type store struct {
	mu     sync.Mutex
	series map[string]*series // name + labels
}

// Registry is a client.MetricsHandler that keeps every series in memory and
// writes them as Prometheus text. Its zero value is not usable: call New.
type Registry struct {
	st     *store
	tags   map[string]string
	prefix string
}

var _ client.MetricsHandler = (*Registry)(nil)

// New returns an empty registry.
func New() *Registry {
	return &Registry{st: &store{series: map[string]*series{}}}
}

// WithTags returns a handler whose series carry tags besides r's (new values
// win for the same key).
func (r *Registry) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(r.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return &Registry{st: r.st, tags: merged, prefix: r.prefix}
}

// Counter returns the counter series name with r's tags.
func (r *Registry) Counter(name string) client.MetricsCounter { return r.get(name, counterKind) }

// Gauge returns the gauge series name with r's tags.
func (r *Registry) Gauge(name string) client.MetricsGauge { return r.get(name, gaugeKind) }

// Timer returns a histogram series, in seconds, named name + "_seconds".
func (r *Registry) Timer(name string) client.MetricsTimer { return r.get(name, timerKind) }

func (r *Registry) get(name string, k kind) *series {
	name = sanitize(name)
	if k == timerKind && !strings.HasSuffix(name, "_seconds") {
		name += "_seconds"
	}
	labels := renderLabels(r.tags)
	id := name + labels
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	s, ok := r.st.series[id]
	if !ok {
		s = &series{name: name, labels: labels, kind: k}
		if k == timerKind {
			s.buckets = make([]uint64, len(DefaultBuckets))
		}
		r.st.series[id] = s
	}
	return s
}

// WriteTo writes every series in the Prometheus text format (version
// 0.0.4), grouped by metric name.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.st.mu.Lock()
	all := slices.Collect(maps.Values(r.st.series))
	r.st.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].name != all[j].name {
			return all[i].name < all[j].name
		}
		return all[i].labels < all[j].labels
	})
	var b strings.Builder
	lastName := ""
	for _, s := range all {
		if s.name != lastName {
			fmt.Fprintf(&b, "# TYPE %s %s\n", s.name, s.kind)
			lastName = s.name
		}
		s.mu.Lock()
		switch s.kind {
		case counterKind, gaugeKind:
			fmt.Fprintf(&b, "%s%s %s\n", s.name, s.labels, formatFloat(s.value))
		case timerKind:
			for i, bound := range DefaultBuckets {
				fmt.Fprintf(&b, "%s_bucket%s %d\n", s.name, withLabel(s.labels, "le", formatFloat(bound)), s.buckets[i])
			}
			fmt.Fprintf(&b, "%s_bucket%s %d\n", s.name, withLabel(s.labels, "le", "+Inf"), s.count)
			fmt.Fprintf(&b, "%s_sum%s %s\n", s.name, s.labels, formatFloat(s.sum))
			fmt.Fprintf(&b, "%s_count%s %d\n", s.name, s.labels, s.count)
		}
		s.mu.Unlock()
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ServeHTTP serves the registry at /metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = r.WriteTo(w)
}

func renderLabels(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(tags))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = sanitize(k) + "=" + strconv.Quote(tags[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func withLabel(labels, k, v string) string {
	l := k + "=" + strconv.Quote(v)
	if labels == "" {
		return "{" + l + "}"
	}
	return labels[:len(labels)-1] + "," + l + "}"
}

// sanitize maps a name onto [a-zA-Z_:][a-zA-Z0-9_:]*.
func sanitize(name string) string {
	var b strings.Builder
	for i, c := range name {
		ok := c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if ok {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
