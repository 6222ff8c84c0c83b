package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGeniusProcess is not a test: execGenius runs the test binary with
// GENIUS_TEST_MAIN set to make it the genius command, exit code included.
func TestGeniusProcess(t *testing.T) {
	args := os.Getenv("GENIUS_TEST_MAIN")
	if args == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"genius"}, argv...)
	main()
	os.Exit(0)
}

// execGenius runs genius args in a child process with env added to this
// one's, and returns its output and exit code.
func execGenius(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGeniusProcess$")
	cmd.Env = append(os.Environ(), append(env, "GENIUS_TEST_MAIN="+string(a))...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// The flags and variables of the backend: bad values name the flag or the
// variable and the allowed values, before any training or connection.
func TestBackendFlags(t *testing.T) {
	for _, v := range []string{"GENIUS_BACKEND", "GENIUS_DTYPE", "GENIUS_GPU", "GENIUS_WORKER_KIND", "GENIUS_LOADER_WORKERS", "GENIUS_MICRO_BATCH"} {
		t.Setenv(v, "")
	}
	train := []string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "4", "--steps", "1", "--json"}
	worker := []string{"worker", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", ""}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // parts of the error
	}{
		{"bogus flag", nil, append(train, "--backend", "bogus"), []string{`--backend is "bogus"`, "use cpu or cuda"}},
		{"bogus variable", map[string]string{"GENIUS_BACKEND": "bogus"}, train, []string{`GENIUS_BACKEND="bogus"`, "cpu, cuda"}},
		{"bogus variable on a worker", map[string]string{"GENIUS_BACKEND": "gpu"}, append(worker, "--kind", "gpu"), []string{`GENIUS_BACKEND="gpu"`, "cpu, cuda"}},
		{"bogus dtype", nil, append(train, "--dtype", "fp16"), []string{`--dtype is "fp16"`, "use bf16 or f32"}},
		{"bogus dtype variable", map[string]string{"GENIUS_DTYPE": "half"}, train, []string{`GENIUS_DTYPE="half"`, "bf16, f32"}},
		{"negative gpu", nil, append(train, "--gpu", "-1"), []string{"--gpu is -1"}},
		{"gpu variable", map[string]string{"GENIUS_GPU": "first"}, train, []string{`GENIUS_GPU="first"`}},
		{"cuda on a cpu worker", nil, append(worker, "--backend", "cuda"), []string{"--backend cuda is for --kind gpu"}},
		{"negative worker micro-batch", nil, append(worker, "--kind", "gpu", "--backend", "cpu", "--micro-batch", "-2"), []string{"--micro-batch is -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out, err := runGenius(t, tt.args...)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
			if strings.Contains(err.Error(), "connect to Temporal") || strings.Contains(out, "step 1/1") {
				t.Errorf("went on past the bad setting: %v; output %s", err, out)
			}
		})
	}

	// The flag wins over a bad variable, and cpu trains.
	t.Setenv("GENIUS_BACKEND", "bogus")
	out, err := runGenius(t, append(train, "--backend", "cpu")...)
	if err != nil {
		t.Fatalf("--backend cpu over a bad GENIUS_BACKEND: %v\n%s", err, out)
	}
	var got trainOutput
	if err := json.Unmarshal([]byte(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]), &got); err != nil || !strings.HasPrefix(got.Backend, "cpu") {
		t.Errorf("output %q (%v): want a JSON line naming a cpu backend", out, err)
	}
	// A gpu worker told --backend cpu goes on to connect.
	t.Setenv("GENIUS_BACKEND", "")
	if _, err := runGenius(t, append(worker, "--kind", "gpu", "--backend", "cpu")...); err == nil || !strings.Contains(err.Error(), "connect to Temporal") {
		t.Errorf("gpu worker on --backend cpu: %v, want it to get as far as connecting", err)
	}
}
