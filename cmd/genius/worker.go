package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/accel"
	"github.com/genius-nas/genius/health"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/metrics"
	"github.com/genius-nas/genius/workers"
)

// Worker kinds (--kind).
const (
	kindCPU = "cpu"
	kindGPU = "gpu"
)

// workerOptions are `genius worker`'s flags (README, Configuration).
type workerOptions struct {
	client          clientFlags
	kind            string
	taskQueue       string
	maxActivities   int
	dataDir         string
	healthAddr      string
	metricsAddr     string
	checkpointStore string
	checkpointDir   string
	// stopTimeout is how long Stop waits for activities in flight; 0 means
	// the kind's default (gpuStopTimeout on gpu).
	stopTimeout time.Duration
	// env holds environment defaults that did not parse.
	env envDefaults
	// searchAttributes: attrsRegister, attrsCheck or attrsSkip.
	searchAttributes string
	// loaderWorkers decode training images in parallel on a gpu worker;
	// 0 means GOMAXPROCS (the CPUs the container may use).
	loaderWorkers int
	// backend is what a gpu worker trains on (default cuda).
	backend backendOptions
	// microBatch is a gpu worker's micro-batch for proxy training whose
	// spec sets none; 0: whole batches.
	microBatch int
}

// gpuStopTimeout is a GPU worker's default stop timeout: long enough for a
// training step to end, checkpoint and heartbeat, and under the chart's
// one-hour terminationGracePeriodSeconds.
const gpuStopTimeout = 55 * time.Minute

func newWorkerCmd() *cobra.Command { return newWorkerCmdRun(runWorker) }

// newWorkerCmdRun builds the command around run, so tests can see the
// parsed flags without a Temporal server.
func newWorkerCmdRun(run func(ctx context.Context, opts workerOptions, stdout, stderr io.Writer) error) *cobra.Command {
	var opts workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker against an existing Temporal server",
		Long: `Run a genius worker until interrupted (SIGINT or SIGTERM).

--kind cpu (default) polls task queue "` + workers.CPUTaskQueue + `": the GeniusSearch,
GeniusExperiment and GeniusRetrain workflows, LLM proposals, proposal checks and benchmark
look-ups. The LLM endpoint comes from OPENAI_API_KEY and OPENAI_BASE_URL
in the environment; the key never enters a workflow payload or a log line.
Tokens are priced by the JSON table GENIUS_LLM_PRICES names (default: the
built-in list prices, see genius llm-prices).

--kind gpu polls "` + workers.GPUTaskQueue + `": proxy training and retraining
chunks (GeniusRetrain), one at a time unless --max-concurrent-activities
says otherwise; checkpoints go to --checkpoint-store. It trains on the GPU
(--backend cuda, its default), which needs a genius built with CUDA (the
CUDA image, or make build-cuda) and a visible NVIDIA GPU; without either it
exits with an error rather than train on the CPU. --backend cpu makes it
train on the CPU.

Probes: GET /healthz (alive) and /readyz (worker started and the Temporal
frontend answers) on --health-addr; Prometheus metrics at /metrics on
--metrics-addr: the Temporal SDK's standard worker metrics
(temporal_worker_task_slots_used, temporal_request_total,
temporal_workflow_task_schedule_to_start_latency_seconds, ...), genius's
own (genius_llm_requests_total, genius_llm_tokens_total,
genius_llm_request_latency_seconds) and the Go runtime's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A bad env value matters only when the flag does not override it.
			if err := opts.env.check(cmd.Flags()); err != nil {
				return err
			}
			return run(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs, their defaults from the
// environment.
func (f *workerOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.kind, "kind", envOr("GENIUS_WORKER_KIND", kindCPU), "cpu (workflows, LLM, look-ups) or gpu (training) (env GENIUS_WORKER_KIND)")
	fs.StringVar(&f.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", ""), `task queue to poll; default "`+workers.CPUTaskQueue+`" (cpu) or "`+workers.GPUTaskQueue+`" (gpu) (env GENIUS_TASK_QUEUE)`)
	fs.IntVar(&f.maxActivities, "max-concurrent-activities", f.env.Int("max-concurrent-activities", "GENIUS_MAX_CONCURRENT_ACTIVITIES", 0), "activities run at once; 0 = SDK default on cpu, 1 on gpu (env GENIUS_MAX_CONCURRENT_ACTIVITIES)")
	addDataDirFlag(fs, &f.dataDir)
	fs.StringVar(&f.healthAddr, "health-addr", envOr("GENIUS_HEALTH_ADDR", ":8080"), `address of /healthz and /readyz; "" disables (env GENIUS_HEALTH_ADDR)`)
	fs.StringVar(&f.metricsAddr, "metrics-addr", envOr("GENIUS_METRICS_ADDR", ":9090"), `address of Prometheus /metrics; "" disables (env GENIUS_METRICS_ADDR)`)
	fs.StringVar(&f.checkpointStore, "checkpoint-store", envOr("GENIUS_CHECKPOINT_STORE", defaultCheckpointStore), "where gpu workers keep training checkpoints: file:///path or s3://bucket/prefix (env GENIUS_CHECKPOINT_STORE; S3 settings from GENIUS_S3_ENDPOINT, GENIUS_S3_REGION, GENIUS_S3_PATH_STYLE and the AWS credential chain)")
	fs.StringVar(&f.checkpointDir, "checkpoint-dir", envOr("GENIUS_CHECKPOINT_DIR", ""), "local directory for checkpoints when --checkpoint-store is s3:// (write-back copies awaiting upload) (env GENIUS_CHECKPOINT_DIR)")
	fs.IntVar(&f.loaderWorkers, "loader-workers", f.env.Int("loader-workers", "GENIUS_LOADER_WORKERS", 0), "gpu workers: goroutines decoding and augmenting training images; 0 = GOMAXPROCS, the CPUs this process may use (env GENIUS_LOADER_WORKERS)")
	f.backend.AddFlags(fs, &f.env, "", "default cuda on --kind gpu: a gpu worker trains on the CPU only when told --backend cpu")
	fs.IntVar(&f.microBatch, "micro-batch", f.env.Int("micro-batch", "GENIUS_MICRO_BATCH", 0), "gpu workers: micro-batch of proxy training whose spec leaves evaluator.train.micro_batch unset (the largest divisor of the batch up to it; gradients accumulate over the batch); 0 = whole batches (env GENIUS_MICRO_BATCH)")
	fs.StringVar(&f.searchAttributes, "search-attributes", envOr("GENIUS_SEARCH_ATTRIBUTES", attrsRegister), searchAttributesUsage)
	fs.DurationVar(&f.stopTimeout, "stop-timeout", f.env.Duration("stop-timeout", "GENIUS_WORKER_STOP_TIMEOUT"), "how long a stopping worker (SIGTERM) waits for activities in flight, e.g. 55m; 0 = SDK default on cpu (no wait: activities are cancelled at once), 55m on gpu; keep it under the pod's terminationGracePeriodSeconds (env GENIUS_WORKER_STOP_TIMEOUT)")
}

// sdkOptions are the SDK options the flags set; onFatal receives a
// worker's fatal error.
func (f workerOptions) sdkOptions(onFatal func(error)) (worker.Options, error) {
	if f.stopTimeout < 0 {
		return worker.Options{}, fmt.Errorf("--stop-timeout is %s: use 0 (the default) or a positive duration (env GENIUS_WORKER_STOP_TIMEOUT)", f.stopTimeout)
	}
	stop := f.stopTimeout
	if stop == 0 && f.kind == kindGPU {
		stop = gpuStopTimeout
	}
	return worker.Options{OnFatalError: onFatal, WorkerStopTimeout: stop}, nil
}

func runWorker(ctx context.Context, f workerOptions, _, stderr io.Writer) error {
	logger := newLogger(stderr, slog.LevelInfo)
	if f.kind != kindCPU && f.kind != kindGPU {
		return fmt.Errorf("--kind is %q: use cpu or gpu", f.kind)
	}
	if err := checkSearchAttributesMode(f.searchAttributes); err != nil {
		return err
	}
	if f.loaderWorkers < 0 {
		return fmt.Errorf("--loader-workers is %d: use 0 (GOMAXPROCS) or a positive number (env GENIUS_LOADER_WORKERS)", f.loaderWorkers)
	}
	if f.microBatch < 0 {
		return fmt.Errorf("--micro-batch is %d: use 0 (whole batches) or a positive number (env GENIUS_MICRO_BATCH)", f.microBatch)
	}
	// The GPU opens before anything connects: a worker that cannot train
	// where it was asked to exits at once.
	var acc *accel.Accelerator
	if f.kind == kindGPU {
		var err error
		if acc, err = openBackend(f.backend, accel.CUDA, "genius worker --kind gpu"); err != nil {
			return err
		}
		defer func() {
			if err := acc.Close(); err != nil {
				logger.Error("close the GPU", "error", err)
			}
		}()
	} else if f.backend.backend == string(accel.CUDA) {
		return fmt.Errorf("--backend cuda is for --kind gpu: a cpu worker trains nothing (env GENIUS_BACKEND)")
	}
	fatal := make(chan error, 1)
	wopts, err := f.sdkOptions(func(err error) {
		select {
		case fatal <- err:
		default:
		}
	})
	if err != nil {
		return err
	}
	opts, err := f.client.options(logger)
	if err != nil {
		return err
	}
	var reg *metrics.Registry
	if f.metricsAddr != "" {
		reg, err = metrics.New(metrics.Options{OnError: func(err error) { logger.Warn("metrics", "error", err) }})
		if err != nil {
			return err
		}
		defer reg.Close()
		opts.MetricsHandler = reg.Handler()
	}
	opts.Logger = workers.NewTaskFailureLogger(opts.Logger, f.client.Namespace)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (namespace %s): %w; check --address/TEMPORAL_ADDRESS", f.client.Address, f.client.Namespace, err)
	}
	defer c.Close()
	if f.kind == kindCPU {
		added, err := ensureSearchAttributes(ctx, c, f.client.Namespace, f.searchAttributes)
		if len(added) > 0 {
			logger.Info("registered search attributes", "namespace", f.client.Namespace, "names", strings.Join(added, ","))
		}
		if err != nil {
			return err
		}
	}

	prices, err := llmPricesFromEnv()
	if err != nil {
		return err
	}
	cfg := workers.Config{
		TaskQueue:               f.taskQueue,
		DataDir:                 f.dataDir,
		LLM:                     llm.ConfigFromEnv(),
		Prices:                  prices,
		MaxConcurrentActivities: f.maxActivities,
		Options:                 wopts,
		Metrics:                 opts.MetricsHandler,
	}
	if acc != nil {
		cfg.Device = acc.Device
	}
	var w worker.Worker
	queue := f.taskQueue
	describe := cfg.Describe()
	switch f.kind {
	case kindCPU:
		if queue == "" {
			queue = workers.CPUTaskQueue
		}
		w, err = workers.NewCPUWorker(c, cfg)
	case kindGPU:
		if queue == "" {
			queue = workers.GPUTaskQueue
		}
		var tr *workers.Training
		tr, err = openTraining(ctx, f.checkpointStore, f.checkpointDir)
		if err != nil {
			return err
		}
		tr.SetLoaderWorkers(cmp.Or(f.loaderWorkers, runtime.GOMAXPROCS(0)))
		tr.Proxy.MicroBatch = f.microBatch
		defer func() {
			if err := tr.Close(); err != nil {
				logger.Error("close checkpoint store", "error", err)
			}
		}()
		w, err = workers.NewGPUWorker(c, cfg, tr)
		describe = fmt.Sprintf("queue %s, %s", queue, tr)
	}
	if err != nil {
		return err
	}

	hh := &health.Handler{Check: func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
	stopHTTP, err := serveHTTP(logger, f.healthAddr, f.metricsAddr, hh, reg)
	if err != nil {
		return err
	}
	defer stopHTTP()

	if err := w.Start(); err != nil {
		return fmt.Errorf("start %s worker on task queue %s: %w", f.kind, queue, err)
	}
	hh.SetReady(true)
	started := []any{"kind", f.kind, "task_queue", queue, "address", f.client.Address, "namespace", f.client.Namespace}
	if acc != nil {
		started = append(started, "backend", acc.Name())
	}
	logger.Info("worker started", append(started, "config", describe)...)
	select {
	case <-ctx.Done():
		logger.Info("stopping worker: interrupted; activities in flight get the worker's stop timeout to finish", "stop_timeout", wopts.WorkerStopTimeout)
		hh.SetReady(false)
		w.Stop()
		return nil
	case err := <-fatal:
		hh.Fail(err)
		w.Stop()
		return fmt.Errorf("worker on task queue %s failed: %w", queue, err)
	}
}

// openTraining opens a GPU worker's checkpoint store and training
// activities, naming the flags to change when that fails.
func openTraining(ctx context.Context, store, localDir string) (*workers.Training, error) {
	tr, err := workers.OpenTraining(ctx, store, localDir)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint-store: %w (env GENIUS_CHECKPOINT_STORE; an s3:// store also needs --checkpoint-dir, env GENIUS_CHECKPOINT_DIR)", err)
	}
	return tr, nil
}

// serveHTTP serves the probes and the metrics (on one server when the
// addresses are equal); listening first so a taken port fails the start.
func serveHTTP(logger *slog.Logger, healthAddr, metricsAddr string, hh *health.Handler, reg *metrics.Registry) (stop func(), err error) {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
		}
		return muxes[addr]
	}
	if healthAddr != "" {
		m := mux(healthAddr)
		m.Handle("/healthz", hh)
		m.Handle("/livez", hh)
		m.Handle("/readyz", hh)
	}
	if metricsAddr != "" && reg != nil {
		mux(metricsAddr).Handle("/metrics", reg)
	}
	var servers []*http.Server
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(ctx)
		}
	}
	for addr, m := range muxes {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			stop()
			return nil, fmt.Errorf("listen on %s for health/metrics: %w; pick another with --health-addr/--metrics-addr, or \"\" to disable", addr, err)
		}
		s := &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		logger.Info("serving probes/metrics", "addr", l.Addr().String())
		go func() {
			if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("health/metrics server stopped", "addr", addr, "error", err)
			}
		}()
	}
	return stop, nil
}
