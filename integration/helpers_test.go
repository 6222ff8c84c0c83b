package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genius-nas/genius/bench/benchtest"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/devserver/devservertest"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

var update = flag.Bool("update", false, "regenerate testdata/golden from runs on the dev server")

// shared is what the tests of this package share: one dev server and one
// genius binary, each made on first use.
var shared struct {
	tmp string

	serverOnce sync.Once
	server     *devserver.Server
	serverErr  string

	buildOnce sync.Once
	genius    string
	buildErr  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "genius-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared.tmp = tmp
	defer os.RemoveAll(tmp)
	defer func() {
		if shared.server != nil {
			_ = shared.server.Stop()
		}
	}()
	return m.Run()
}

// server returns the package's dev server, starting it on first use with
// genius's search attributes. Without the temporal binary the test skips
// (fails under CI=true).
func server(t testing.TB) *devserver.Server {
	t.Helper()
	bin := temporalBinary(t)
	shared.serverOnce.Do(func() {
		attrs := map[string]string{}
		for _, a := range workflows.SearchAttributes() {
			attrs[a.Name] = a.Type
		}
		s, err := devserver.Start(context.Background(), devserver.Options{Bin: bin, SearchAttributes: attrs})
		if err != nil {
			shared.serverErr = err.Error()
			return
		}
		shared.server = s
	})
	if shared.server == nil {
		t.Fatalf("dev server: %s", shared.serverErr)
	}
	return shared.server
}

// temporalBinary returns the temporal CLI binary; the test skips in -short
// mode or without it (and fails without it under CI=true).
func temporalBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: needs the Temporal dev server (-short)")
	}
	return devservertest.Binary(t)
}

// geniusBinary builds cmd/genius once into the package's temp directory.
func geniusBinary(t testing.TB) string {
	t.Helper()
	shared.buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			shared.buildErr = err
			return
		}
		out := filepath.Join(shared.tmp, "genius")
		cmd := exec.Command(goBin, "build", "-o", out, "github.com/genius-nas/genius/cmd/genius")
		if b, err := cmd.CombinedOutput(); err != nil {
			shared.buildErr = fmt.Errorf("go build ./cmd/genius: %v\n%s", err, b)
			return
		}
		shared.genius = out
	})
	if shared.buildErr != nil {
		t.Fatal(shared.buildErr)
	}
	return shared.genius
}

func dataDir(t testing.TB) string { return benchtest.DataDir(t) }

func dial(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: server(t).Address(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("dial dev server: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

var nonWord = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// queue is a task queue of the test's own, so tests never take each
// other's tasks.
func queue(t testing.TB) string {
	return "it-" + strings.Trim(nonWord.ReplaceAllString(t.Name(), "-"), "-") + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
}

// startWorker runs a CPU worker in this process on q.
func startWorker(t testing.TB, c client.Client, q string, lc llm.Config) {
	t.Helper()
	w, err := workers.NewCPUWorker(c, workers.Config{TaskQueue: q, DataDir: dataDir(t), LLM: lc, Options: worker.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// temporalCLI runs the temporal CLI against the dev server and returns its
// stdout; a failure fails the test with its stderr.
func temporalCLI(t testing.TB, args ...string) []byte {
	t.Helper()
	args = append(args, "--address", server(t).Address())
	cmd := exec.Command(devservertest.Binary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("temporal %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// specFile copies a ready spec from specs/ with edits into a temp file.
func specFile(t testing.TB, name string, edit func(m map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "specs", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, _ := json.MarshalIndent(m, "", "  ")
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cliResult is `temporal workflow result --output json`.
type cliResult struct {
	WorkflowID string                 `json:"workflowId"`
	Status     string                 `json:"status"`
	Result     workflows.SearchResult `json:"result"`
}

// runCLISearch starts GeniusSearch through the temporal CLI with the spec
// file as input and waits for its result through the CLI.
func runCLISearch(t testing.TB, q, id, spec string) workflows.SearchResult {
	t.Helper()
	temporalCLI(t, "workflow", "start", "--type", workflows.SearchName, "--task-queue", q,
		"--workflow-id", id, "--input-file", spec)
	out := temporalCLI(t, "workflow", "result", "--workflow-id", id, "--output", "json")
	var r cliResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decode `temporal workflow result` output: %v\n%s", err, out)
	}
	if r.Status != "COMPLETED" {
		t.Fatalf("workflow %s status %s:\n%s", id, r.Status, out)
	}
	return r.Result
}

// exportHistory writes `temporal workflow show --output json` of a run to
// a file and returns its path.
func exportHistory(t testing.TB, dir, id, runID, file string) string {
	t.Helper()
	args := []string{"workflow", "show", "--workflow-id", id, "--output", "json"}
	if runID != "" {
		args = append(args, "--run-id", runID)
	}
	out := temporalCLI(t, args...)
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// macroArchs lists NAS-Bench-Macro architectures that build different
// networks (distinct canonical keys), in a fixed order.
func macroArchs(t testing.TB) []space.Arch {
	t.Helper()
	sp, err := space.New("nas-bench-macro")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []space.Arch
	// Walk the keys backwards from 22222222 so the first ones are good
	// networks and differ in many positions.
	for n := 6560; n >= 0; n-- {
		a := make(space.Arch, 8)
		for i, v := 7, n; i >= 0; i, v = i-1, v/3 {
			a[i] = v % 3
		}
		if c := sp.Canonical(a); !seen[c] {
			seen[c] = true
			out = append(out, a)
		}
	}
	return out
}

// checkIterations asserts T measured iterations numbered 1..T with
// architectures that build different networks.
func checkIterations(t testing.TB, r workflows.SearchResult, want int) {
	t.Helper()
	if len(r.Iterations) != want {
		t.Fatalf("result has %d iterations, want %d: %+v", len(r.Iterations), want, r)
	}
	seen := map[string]int{}
	for i, it := range r.Iterations {
		if it.Iteration != i+1 {
			t.Errorf("iterations[%d].iteration = %d, want %d", i, it.Iteration, i+1)
		}
		if prev, ok := seen[it.Canonical]; ok {
			t.Errorf("iteration %d measured the same network as iteration %d (%s)", it.Iteration, prev, it.Canonical)
		}
		seen[it.Canonical] = it.Iteration
		if it.Accuracy <= 0 || it.Rank < 1 || it.Rank > 6561 {
			t.Errorf("iteration %d: accuracy %g rank %d out of range", it.Iteration, it.Accuracy, it.Rank)
		}
	}
	if r.Best == nil {
		t.Fatal("result has no best")
	}
	for _, it := range r.Iterations {
		if it.Accuracy > r.Best.Accuracy {
			t.Errorf("iteration %d has accuracy %g above best %g", it.Iteration, it.Accuracy, r.Best.Accuracy)
		}
	}
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// httpGet returns the status and body of a GET, or an error.
func httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}
