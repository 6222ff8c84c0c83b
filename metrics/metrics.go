package metrics

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// DefaultBuckets are the histogram upper bounds, in seconds, for timers:
// from a fast look-up activity to a day-long training run.
var DefaultBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400}

// DefaultInterval is how often tally hands what was recorded to the
// Prometheus registry; a scrape sees values at most this old.
const DefaultInterval = time.Second

// Options configure New. The zero value takes the defaults.
type Options struct {
	// Interval between tally reports. Default DefaultInterval.
	Interval time.Duration
	// OnError receives errors registering a series (the same name with
	// other label names); default: ignored.
	OnError func(error)
}

// Registry is a worker's metrics: a client.MetricsHandler for the SDK (and
// for activities, through activity.GetMetricsHandler) and an http.Handler
// for /metrics. Close it to stop tally's report loop.
type Registry struct {
	handler client.MetricsHandler
	closer  io.Closer
	http    http.Handler
}

// New returns a registry with the Go runtime and process collectors.
func New(opts Options) (*Registry, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	onErr := opts.OnError
	if onErr == nil {
		onErr = func(error) {}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: DefaultBuckets,
		OnRegisterError:         onErr,
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, opts.Interval)
	return &Registry{
		handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		closer:  closer,
		http: promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			ErrorLog:      errorLog(onErr),
		}),
	}, nil
}

// Handler is the client.MetricsHandler to give the Temporal client
// (client.Options.MetricsHandler): counters get the suffix _total, timers
// become histograms in seconds with the suffix _seconds.
func (r *Registry) Handler() client.MetricsHandler { return r.handler }

// ServeHTTP serves /metrics in the Prometheus exposition formats.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.http.ServeHTTP(w, req) }

// Close stops the report loop after a last report.
func (r *Registry) Close() error { return r.closer.Close() }

type errorLog func(error)

func (f errorLog) Println(v ...any) { f(fmt.Errorf("serve metrics: %s", fmt.Sprint(v...))) }
