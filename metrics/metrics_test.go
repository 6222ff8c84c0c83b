package metrics

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegistryText(t *testing.T) {
	r := New()
	h := r.WithTags(map[string]string{"task_queue": "genius", "namespace": "default"})
	h.Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(3)
	h.WithTags(map[string]string{"task_queue": "other"}).Counter("temporal_request").Inc(1)
	h.Gauge("temporal_num_pollers").Update(4)
	h.Gauge("temporal_num_pollers").Update(2)
	tm := r.Timer("temporal.activity-latency")
	tm.Record(20 * time.Millisecond)
	tm.Record(2 * time.Second)

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := rec.Body.String()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, want := range []string{
		"# TYPE temporal_request counter\n",
		`temporal_request{namespace="default",task_queue="genius"} 5` + "\n",
		`temporal_request{namespace="default",task_queue="other"} 1` + "\n",
		"# TYPE temporal_num_pollers gauge\n",
		`temporal_num_pollers{namespace="default",task_queue="genius"} 2` + "\n",
		"# TYPE temporal_activity_latency_seconds histogram\n",
		`temporal_activity_latency_seconds_bucket{le="0.01"} 0` + "\n",
		`temporal_activity_latency_seconds_bucket{le="0.025"} 1` + "\n",
		`temporal_activity_latency_seconds_bucket{le="2.5"} 2` + "\n",
		`temporal_activity_latency_seconds_bucket{le="+Inf"} 2` + "\n",
		"temporal_activity_latency_seconds_sum 2.02\n",
		"temporal_activity_latency_seconds_count 2\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics text lacks %q; got:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "# TYPE temporal_request "); n != 1 {
		t.Errorf("TYPE line for temporal_request appears %d times", n)
	}
}

func TestSanitize(t *testing.T) {
	tests := map[string]string{
		"temporal_request":  "temporal_request",
		"a.b-c":             "a_b_c",
		"9lives":            "_lives",
		"ok:colon_and_9":    "ok:colon_and_9",
		"sp ace/and\"quote": "sp_ace_and_quote",
	}
	for in, want := range tests {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := r.WithTags(map[string]string{"w": "x"})
			for range 1000 {
				h.Counter("c").Inc(1)
				h.Timer("t").Record(time.Duration(i) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `c{w="x"} 8000`) || !strings.Contains(b.String(), `t_seconds_count{w="x"} 8000`) {
		t.Errorf("lost updates:\n%s", b.String())
	}
}
