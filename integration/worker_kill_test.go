package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// workerProcess is `genius worker` running as a child process.
type workerProcess struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	health string // base URL of the probes and metrics
	done   chan struct{}
}

// startWorkerProcess runs `genius worker` on q against the dev server, with
// the LLM endpoint in its environment, and waits until /readyz says ready.
func startWorkerProcess(t *testing.T, q, llmURL, key string) *workerProcess {
	t.Helper()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(geniusBinary(t), "worker",
		"--address", server(t).Address(), "--task-queue", q, "--data-dir", dataDir(t),
		"--health-addr", addr, "--metrics-addr", addr)
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY="+key, "OPENAI_BASE_URL="+llmURL)
	p := &workerProcess{cmd: cmd, out: &bytes.Buffer{}, health: "http://" + addr, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("worker pid %d output:\n%s", cmd.Process.Pid, p.out.String())
		}
	})
	waitFor(t, 30*time.Second, "worker /readyz", func() bool {
		select {
		case <-p.done:
			t.Fatalf("genius worker exited: %s\n%s", cmd.ProcessState, p.out.String())
		default:
		}
		code, _, err := httpGet(p.health + "/readyz")
		return err == nil && code == 200
	})
	return p
}

// TestWorkerKilledMidSearch runs an llm search on a `genius worker` process,
// SIGKILLs the process while it waits for the LLM's fourth reply, starts a
// new worker process, and checks the search finishes with every iteration
// once, in order, each the architecture the LLM gave for it.
func TestWorkerKilledMidSearch(t *testing.T) {
	archs := macroArchs(t)
	const killAt = 4 // the request that is in flight when the worker dies
	reached := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	n := 0
	srv := llmtest.New(t)
	srv.Handle(func(llmtest.Request) llmtest.Step {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k == killAt {
			close(reached)
			<-release // answered after the worker is dead: nobody reads it
		}
		return llmtest.Reply(listOf(archs[k]))
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	const key = "sk-kill-test-key"
	q := queue(t)
	first := startWorkerProcess(t, q, srv.URL, key)

	c := dial(t)
	spec := specs.Spec{
		Name: "kill-test", Space: "nas-bench-macro", Benchmark: "nas-bench-macro", Iterations: 10,
		// A short LLM timeout so the call lost with the worker is retried
		// on the new one within seconds.
		Proposer: specs.Proposer{Kind: specs.ProposerLLM, Model: "gpt-4", TimeoutS: 5},
	}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "kill-" + q, TaskQueue: q},
		workflows.SearchName, workflows.SearchInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the LLM never got request %d; worker output:\n%s", killAt, first.out.String())
	}
	var p workflows.Progress
	if v, err := c.QueryWorkflow(context.Background(), run.GetID(), "", workflows.ProgressQuery); err != nil {
		t.Fatalf("progress query: %v", err)
	} else if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Done != killAt-1 {
		t.Fatalf("progress before the kill: %d iterations done, want %d", p.Done, killAt-1)
	}
	code, metrics, err := httpGet(first.health + "/metrics")
	if err != nil || code != 200 || !strings.Contains(metrics, "temporal_") {
		t.Errorf("GET /metrics = %d, %v; want SDK metrics, got:\n%.500s", code, err, metrics)
	}

	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
		t.Fatal(err)
	}
	<-first.done
	close(release)

	startWorkerProcess(t, q, srv.URL, key)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var r workflows.SearchResult
	if err := run.Get(ctx, &r); err != nil {
		t.Fatalf("search after the restart: %v", err)
	}
	checkIterations(t, r, 10)
	// Requests 1..3 gave iterations 1..3; request 4 died with the worker;
	// its retry (request 5) gave iteration 4, and so on: none lost, none
	// measured twice.
	for i, it := range r.Iterations {
		k := i + 1
		if k >= killAt {
			k++
		}
		if got, want := listOf(it.Arch), listOf(archs[k]); got != want {
			t.Errorf("iteration %d measured %s, want %s (LLM reply %d)", it.Iteration, got, want, k)
		}
	}
	if got := len(srv.Requests()); got != 11 {
		t.Errorf("LLM got %d requests, want 11 (10 iterations + the one lost with the worker)", got)
	}
}
