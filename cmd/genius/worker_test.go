package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestWorkerStopTimeout checks --stop-timeout and GENIUS_WORKER_STOP_TIMEOUT
// reach worker.Options, with the per-kind default and the flag winning.
func TestWorkerStopTimeout(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"cpu default is the SDK's", "", nil, 0},
		{"gpu default", "", []string{"--kind", "gpu"}, 55 * time.Minute},
		{"flag", "", []string{"--kind", "gpu", "--stop-timeout", "3540s"}, 3540 * time.Second},
		{"env", "90s", []string{"--kind", "cpu"}, 90 * time.Second},
		{"env on gpu", "3540s", []string{"--kind", "gpu"}, 3540 * time.Second},
		{"flag wins over env", "90s", []string{"--stop-timeout", "2m"}, 2 * time.Minute},
		{"flag wins over a bad env", "soon", []string{"--stop-timeout", "2m"}, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GENIUS_WORKER_KIND", "")
			t.Setenv("GENIUS_WORKER_STOP_TIMEOUT", tt.env)
			var got workerOptions
			ran := false
			cmd := newWorkerCmdRun(func(_ context.Context, f workerOptions, _, _ io.Writer) error {
				got, ran = f, true
				return nil
			})
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if !ran {
				t.Fatal("run not called")
			}
			opts, err := got.sdkOptions(nil)
			if err != nil {
				t.Fatal(err)
			}
			if opts.WorkerStopTimeout != tt.want {
				t.Errorf("WorkerStopTimeout = %s, want %s", opts.WorkerStopTimeout, tt.want)
			}
		})
	}
}

// TestWorkerStopTimeoutErrors runs the real command: bad values fail
// before any connection, naming the setting to fix.
func TestWorkerStopTimeoutErrors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"bad env", "soon", nil, "GENIUS_WORKER_STOP_TIMEOUT"},
		{"bad flag", "", []string{"--stop-timeout", "soon"}, "stop-timeout"},
		{"negative", "", []string{"--stop-timeout=-1s"}, "--stop-timeout is -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GENIUS_WORKER_STOP_TIMEOUT", tt.env)
			// An unreachable address: reaching the dial would be a failure too.
			out, err := runGenius(t, append([]string{"worker", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", ""}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q (output %q)", err, tt.want, out)
			}
			if strings.Contains(err.Error(), "connect to Temporal") {
				t.Errorf("dialled Temporal before checking the stop timeout: %v", err)
			}
		})
	}
}

// TestWorkerEnvInt: an integer variable that does not parse is an error
// naming it, unless its flag overrides it.
func TestWorkerEnvInt(t *testing.T) {
	t.Setenv("GENIUS_WORKER_STOP_TIMEOUT", "")
	t.Setenv("GENIUS_MAX_CONCURRENT_ACTIVITIES", "four")
	_, err := runGenius(t, "worker", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", "")
	if err == nil || !strings.Contains(err.Error(), "GENIUS_MAX_CONCURRENT_ACTIVITIES") || strings.Contains(err.Error(), "connect to Temporal") {
		t.Fatalf("bad env: err = %v, want one naming GENIUS_MAX_CONCURRENT_ACTIVITIES before any connection", err)
	}
	var got workerOptions
	cmd := newWorkerCmdRun(func(_ context.Context, f workerOptions, _, _ io.Writer) error {
		got = f
		return nil
	})
	cmd.SetArgs([]string{"--max-concurrent-activities", "3"})
	if err := cmd.Execute(); err != nil || got.maxActivities != 3 {
		t.Fatalf("flag over a bad env: err %v, max activities %d", err, got.maxActivities)
	}
	t.Setenv("GENIUS_MAX_CONCURRENT_ACTIVITIES", "2")
	cmd = newWorkerCmdRun(func(_ context.Context, f workerOptions, _, _ io.Writer) error {
		got = f
		return nil
	})
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got.maxActivities != 2 {
		t.Fatalf("env: err %v, max activities %d", err, got.maxActivities)
	}
}

// TestWorkerSearchAttributesMode checks --search-attributes and
// GENIUS_SEARCH_ATTRIBUTES, and that a bad value fails before any
// connection, naming the flag.
func TestWorkerSearchAttributesMode(t *testing.T) {
	for _, tt := range []struct {
		name, env string
		args      []string
		want      string
	}{
		{"default", "", nil, attrsRegister},
		{"env", "check", nil, attrsCheck},
		{"flag wins", "check", []string{"--search-attributes", "skip"}, attrsSkip},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GENIUS_SEARCH_ATTRIBUTES", tt.env)
			var got workerOptions
			cmd := newWorkerCmdRun(func(_ context.Context, f workerOptions, _, _ io.Writer) error { got = f; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.searchAttributes != tt.want {
				t.Errorf("searchAttributes = %q, want %q", got.searchAttributes, tt.want)
			}
		})
	}
	t.Setenv("GENIUS_SEARCH_ATTRIBUTES", "")
	out, err := runGenius(t, "worker", "--search-attributes", "always", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", "")
	if err == nil || !strings.Contains(err.Error(), `--search-attributes is "always": use register, check or skip`) {
		t.Errorf("err = %v (output %q)", err, out)
	}
}

// TestWorkerLoaderWorkers: a bad GENIUS_LOADER_WORKERS or a negative
// --loader-workers is an error naming it, before any connection.
func TestWorkerLoaderWorkers(t *testing.T) {
	t.Setenv("GENIUS_WORKER_STOP_TIMEOUT", "")
	t.Setenv("GENIUS_MAX_CONCURRENT_ACTIVITIES", "")
	t.Setenv("GENIUS_LOADER_WORKERS", "many")
	args := []string{"worker", "--kind", "gpu", "--backend", "cpu", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", ""}
	_, err := runGenius(t, args...)
	if err == nil || !strings.Contains(err.Error(), "GENIUS_LOADER_WORKERS") || strings.Contains(err.Error(), "connect to Temporal") {
		t.Fatalf("bad env: err = %v, want one naming GENIUS_LOADER_WORKERS before any connection", err)
	}
	t.Setenv("GENIUS_LOADER_WORKERS", "")
	_, err = runGenius(t, append(args, "--loader-workers", "-1")...)
	if err == nil || !strings.Contains(err.Error(), "--loader-workers is -1") {
		t.Fatalf("negative flag: err = %v", err)
	}
	var got workerOptions
	t.Setenv("GENIUS_LOADER_WORKERS", "12") // read when the flags are made
	cmd := newWorkerCmdRun(func(_ context.Context, f workerOptions, _, _ io.Writer) error { got = f; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got.loaderWorkers != 12 {
		t.Fatalf("env: err %v, loader workers %d", err, got.loaderWorkers)
	}
}
