package workers

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/metrics"
	"github.com/genius-nas/genius/training"
)

// A GPU worker's device reaches both activity sets, its log line and its
// genius_training_backend series; without one it says cpu.
func TestGPUWorkerDevice(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		dev        *training.Device
		want, kind string
	}{{nil, "cpu", "cpu"}, {&training.Device{Name: "cuda:0 Test GPU bf16"}, "cuda:0 Test GPU bf16", "cuda"}} {
		reg, err := metrics.New(metrics.Options{Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := OpenTraining(context.Background(), t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewGPUWorker(c, Config{Device: tc.dev, Metrics: reg.Handler()}, tr); err != nil {
			t.Fatal(err)
		}
		if tr.Proxy.Device != tc.dev || tr.Retrain.Device != tc.dev {
			t.Errorf("%s: activities got devices %v and %v", tc.want, tr.Proxy.Device, tr.Retrain.Device)
		}
		if s := tr.String(); !strings.Contains(s, "training on "+tc.want) {
			t.Errorf("log summary %q does not say it trains on %s", s, tc.want)
		}
		if err := reg.Close(); err != nil { // reports the gauge
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		if want := MetricTrainingBackend + `{backend="` + tc.kind + `"} 1`; !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}
