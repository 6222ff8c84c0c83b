package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// devOptions are `genius dev`'s flags.
type devOptions struct {
	client    clientFlags
	stateDir  string
	dataDir   string
	headless  bool
	uiPort    int
	gpuWorker bool
}

// defaultStateDir is $GENIUS_STATE_DIR, else $XDG_STATE_HOME/genius, else
// ./.genius.
func defaultStateDir() string {
	if d := os.Getenv("GENIUS_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "genius")
	}
	return ".genius"
}

func newDevCmd() *cobra.Command {
	var opts devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local Temporal dev server (if none answers) and workers with everything registered",
		Long: `Start what a search needs on one machine, until Ctrl-C:

 - the Temporal CLI's dev server (SQLite, state kept in --state-dir), unless a
   server already answers at --address; it is started with genius's search
   attributes (GeniusBenchmark, GeniusProposer, GeniusBestAccuracy,
   GeniusLLMCostUSD) and serves the Temporal Web UI (its URL is printed;
   --headless turns it off);
 - a CPU worker on task queue "` + workers.CPUTaskQueue + `" (searches, experiments, LLM, look-ups);
 - a training worker on "` + workers.GPUTaskQueue + `" (proxy training and
   retraining), running on the CPU.

The temporal binary is $GENIUS_TEMPORAL_BIN, else bin/temporal in this or a
parent directory (make tools), else temporal on PATH. The LLM proposer uses
OPENAI_API_KEY and OPENAI_BASE_URL from the environment, and prices tokens
by the JSON table GENIUS_LLM_PRICES names (default: the built-in list
prices, see genius llm-prices).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *devOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	addDataDirFlag(fs, &f.dataDir)
	fs.StringVar(&f.stateDir, "state-dir", defaultStateDir(), "where the dev server keeps its database and log, and training its checkpoints (env GENIUS_STATE_DIR, else $XDG_STATE_HOME/genius, else ./.genius)")
	fs.BoolVar(&f.headless, "headless", false, "do not serve the Temporal Web UI")
	fs.IntVar(&f.uiPort, "ui-port", 0, "port of the Temporal Web UI; 0 = the frontend port + 1000 (8233 for the default address)")
	fs.BoolVar(&f.gpuWorker, "gpu-worker", true, `also run a training worker (queue "`+workers.GPUTaskQueue+`") on the CPU`)
}

func runDev(ctx context.Context, f devOptions, _, stderr io.Writer) error {
	logger := newLogger(stderr, slog.LevelInfo)
	out := stderr
	opts, err := f.client.options(nil)
	if err != nil {
		return err
	}

	var srv *devserver.Server
	if answers(ctx, opts) {
		fmt.Fprintf(out, "Using the Temporal server that answers at %s.\n", f.client.Address)
	} else {
		srv, err = startDevServer(ctx, f, out)
		if err != nil {
			return err
		}
		defer func() {
			fmt.Fprintln(out, "Stopping the Temporal dev server...")
			if err := srv.Stop(); err != nil {
				logger.Error("stop dev server", "error", err)
			}
		}()
	}

	wopts, err := f.client.options(logger.With("component", "sdk"))
	if err != nil {
		return err
	}
	wopts.Logger = workers.NewTaskFailureLogger(wopts.Logger, f.client.Namespace)
	c, err := client.DialContext(ctx, wopts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", f.client.Address, err)
	}
	defer c.Close()
	if srv == nil {
		// A server we did not start may lack genius's search attributes.
		added, err := ensureSearchAttributes(ctx, c, f.client.Namespace, attrsRegister)
		if len(added) > 0 {
			fmt.Fprintf(out, "Added search attributes to namespace %s.\n", f.client.Namespace)
		}
		if err != nil {
			fmt.Fprintf(out, "Warning: %v\n", err)
		}
	}

	fatal := make(chan error, 2)
	onFatal := func(err error) {
		select {
		case fatal <- err:
		default:
		}
	}
	prices, err := llmPricesFromEnv()
	if err != nil {
		return err
	}
	cfg := workers.Config{DataDir: f.dataDir, LLM: llm.ConfigFromEnv(), Prices: prices, Options: worker.Options{OnFatalError: onFatal}}
	cpu, err := workers.NewCPUWorker(c, cfg)
	if err != nil {
		return err
	}
	started := []worker.Worker{}
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].Stop()
		}
	}()
	if err := cpu.Start(); err != nil {
		return fmt.Errorf("start CPU worker: %w", err)
	}
	started = append(started, cpu)
	if f.gpuWorker {
		tr, err := workers.OpenTraining(ctx, filepath.Join(f.stateDir, "checkpoints"), "")
		if err != nil {
			return fmt.Errorf("checkpoints under --state-dir: %w", err)
		}
		// A directory store needs no Close.
		gpu, err := workers.NewGPUWorker(c, workers.Config{Options: worker.Options{OnFatalError: onFatal}}, tr)
		if err != nil {
			return err
		}
		if err := gpu.Start(); err != nil {
			return fmt.Errorf("start training worker: %w", err)
		}
		started = append(started, gpu)
	}

	fmt.Fprintf(out, "Workers running on task queue %q", workers.CPUTaskQueue)
	if f.gpuWorker {
		fmt.Fprintf(out, " and %q (training, on the CPU)", workers.GPUTaskQueue)
	}
	fmt.Fprintf(out, "; %s.\n", cfg.Describe())
	fmt.Fprintf(out, "Submit a search:\n  genius search --address %s --spec specs/nas-bench-macro.json --proposer random\n", f.client.Address)
	fmt.Fprintf(out, "  temporal workflow start --address %s --type %s --task-queue %s --input-file specs/nas-bench-macro.json\n",
		f.client.Address, workflows.SearchName, workers.CPUTaskQueue)
	fmt.Fprintln(out, "Press Ctrl-C to stop.")

	var serverDone <-chan struct{}
	if srv != nil {
		serverDone = srv.Done()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nStopping workers...")
		return nil
	case err := <-fatal:
		return fmt.Errorf("worker failed: %w", err)
	case <-serverDone:
		return fmt.Errorf("the Temporal dev server exited on its own; its log: %s\n%s", filepath.Join(f.stateDir, "temporal.log"), srv.Output())
	}
}

// answers reports whether a Temporal frontend answers at the address.
func answers(ctx context.Context, opts client.Options) bool {
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return false
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return devserver.Ping(ctx, c, opts.Namespace) == nil
}

func startDevServer(ctx context.Context, f devOptions, out io.Writer) (*devserver.Server, error) {
	host, portStr, err := net.SplitHostPort(f.client.Address)
	if err != nil {
		return nil, fmt.Errorf("--address %q is not host:port: %w", f.client.Address, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--address %q has no numeric port", f.client.Address)
	}
	ip := host
	switch host {
	case "localhost", "":
		ip = "127.0.0.1"
	}
	if p := net.ParseIP(ip); p == nil || !(p.IsLoopback() || p.IsUnspecified() || isLocalIP(p)) {
		return nil, fmt.Errorf("nothing answers at %s, and genius dev only starts a server on this machine: point --address/TEMPORAL_ADDRESS at a running server, or at %s", f.client.Address, DefaultAddress)
	}
	bin, err := devserver.FindBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(f.stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("create --state-dir: %w", err)
	}
	logPath := filepath.Join(f.stateDir, "temporal.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open dev server log: %w", err)
	}
	attrs := map[string]string{}
	for _, a := range workflows.SearchAttributes() {
		attrs[a.Name] = a.Type
	}
	opts := devserver.Options{
		Bin:              bin,
		IP:               ip,
		Port:             port,
		DBFile:           filepath.Join(f.stateDir, "temporal.db"),
		Namespace:        f.client.Namespace,
		SearchAttributes: attrs,
		UI:               !f.headless,
		UIPort:           f.uiPort,
		Output:           logFile,
	}
	if f.client.Namespace != client.DefaultNamespace {
		opts.Namespaces = []string{f.client.Namespace}
	}
	fmt.Fprintf(out, "Starting the Temporal dev server: %s %s\n  (log %s)\n", bin, shellJoin(devserver.Args(opts)), logPath)
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		logFile.Close()
		if opts.UI {
			return nil, fmt.Errorf("%w\n(the Web UI needs a free port, by default the frontend port + 1000: pick another with --ui-port, or run without it with --headless)", err)
		}
		return nil, err
	}
	fmt.Fprintf(out, "Temporal dev server at %s, state in %s.\n", srv.Address(), opts.DBFile)
	if u := srv.UIURL(); u != "" {
		fmt.Fprintf(out, "Temporal Web UI: %s/namespaces/%s/workflows\n", u, f.client.Namespace)
	}
	go func() {
		<-srv.Done()
		logFile.Close()
	}()
	return srv, nil
}

func isLocalIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func shellJoin(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		s += a
	}
	return s
}
