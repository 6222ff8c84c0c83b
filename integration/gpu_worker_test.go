//go:build !cuda

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/devserver"
)

// TestGPUWorkerBackend runs `genius worker --kind gpu` processes (the
// default build, without CUDA) against the dev server. Without --backend
// the worker exits at once, before connecting, saying how to get CUDA and
// how to train on the CPU; it never polls the training queue on the CPU
// unasked. With --backend cpu it polls it, and its start-up log and
// /metrics say it trains on the CPU.
func TestGPUWorkerBackend(t *testing.T) {
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"worker", "--kind", "gpu", "--address", server(t).Address(), "--task-queue", queue(t) + "-gpu",
		"--checkpoint-store", "file://" + filepath.Join(t.TempDir(), "checkpoints"), "--health-addr", addr, "--metrics-addr", addr}
	env := append(os.Environ(), "GENIUS_BACKEND=", "GENIUS_WORKER_KIND=")

	cmd := exec.Command(geniusBinary(t), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code == 0 {
		t.Fatalf("gpu worker without CUDA: exit code %d, want non-zero; output:\n%s", code, out)
	}
	for _, want := range []string{"built without CUDA", "make build-cuda", "--backend cpu"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "worker started") {
		t.Errorf("the worker started without its GPU:\n%s", out)
	}

	cmd = exec.Command(geniusBinary(t), append(args, "--backend", "cpu")...)
	cmd.Env = env
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	waitFor(t, 30*time.Second, "the gpu worker's start-up log", func() bool {
		select {
		case <-done:
			t.Fatalf("genius worker --kind gpu --backend cpu exited: %s\n%s", cmd.ProcessState, log.String())
		default:
		}
		return strings.Contains(log.String(), "worker started")
	})
	if s := log.String(); !strings.Contains(s, "backend=cpu") || !strings.Contains(s, "training on cpu") {
		t.Errorf("start-up log does not say it trains on the CPU:\n%s", s)
	}
	code, body, err := httpGet("http://" + addr + "/readyz")
	if err != nil || code != 200 {
		t.Errorf("/readyz: %d %v", code, err)
	}
	waitFor(t, 30*time.Second, "genius_training_backend on /metrics", func() bool {
		_, body, err = httpGet("http://" + addr + "/metrics")
		return err == nil && strings.Contains(body, `genius_training_backend{backend="cpu"} 1`)
	})
}
