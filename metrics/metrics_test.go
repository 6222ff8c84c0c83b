package metrics

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// The SDK's metric names come out under the names Temporal's dashboards
// and KEDA query: counters with _total, timers as histograms in seconds.
func TestSDKNames(t *testing.T) {
	var errs []error
	r, err := New(Options{Interval: time.Hour, OnError: func(err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler().WithTags(map[string]string{"task_queue": "genius", "namespace": "default"})
	h.Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(3)
	h.WithTags(map[string]string{"task_queue": "other"}).Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"worker_type": "ActivityWorker"}).Gauge("temporal_worker_task_slots_used").Update(4)
	tm := h.Timer("temporal_workflow_task_schedule_to_start_latency")
	tm.Record(20 * time.Millisecond)
	tm.Record(2 * time.Second)
	// Values reach Prometheus when tally reports; Close reports once.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, r)
	for _, want := range []string{
		"# TYPE temporal_request_total counter\n",
		`temporal_request_total{namespace="default",task_queue="genius"} 5` + "\n",
		`temporal_request_total{namespace="default",task_queue="other"} 1` + "\n",
		"# TYPE temporal_worker_task_slots_used gauge\n",
		`temporal_worker_task_slots_used{namespace="default",task_queue="genius",worker_type="ActivityWorker"} 4` + "\n",
		"# TYPE temporal_workflow_task_schedule_to_start_latency_seconds histogram\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{namespace="default",task_queue="genius",le="0.01"} 0` + "\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{namespace="default",task_queue="genius",le="0.025"} 1` + "\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{namespace="default",task_queue="genius",le="+Inf"} 2` + "\n",
		`temporal_workflow_task_schedule_to_start_latency_seconds_count{namespace="default",task_queue="genius"} 2` + "\n",
		"# TYPE go_goroutines gauge\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics text lacks %q; got:\n%s", want, got)
		}
	}
	if len(errs) > 0 {
		t.Errorf("registration errors: %v", errors.Join(errs...))
	}
}

// Label values are sanitised to what Prometheus accepts.
func TestSanitizedLabels(t *testing.T) {
	r, err := New(Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r.Handler().WithTags(map[string]string{"outcome": "rate-limit"}).Counter("genius_llm_requests").Inc(1)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, r); !strings.Contains(got, `genius_llm_requests_total{outcome="rate_limit"} 1`) {
		t.Errorf("metrics text lacks the sanitised series; got:\n%s", got)
	}
}
