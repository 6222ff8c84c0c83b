package devserver

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// BinEnv names the environment variable that points at the temporal CLI
// binary; `make test` sets it to ./bin/temporal.
const BinEnv = "GENIUS_TEMPORAL_BIN"

// DefaultDynamicConfig is added to every server unless Options.DynamicConfig
// sets the same key. Measured here with one worker running searches back to
// back (10 iterations each): with the dev server's defaults a search took
// 1.3-3 s; with these, 0.3-0.45 s.
//   - The dev server has one history shard, and its history queues poll for
//     new tasks at most 20 times a second, which adds about 45 ms to every
//     task dispatch once a worker is busy (production clusters spread the
//     same limit over hundreds of shards).
//   - Task queues have 4 partitions; with a single worker's few pollers a
//     task can sit up to seconds in a partition nobody polls before it is
//     forwarded. One partition is plenty for one machine.
//   - Eager activity execution hands an activity scheduled by a workflow
//     task to the worker that completed it, in the same reply, instead of
//     through matching: a search's Propose then starts ~2-5 ms sooner per
//     iteration (servers have it off by default; Temporal Cloud has it on).
var DefaultDynamicConfig = []string{
	"history.transferProcessorMaxPollRPS=1000",
	"history.timerProcessorMaxPollRPS=1000",
	"history.visibilityProcessorMaxPollRPS=1000",
	"matching.numTaskqueueReadPartitions=1",
	"matching.numTaskqueueWritePartitions=1",
	"system.enableActivityEagerExecution=true",
}

// ErrNotFound is returned by FindBinary when no temporal CLI binary exists.
var ErrNotFound = errors.New("temporal CLI not found: run `make tools` (installs ./bin/temporal) or set " + BinEnv)

// Options configure Start. The zero value starts an in-memory server on a
// free port of 127.0.0.1 with the Web UI off.
type Options struct {
	// Bin is the temporal CLI binary. Default: FindBinary().
	Bin string
	// IP the frontend binds to. Default "127.0.0.1".
	IP string
	// Port of the frontend gRPC service. Default 0: a free port.
	Port int
	// DBFile is the SQLite file that keeps state across restarts.
	// Default "": state lives in memory and dies with the process.
	DBFile string
	// Namespace is the namespace Start waits for. Default "default" (which
	// the dev server always creates).
	Namespace string
	// Namespaces are extra namespaces to create at launch.
	Namespaces []string
	// SearchAttributes maps custom search attribute names to their type
	// (Text, Keyword, Int, Double, Bool, Datetime, KeywordList).
	SearchAttributes map[string]string
	// UI turns the Web UI on. Default off (--headless).
	UI bool
	// UIPort is the Web UI's port when UI is on. Default 0: Port+1000, as
	// the CLI does.
	UIPort int
	// UICodecEndpoint is the codec server the Web UI decodes payloads
	// with (--ui-codec-endpoint); "" for none.
	UICodecEndpoint string
	// LogLevel of the server: debug, info, warn, error, never. Default "warn".
	LogLevel string
	// DynamicConfig holds extra `KEY=JSONVALUE` dynamic config values; they
	// override DefaultDynamicConfig.
	DynamicConfig []string
	// Output receives the server's stdout and stderr. Default: discarded
	// (the last few KiB are kept for error messages either way).
	Output io.Writer
	// StartTimeout bounds the wait for the frontend to answer. Default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGINT before it kills the
	// process. Default 10s.
	StopTimeout time.Duration
}

// defaultLogLevel is Options.LogLevel's default.
const defaultLogLevel = "warn"

// Server is a running dev server.
type Server struct {
	addr      string
	uiURL     string
	namespace string
	cmd       *exec.Cmd
	tail      *tailBuffer
	stopWait  time.Duration

	done    chan struct{}
	waitErr error
	once    sync.Once
	stopErr error
}

// errExited is a server that exited before it answered.
var errExited = errors.New("server exited before it answered")

// startAttempts bounds the launches Start makes. The CLI picks its HTTP
// API and metrics ports itself, free when it looks and bound a moment
// later, so with many servers starting on one machine another process can
// take one in between; the server then exits at once and a new launch
// (with a new frontend port when Start chose it) gets other ports.
const startAttempts = 3

// Start launches the dev server and returns once its frontend answers the
// SDK's health check and the namespace exists, or fails with the tail of the
// server's output when it exits or does not answer within StartTimeout. A
// server that exits before answering is launched again, up to
// startAttempts times.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Bin == "" {
		bin, err := FindBinary()
		if err != nil {
			return nil, err
		}
		opts.Bin = bin
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("create directory for dev server database: %w", err)
		}
	}

	pickPort := opts.Port == 0
	for attempt := 1; ; attempt++ {
		if pickPort {
			p, err := FreePort(opts.IP)
			if err != nil {
				return nil, err
			}
			opts.Port = p
		}
		s, err := launch(ctx, opts)
		if err == nil || !errors.Is(err, errExited) || attempt == startAttempts || ctx.Err() != nil {
			return s, err
		}
	}
}

// launch starts one server process and waits for it to answer.
func launch(ctx context.Context, opts Options) (*Server, error) {
	tail := &tailBuffer{max: 8 << 10}
	var out io.Writer = tail
	if opts.Output != nil {
		out = io.MultiWriter(tail, opts.Output)
	}
	// Not exec.CommandContext: the server must outlive ctx, which only
	// bounds the start; Stop ends it.
	cmd := exec.Command(opts.Bin, Args(opts)...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", opts.Bin, err)
	}
	s := &Server{
		uiURL:     uiURL(opts),
		addr:      net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		namespace: opts.Namespace,
		cmd:       cmd,
		tail:      tail,
		stopWait:  opts.StopTimeout,
		done:      make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	wctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := s.waitReady(wctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("temporal dev server at %s: %w\n%s", s.addr, err, s.tail.String())
	}
	return s, nil
}

// Args returns the temporal CLI arguments that start the server opts
// describe (Port must be set; LogLevel defaults to "warn"); exported so
// users and reports can see the exact command line.
func Args(opts Options) []string {
	args := []string{"server", "start-dev",
		"--ip", opts.IP,
		"--port", strconv.Itoa(opts.Port),
		"--log-level", cmp.Or(opts.LogLevel, defaultLogLevel),
	}
	if !opts.UI {
		args = append(args, "--headless")
	} else if opts.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	}
	if opts.UI && opts.UICodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", opts.UICodecEndpoint)
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	for _, ns := range opts.Namespaces {
		args = append(args, "--namespace", ns)
	}
	names := make([]string, 0, len(opts.SearchAttributes))
	for n := range opts.SearchAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, "--search-attribute", n+"="+opts.SearchAttributes[n])
	}
	set := map[string]bool{}
	for _, kv := range opts.DynamicConfig {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, kv := range DefaultDynamicConfig {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			args = append(args, "--dynamic-config-value", kv)
		}
	}
	for _, kv := range opts.DynamicConfig {
		args = append(args, "--dynamic-config-value", kv)
	}
	return args
}

// waitReady polls the frontend's gRPC health check, then the namespace,
// until both answer, the process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	c, err := client.NewLazyClient(client.Options{
		HostPort:  s.addr,
		Namespace: s.namespace,
		Logger:    tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = Ping(ctx, c, s.namespace); last == nil && s.uiURL != "" {
			last = uiAnswers(ctx, s.uiURL)
		}
		if last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w: %v", errExited, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no answer in time: %w (last error: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// UIURL is the Web UI's address, "" when the server is headless.
func (s *Server) UIURL() string { return s.uiURL }

func uiURL(opts Options) string {
	if !opts.UI {
		return ""
	}
	port := opts.UIPort
	if port == 0 {
		port = opts.Port + 1000
	}
	ip := opts.IP
	if p := net.ParseIP(ip); p != nil && p.IsUnspecified() {
		ip = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(port))
}

// uiAnswers reports whether the Web UI serves its settings, which it does
// once it can reach the frontend.
func uiAnswers(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/settings", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("web UI: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("web UI at %s answers %s", url, resp.Status)
	}
	return nil
}

// Ping asks the frontend behind c for its health and for the namespace,
// each bounded by two seconds; nil means a worker can start against it.
func Ping(ctx context.Context, c client.Client, namespace string) error {
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.CheckHealth(hctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err := c.WorkflowService().DescribeNamespace(hctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	return err
}

// Address is the frontend's host:port.
func (s *Server) Address() string { return s.addr }

// Namespace is the namespace Start waited for.
func (s *Server) Namespace() string { return s.namespace }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Output returns the last few KiB the server wrote.
func (s *Server) Output() string { return s.tail.String() }

// Stop asks the server to shut down with SIGINT (it then flushes SQLite),
// and kills it if it has not exited within StopTimeout. Safe to call more
// than once.
func (s *Server) Stop() error {
	s.once.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		t := time.NewTimer(s.stopWait)
		defer t.Stop()
		select {
		case <-s.done:
		case <-t.C:
			_ = s.cmd.Process.Kill()
			<-s.done
			s.stopErr = fmt.Errorf("temporal dev server did not stop within %s of SIGINT; killed", s.stopWait)
		}
	})
	return s.stopErr
}

// FindBinary locates the temporal CLI: $GENIUS_TEMPORAL_BIN, then bin/temporal
// in the working directory or any parent, then `temporal` on PATH.
func FindBinary() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s is not an executable file: run `make tools` or fix the variable", BinEnv, p)
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, "bin", "temporal")
			if isExecutable(p) {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNotFound
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// FreePort asks the kernel for a TCP port that is free on ip right now.
func FreePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
