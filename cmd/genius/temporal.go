package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/genius-nas/genius/workflows"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"golang.org/x/term"
)

// DefaultAddress is the Temporal frontend genius talks to when neither
// --address nor TEMPORAL_ADDRESS says otherwise (the dev server's default).
const DefaultAddress = "127.0.0.1:7233"

// clientFlags are the connection flags every verb that talks to Temporal
// shares (README, Configuration); each has an environment variable, and the
// flag wins.
type clientFlags struct {
	Address       string
	Namespace     string
	APIKey        string
	TLSCert       string
	TLSKey        string
	TLSCA         string
	TLSServerName string
}

func addClientFlags(fs *pflag.FlagSet, f *clientFlags) {
	fs.StringVar(&f.Address, "address", envOr("TEMPORAL_ADDRESS", DefaultAddress), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&f.Namespace, "namespace", envOr("TEMPORAL_NAMESPACE", client.DefaultNamespace), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	// The default is not shown in help so a key from the environment is never printed.
	fs.StringVar(&f.APIKey, "api-key", "", "Temporal Cloud API key (env TEMPORAL_API_KEY; never logged)")
	fs.StringVar(&f.TLSCert, "tls-cert", envOr("TEMPORAL_TLS_CERT", ""), "mTLS client certificate file (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&f.TLSKey, "tls-key", envOr("TEMPORAL_TLS_KEY", ""), "mTLS client key file (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&f.TLSCA, "tls-ca", envOr("TEMPORAL_TLS_CA", ""), "CA certificate file to verify the server (env TEMPORAL_TLS_CA)")
	fs.StringVar(&f.TLSServerName, "tls-server-name", envOr("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify in the server's certificate (env TEMPORAL_TLS_SERVER_NAME)")
}

// apiKey is the flag, else TEMPORAL_API_KEY.
func (f clientFlags) apiKey() string {
	if f.APIKey != "" {
		return f.APIKey
	}
	return os.Getenv("TEMPORAL_API_KEY")
}

// tlsConfig builds the TLS settings; nil means plain gRPC (the dev server).
// An API key implies TLS, as Temporal Cloud requires.
func (f clientFlags) tlsConfig() (*tls.Config, error) {
	if f.TLSCert == "" && f.TLSKey == "" && f.TLSCA == "" && f.TLSServerName == "" && f.apiKey() == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.TLSServerName, MinVersion: tls.VersionTLS12}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both files (env TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) or neither")
	}
	if f.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.TLSCA != "" {
		pem, err := os.ReadFile(f.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", f.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// options returns SDK client options; logger nil silences the SDK.
func (f clientFlags) options(logger *slog.Logger) (client.Options, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	o := client.Options{
		HostPort:          f.Address,
		Namespace:         f.Namespace,
		Logger:            tlog.NewStructuredLogger(logger),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
	}
	if k := f.apiKey(); k != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(k)
	}
	return o, nil
}

// dial connects and checks the server answers, with an error that says
// how to get one.
func (f clientFlags) dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	o, err := f.options(logger)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; start a local server with `genius dev` or point --address/TEMPORAL_ADDRESS at yours", f.Address, f.Namespace, err)
	}
	return c, nil
}

// newLogger writes text logs to stderr at the given level.
func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// outcome is a workflow's result, or the error that ended it.
type outcome[T any] struct {
	res T
	err error
}

// awaitResult waits for run's result in the background, so the caller can
// show progress meanwhile; the channel delivers exactly once.
func awaitResult[T any](ctx context.Context, run client.WorkflowRun) <-chan outcome[T] {
	done := make(chan outcome[T], 1)
	go func() {
		var o outcome[T]
		o.err = run.Get(ctx, &o.res)
		done <- o
	}()
	return done
}

// queryProgress asks workflow id for its progress query's answer.
func queryProgress[T any](ctx context.Context, c client.Client, id string) (T, error) {
	var p T
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// terminalBar is a progress bar of total steps when w is a terminal, and nil
// otherwise, where callers print plain lines instead.
func terminalBar(w io.Writer, total int, desc string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
}

// progressViewer shows a workflow's progress while a command waits for it.
type progressViewer[P any] interface {
	update(P)
	note(string)
	close()
}

// watchOptions says how watchWorkflow polls and what it tells the user.
type watchOptions struct {
	poll      time.Duration // between progress queries
	taskQueue string        // named in the hint when no worker answers
	address   string        // for the temporal commands printed on Ctrl-C
	what      string        // "search", "experiment"
	stopNote  string        // said after "Stop it", e.g. " (running trials stop too)"
}

// watchWorkflow waits for run's result, showing its progress query's answers
// every poll. Ctrl-C stops watching, not the workflow: it returns an
// exitError (130) that says how to get the result and how to stop it. A
// workflow failure is returned as it is, for the caller to put in words.
func watchWorkflow[R, P any](ctx context.Context, c client.Client, run client.WorkflowRun, o watchOptions, view progressViewer[P]) (R, error) {
	id := run.GetID()
	done := awaitResult[R](ctx, run)
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	firstAnswer, hinted, started := false, false, time.Now()
	detach := func() error {
		view.close()
		return &exitError{code: 130, msg: fmt.Sprintf("Stopped watching; the %s goes on. Its result:\n  temporal workflow result --workflow-id %s --address %s\nStop it%s:\n  temporal workflow signal --workflow-id %s --name %s --address %s",
			o.what, id, o.address, o.stopNote, id, workflows.StopSignal, o.address)}
	}
	for {
		select {
		case <-ctx.Done():
			var zero R
			return zero, detach()
		case out := <-done:
			if out.err != nil && ctx.Err() != nil {
				return out.res, detach()
			}
			return out.res, out.err
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := queryProgress[P](qctx, c, id)
			cancel()
			if err == nil {
				firstAnswer = true
				view.update(p)
			} else if !firstAnswer && !hinted && time.Since(started) > 10*time.Second {
				hinted = true
				view.note(fmt.Sprintf("No progress yet (%v). Is a worker polling task queue %q? Start one with `genius worker` or `genius dev`.", shortErr(err), o.taskQueue))
			}
		}
	}
}
