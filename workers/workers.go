package workers

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/searchact"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/workflows"
)

// Task queues.
const (
	CPUTaskQueue = workflows.TaskQueue // "genius"
	GPUTaskQueue = "genius-gpu"
)

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

// Trainer is what a GPU worker runs: trainact.TrainingActivities. Every
// exported method of the value is registered under its name, so ProxyTrain
// and Validate become activities "ProxyTrain" and "Validate".
type Trainer interface {
	ProxyTrain(ctx context.Context, in activities.ProxyTrainInput) (activities.TrainResult, error)
}

// NewGPUWorker returns a worker (not yet started) on cfg.TaskQueue, default
// "genius-gpu", running the training activities, one at a time unless
// cfg.MaxConcurrentActivities says otherwise.
func NewGPUWorker(c client.Client, cfg Config, training Trainer) (worker.Worker, error) {
	if c == nil {
		return nil, errors.New("new GPU worker: no Temporal client")
	}
	if training == nil {
		return nil, errors.New("new GPU worker: no training activities")
	}
	q := cfg.TaskQueue
	if q == "" {
		q = GPUTaskQueue
	}
	w := worker.New(c, q, cfg.workerOptions(1))
	RegisterTraining(w, training)
	return w, nil
}

// RegisterTraining registers the training activities on r.
func RegisterTraining(r worker.ActivityRegistry, training Trainer) {
	r.RegisterActivity(training)
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
