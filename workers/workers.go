package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities/searchact"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/taskqueue"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/workflows"
)

// Task queues the workers poll by default.
const (
	CPUTaskQueue = taskqueue.CPU
	GPUTaskQueue = taskqueue.GPU
)

// MetricTrainingBackend is a GPU worker's gauge, 1, whose backend label
// says what it trains on: cpu or cuda.
const MetricTrainingBackend = "genius_training_backend"

// Default data directory, as --data-dir documents it.
const DefaultDataDir = "data"

// Config configures a worker. Zero values take the documented defaults.
type Config struct {
	// TaskQueue to poll. Default "genius" (CPU) or "genius-gpu" (GPU).
	TaskQueue string
	// DataDir holds the benchmark tables. Default "data".
	DataDir string
	// LLM is the OpenAI-compatible endpoint (usually llm.ConfigFromEnv()).
	// With neither key nor base URL the CPU worker has no LLM client and
	// llm proposals fail with a message saying how to configure one.
	LLM llm.Config
	// Chatter, when set, replaces the client built from LLM (tests, other
	// backends).
	Chatter llm.Chatter
	// Prices prices LLM tokens. Nil: the built-in list prices.
	Prices *pricing.Table
	// Metrics, when set, receives genius's own series (MetricLLMRequests,
	// ...); give it the handler the Temporal client has.
	Metrics client.MetricsHandler
	// MaxConcurrentActivities bounds activities running at once. 0 = the
	// SDK's default on CPU workers, 1 on GPU workers (one training per GPU).
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds workflow tasks at once. 0 = SDK
	// default.
	MaxConcurrentWorkflowTasks int
	// Identity names the worker in the Temporal UI. Default: the SDK's
	// pid@host.
	Identity string
	// Interceptors and other SDK options not covered above are passed as
	// they are; Options' queue-specific fields above override them.
	Options worker.Options
	// Device, when set, is the GPU a GPU worker's activities train on
	// (accel.Open); nil trains on the CPU.
	Device *training.Device
}

func (c Config) workerOptions(defaultActivities int) worker.Options {
	o := c.Options
	if c.MaxConcurrentActivities > 0 {
		o.MaxConcurrentActivityExecutionSize = c.MaxConcurrentActivities
	} else if defaultActivities > 0 && o.MaxConcurrentActivityExecutionSize == 0 {
		o.MaxConcurrentActivityExecutionSize = defaultActivities
	}
	if c.MaxConcurrentWorkflowTasks > 0 {
		o.MaxConcurrentWorkflowTaskExecutionSize = c.MaxConcurrentWorkflowTasks
	}
	if c.Identity != "" {
		o.Identity = c.Identity
	}
	return o
}

// NewSearchActivities builds the search activities from cfg: the LLM client
// (nil without key and base URL) and the benchmark catalog.
func NewSearchActivities(cfg Config) *searchact.SearchActivities {
	dir := cfg.DataDir
	if dir == "" {
		dir = DefaultDataDir
	}
	a := &searchact.SearchActivities{Catalog: bench.NewCatalog(dir), LLM: cfg.Chatter, Prices: cfg.Prices}
	if a.LLM == nil && (cfg.LLM.APIKey != "" || cfg.LLM.BaseURL != "") {
		a.LLM = llm.New(cfg.LLM)
	}
	if a.LLM != nil && cfg.Metrics != nil {
		a.LLM = meteredChatter{next: a.LLM, metrics: cfg.Metrics}
	}
	return a
}

// RegisterSearch registers GeniusSearch, GeniusExperiment and the search
// activities on r (a worker, or a testsuite environment). acts nil builds
// them with NewSearchActivities(Config{}).
func RegisterSearch(r worker.Registry, acts *searchact.SearchActivities) {
	if acts == nil {
		acts = NewSearchActivities(Config{})
	}
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows registers only the workflows (replayers, tests that
// bring their own activities).
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.GeniusSearch, workflow.RegisterOptions{Name: workflows.SearchName})
	r.RegisterWorkflowWithOptions(workflows.GeniusExperiment, workflow.RegisterOptions{Name: workflows.ExperimentName})
	r.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	r.RegisterWorkflowWithOptions(workflows.GeniusTransfer, workflow.RegisterOptions{Name: workflows.TransferName})
}

// NewCPUWorker returns a worker (not yet started) on cfg.TaskQueue,
// default "genius", running the workflows and search activities.
func NewCPUWorker(c client.Client, cfg Config) (worker.Worker, error) {
	if c == nil {
		return nil, errors.New("new CPU worker: no Temporal client")
	}
	q := cfg.TaskQueue
	if q == "" {
		q = CPUTaskQueue
	}
	w := worker.New(c, q, cfg.workerOptions(0))
	RegisterSearch(w, NewSearchActivities(cfg))
	return w, nil
}

// Training is what a GPU worker runs: proxy training of candidates (Proxy:
// activity ProxyTrain) and chunked final
// retraining (Retrain: activity RetrainChunk) with its checkpoints in Store.
type Training struct {
	Store   storage.Store
	Proxy   *trainact.TrainingActivities
	Retrain *trainact.RetrainActivities
}

// OpenTraining opens the checkpoint store at storeURL (file:///path, a
// plain path, or s3://bucket/prefix, which gets a write-back store whose
// local copies live in localDir) and builds the training activities on it:
// proxy training and retraining both keep their checkpoints there, so a
// retry on any worker resumes. Close it once the worker has stopped.
func OpenTraining(ctx context.Context, storeURL, localDir string) (*Training, error) {
	st, err := storage.OpenWriteBack(ctx, storeURL, localDir, storage.S3Options{}, storage.WriteBackOptions{})
	if err != nil {
		return nil, err
	}
	return &Training{
		Store:   st,
		Proxy:   &trainact.TrainingActivities{Store: st},
		Retrain: &trainact.RetrainActivities{Store: st},
	}, nil
}

// SetLoaderWorkers sets how many goroutines decode and augment training
// images, for proxy training and retraining alike.
func (t *Training) SetLoaderWorkers(n int) {
	t.Proxy.LoaderWorkers, t.Retrain.LoaderWorkers = n, n
}

// Close stops a write-back store's uploader; pending uploads resume when
// the store is next opened on the same directory.
func (t *Training) Close() error { return storage.CloseStore(t.Store) }

// SetDevice makes proxy training and retraining train on dev (nil: the
// CPU).
func (t *Training) SetDevice(dev *training.Device) {
	t.Proxy.Device, t.Retrain.Device = dev, dev
}

// Backend names what the activities train on: the device, or "cpu".
func (t *Training) Backend() string {
	if t.Retrain != nil && t.Retrain.Device != nil {
		return t.Retrain.Device.Name
	}
	return "cpu"
}

// backendKind is "cpu", or the device's kind ("cuda" of "cuda:0 ..."):
// a metric label without the free text of a device name.
func (t *Training) backendKind() string {
	kind, _, _ := strings.Cut(t.Backend(), ":")
	return kind
}

// String is a one-line summary for logs (no secrets).
func (t *Training) String() string {
	return fmt.Sprintf("checkpoint store %s, %d image loader workers, training on %s", t.Store, t.Retrain.LoaderWorkers, t.Backend())
}

// NewGPUWorker returns a worker (not yet started) on cfg.TaskQueue, default
// "genius-gpu", running the training and retraining activities, one at a
// time unless cfg.MaxConcurrentActivities says otherwise.
func NewGPUWorker(c client.Client, cfg Config, tr *Training) (worker.Worker, error) {
	if c == nil {
		return nil, errors.New("new GPU worker: no Temporal client")
	}
	if tr == nil || tr.Proxy == nil || tr.Retrain == nil {
		return nil, errors.New("new GPU worker: no training activities")
	}
	if cfg.Device != nil {
		tr.SetDevice(cfg.Device)
	}
	q := cfg.TaskQueue
	if q == "" {
		q = GPUTaskQueue
	}
	w := worker.New(c, q, cfg.workerOptions(1))
	if cfg.Metrics != nil {
		// One series per worker saying what it trains on, for dashboards
		// and alerts (a GPU pod that reports cpu).
		cfg.Metrics.WithTags(map[string]string{"backend": tr.backendKind()}).Gauge(MetricTrainingBackend).Update(1)
	}
	RegisterTraining(w, tr)
	return w, nil
}

// RegisterTraining registers the training activity sets on r (a worker, or
// a testsuite environment); a nil set is left out.
func RegisterTraining(r worker.ActivityRegistry, training *Training) {
	if training.Proxy != nil {
		r.RegisterActivity(training.Proxy)
	}
	if training.Retrain != nil {
		r.RegisterActivity(training.Retrain)
	}
}

// Describe is a one-line summary of a CPU worker's configuration for logs
// (no secrets).
func (c Config) Describe() string {
	q := c.TaskQueue
	if q == "" {
		q = CPUTaskQueue
	}
	dir := c.DataDir
	if dir == "" {
		dir = DefaultDataDir
	}
	return fmt.Sprintf("queue %s, data %s, %s", q, dir, c.LLM)
}
