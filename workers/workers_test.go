package workers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/genius-nas/genius/bench/benchtest"
	"github.com/genius-nas/genius/storage"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/workflows"
)

func dataDir(t testing.TB) string { return benchtest.DataDir(t) }

func dirStore(t testing.TB) storage.Store {
	t.Helper()
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestNewSearchActivities(t *testing.T) {
	if a := NewSearchActivities(Config{}); a.LLM != nil || a.Catalog == nil || a.Catalog.Dir() != DefaultDataDir {
		t.Errorf("no endpoint: %+v", a)
	}
	if a := NewSearchActivities(Config{LLM: llm.Config{APIKey: "sk-x"}, DataDir: "/tables"}); a.LLM == nil || a.Catalog.Dir() != "/tables" {
		t.Errorf("with key: %+v", a)
	}
	if a := NewSearchActivities(Config{LLM: llm.Config{BaseURL: "http://localhost:8000/v1"}}); a.LLM == nil {
		t.Error("a keyless local endpoint gets no client")
	}
}

func TestWorkerOptions(t *testing.T) {
	if o := (Config{}).workerOptions(1); o.MaxConcurrentActivityExecutionSize != 1 {
		t.Errorf("GPU default %d, want 1", o.MaxConcurrentActivityExecutionSize)
	}
	if o := (Config{}).workerOptions(0); o.MaxConcurrentActivityExecutionSize != 0 {
		t.Errorf("CPU default %d, want the SDK's (0)", o.MaxConcurrentActivityExecutionSize)
	}
	if o := (Config{MaxConcurrentActivities: 4, MaxConcurrentWorkflowTasks: 3, Identity: "w1"}).workerOptions(1); o.MaxConcurrentActivityExecutionSize != 4 || o.MaxConcurrentWorkflowTaskExecutionSize != 3 || o.Identity != "w1" {
		t.Errorf("overrides lost: %+v", o)
	}
}

func TestNewWorkers(t *testing.T) {
	if _, err := NewCPUWorker(nil, Config{}); err == nil {
		t.Error("CPU worker without client")
	}
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if w, err := NewCPUWorker(c, Config{DataDir: dataDir(t)}); err != nil || w == nil {
		t.Errorf("CPU worker: %v", err)
	}
	if _, err := NewGPUWorker(c, Config{}, nil); err == nil {
		t.Error("GPU worker without training activities")
	}
	if _, err := NewGPUWorker(c, Config{}, &Training{Proxy: &trainact.TrainingActivities{Store: dirStore(t)}}); err == nil {
		t.Error("GPU worker without retraining activities")
	}
	tr, err := OpenTraining(context.Background(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if w, err := NewGPUWorker(c, Config{}, tr); err != nil || w == nil {
		t.Errorf("GPU worker: %v", err)
	}
}

func TestDescribeHidesKey(t *testing.T) {
	d := Config{LLM: llm.Config{APIKey: "sk-secret-123"}}.Describe()
	if strings.Contains(d, "sk-secret-123") || !strings.Contains(d, "queue genius") {
		t.Errorf("Describe() = %q", d)
	}
}

// TestRegisterSearch runs a search by its registered name on an environment
// wired by RegisterSearch, as cmd/genius and integration tests do.
func TestRegisterSearch(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	RegisterSearch(env, NewSearchActivities(Config{DataDir: dataDir(t)}))
	s, err := specs.Ready("nas-bench-201-imagenet16-120")
	if err != nil {
		t.Fatal(err)
	}
	s.Proposer = specs.Proposer{Kind: specs.ProposerRandom}
	s.Iterations = 3
	env.ExecuteWorkflow(workflows.SearchName, workflows.SearchInput{Spec: s})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.SearchResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Iterations) != 3 || res.Best == nil || res.Best.TestAccuracy == 0 {
		t.Errorf("%+v", res)
	}
}

// TestRegisterTraining runs RetrainChunk by its registered name on an
// environment wired by RegisterTraining: a bad checkpoint folder name is
// rejected by the activity itself, not as an unknown activity.
func TestRegisterTraining(t *testing.T) {
	tr, err := OpenTraining(context.Background(), "file://"+t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Proxy.Store != tr.Store || !strings.Contains(tr.String(), "checkpoint store file://") {
		t.Errorf("training %s", tr)
	}
	tr.SetLoaderWorkers(3)
	if tr.Proxy.LoaderWorkers != 3 || tr.Retrain.LoaderWorkers != 3 || !strings.Contains(tr.String(), "3 image loader workers") {
		t.Errorf("loader workers: proxy %d, retrain %d (%s)", tr.Proxy.LoaderWorkers, tr.Retrain.LoaderWorkers, tr)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	RegisterTraining(env, tr)
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.ExecuteActivity(activities.RetrainChunkName, activities.RetrainChunkInput{Spec: s, CheckpointRun: "../x", UntilEpoch: 1})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrRetrainBadSpec {
		t.Errorf("RetrainChunk with a bad folder name: %v", err)
	}
	if _, err := OpenTraining(context.Background(), "s3://bucket/prefix", ""); err == nil || !strings.Contains(err.Error(), "local directory") {
		t.Errorf("s3 store without a local directory: %v", err)
	}
}
