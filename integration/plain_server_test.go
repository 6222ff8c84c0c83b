package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/workflows"
)

// plainServer is `temporal server start-dev` as a new user starts it: no
// --search-attribute flags, no tuning; with extra namespaces "bare" and
// "wrongtype".
type plainServer struct {
	addr string
}

func startPlainServer(t *testing.T) *plainServer {
	t.Helper()
	bin := temporalBinary(t)
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--headless",
		"--log-level", "error", "--namespace", "bare", "--namespace", "wrongtype")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	c, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 60*time.Second, "plain dev server", func() bool {
		select {
		case <-done:
			t.Fatalf("temporal server start-dev exited: %s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "bare"})
		return err == nil
	})
	return &plainServer{addr: addr}
}

// cli runs the temporal CLI against the plain server; a search that hangs
// fails the test after two minutes.
func (s *plainServer) cli(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, temporalBinary(t), append(args, "--address", s.addr)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("temporal %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// geniusWorker is `genius worker` as a child process.
type geniusWorker struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	http string // base URL of the probes and /metrics
}

func (s *plainServer) startWorker(t *testing.T, llmURL string, args ...string) *geniusWorker {
	t.Helper()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(geniusBinary(t), append([]string{"worker", "--address", s.addr, "--data-dir", dataDir(t),
		"--health-addr", addr, "--metrics-addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY=sk-plain-server-test", "OPENAI_BASE_URL="+llmURL)
	w := &geniusWorker{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{}), http: "http://" + addr}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("genius worker %v output:\n%s", args, w.out.String())
		}
	})
	return w
}

func (w *geniusWorker) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, 60*time.Second, "worker /readyz", func() bool {
		select {
		case <-w.done:
			t.Fatalf("genius worker exited: %s\n%s", w.cmd.ProcessState, w.out.String())
		default:
		}
		code, _, err := httpGet(w.http + "/readyz")
		return err == nil && code == 200
	})
}

// TestPlainDevServer follows the README's "With the Temporal CLI alone" on a
// plain `temporal server start-dev`: the worker registers genius's search
// attributes itself and a search started with `temporal workflow start`
// finishes; its /metrics shows the SDK's standard series next to genius's.
// Where the worker may not register them it exits with the commands; where
// it is told not to look, the failing workflow task is logged at ERROR.
func TestPlainDevServer(t *testing.T) {
	srv := startPlainServer(t)
	archs := macroArchs(t)
	llmSrv := llmtest.New(t)
	var mu sync.Mutex
	n := 0
	llmSrv.Handle(func(llmtest.Request) llmtest.Step {
		mu.Lock()
		defer mu.Unlock()
		n++
		return llmtest.Reply(listOf(archs[n]))
	})

	t.Run("check exits with the commands", func(t *testing.T) {
		w := srv.startWorker(t, llmSrv.URL, "--namespace", "bare", "--search-attributes", "check")
		select {
		case <-w.done:
		case <-time.After(60 * time.Second):
			t.Fatal("worker with missing search attributes did not exit")
		}
		if w.cmd.ProcessState.Success() {
			t.Fatalf("worker exited 0:\n%s", w.out.String())
		}
		for _, a := range workflows.SearchAttributes() {
			want := "temporal operator search-attribute create --namespace bare --name " + a.Name + " --type " + a.Type
			if !strings.Contains(w.out.String(), want) {
				t.Errorf("worker output lacks %q:\n%s", want, w.out.String())
			}
		}
	})

	t.Run("wrong type is an error", func(t *testing.T) {
		srv.cli(t, "operator", "search-attribute", "create", "--namespace", "wrongtype", "--name", "GeniusBestAccuracy", "--type", "Keyword")
		w := srv.startWorker(t, llmSrv.URL, "--namespace", "wrongtype")
		select {
		case <-w.done:
		case <-time.After(60 * time.Second):
			t.Fatal("worker with a search attribute of the wrong type did not exit")
		}
		out := w.out.String()
		if w.cmd.ProcessState.Success() || !strings.Contains(out, "namespace wrongtype has GeniusBestAccuracy of type Keyword, want Double") ||
			!strings.Contains(out, "temporal operator search-attribute remove") {
			t.Errorf("worker exit %s, output:\n%s", w.cmd.ProcessState, out)
		}
		// The missing ones were registered all the same.
		list := string(srv.cli(t, "operator", "search-attribute", "list", "--namespace", "wrongtype"))
		for _, name := range []string{"GeniusBenchmark", "GeniusProposer"} {
			if !strings.Contains(list, name) {
				t.Errorf("namespace wrongtype lacks %s after the worker ran:\n%s", name, list)
			}
		}
	})

	t.Run("skip logs the failing task at ERROR", func(t *testing.T) {
		w := srv.startWorker(t, llmSrv.URL, "--namespace", "bare", "--search-attributes", "skip", "--task-queue", "plain-skip")
		w.waitReady(t)
		spec := specFile(t, "nas-bench-macro.json", func(m map[string]any) { m["iterations"] = 2 })
		srv.cli(t, "workflow", "start", "--namespace", "bare", "--type", workflows.SearchName, "--task-queue", "plain-skip",
			"--workflow-id", "plain-skip", "--input-file", spec)
		errLine := regexp.MustCompile(`level=ERROR msg="workflow tasks keep failing[^\n]*temporal operator search-attribute create --namespace bare --name GeniusBenchmark --type Keyword[^\n]*BadSearchAttributes`)
		waitFor(t, 90*time.Second, "an ERROR line with the commands", func() bool { return errLine.MatchString(w.out.String()) })
		srv.cli(t, "workflow", "terminate", "--namespace", "bare", "--workflow-id", "plain-skip", "--reason", "test done")
	})

	t.Run("register and search", func(t *testing.T) {
		w := srv.startWorker(t, llmSrv.URL, "--task-queue", "plain")
		w.waitReady(t)
		if !strings.Contains(w.out.String(), "registered search attributes") {
			t.Errorf("worker did not say it registered the search attributes:\n%s", w.out.String())
		}
		spec := specFile(t, "nas-bench-macro.json", func(m map[string]any) { m["iterations"] = 3 })
		srv.cli(t, "workflow", "start", "--type", workflows.SearchName, "--task-queue", "plain",
			"--workflow-id", "plain-search", "--input-file", spec)
		var r cliResult
		out := srv.cli(t, "workflow", "result", "--workflow-id", "plain-search", "--output", "json")
		if err := json.Unmarshal(out, &r); err != nil || r.Status != "COMPLETED" {
			t.Fatalf("temporal workflow result: %v\n%s", err, out)
		}
		checkIterations(t, r.Result, 3)
		if strings.Contains(w.out.String(), "level=ERROR") {
			t.Errorf("worker logged errors:\n%s", w.out.String())
		}

		// The worker's /metrics: the SDK's standard series under their
		// usual names (the chart's KEDA query reads
		// temporal_worker_task_slots_used) and genius's own. tally hands
		// values to Prometheus once a second.
		var body string
		want := []string{
			`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{`,
			`temporal_activity_schedule_to_start_latency_seconds_bucket{`,
			`temporal_workflow_task_queue_poll_succeed_total{`,
			`temporal_num_pollers{`,
			`temporal_request_total{`,
			`genius_llm_requests_total{outcome="ok"} 3`,
			`genius_llm_tokens_total{kind="prompt"}`,
			`genius_llm_request_latency_seconds_count 3`,
			`go_goroutines `,
		}
		var missing []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, body, _ = httpGet(w.http + "/metrics")
			missing = missing[:0]
			for _, s := range want {
				if !strings.Contains(body, s) {
					missing = append(missing, s)
				}
			}
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics lacks %q:\n%s", missing, body)
			}
			time.Sleep(100 * time.Millisecond) // polling: tally reports once a second
		}
		// The series and labels of the chart's default KEDA runningActivities
		// query (helm/genius/templates/keda.yaml).
		slots := regexp.MustCompile(`(?m)^temporal_worker_task_slots_used\{[^}]*task_queue="plain"[^}]*worker_type="ActivityWorker"[^}]*\} `)
		if !slots.MatchString(body) {
			t.Errorf("/metrics lacks temporal_worker_task_slots_used{task_queue=\"plain\",worker_type=\"ActivityWorker\"}:\n%s", body)
		}
		if strings.Contains(w.out.String(), "level=WARN msg=metrics") {
			t.Errorf("metrics registration errors:\n%s", w.out.String())
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a child's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
