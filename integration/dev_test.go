package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/browsertest"
	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/devserver/devservertest"
	"github.com/genius-nas/genius/workflows"
)

// startDev runs `genius dev` on addr with its state in dir and waits until
// it says the workers run.
func startDev(t *testing.T, addr, dir string, flags ...string) (*exec.Cmd, *lockedBuffer, chan struct{}) {
	t.Helper()
	args := append([]string{"dev", "--address", addr, "--state-dir", dir, "--data-dir", dataDir(t), "--gpu-worker=false"}, flags...)
	env := []string{"GENIUS_TEMPORAL_BIN=" + temporalBinary(t), "OPENAI_API_KEY=", "OPENAI_BASE_URL="}
	p := startProcess(t, env, 90*time.Second, func(out string) bool { return strings.Contains(out, "Press Ctrl-C to stop.") }, args...)
	return p.cmd, p.out, p.done
}

func stopDev(t *testing.T, cmd *exec.Cmd, out *lockedBuffer, done chan struct{}) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("genius dev did not stop within 30s of SIGINT:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("genius dev exited with %d after SIGINT:\n%s", code, out.String())
	}
}

// TestDev starts `genius dev` on a fresh state directory, runs a baseline
// search on it with `genius search`, finds it in the Web UI, stops it with
// SIGINT (server and worker go away), starts it again headless and finds
// the search in the kept state.
func TestDev(t *testing.T) {
	temporalBinary(t)
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	uiPort, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	state := t.TempDir()
	cmd, out, done := startDev(t, addr, state, "--ui-port", strconv.Itoa(uiPort))
	if !strings.Contains(out.String(), "--search-attribute GeniusBestAccuracy=Double") {
		t.Errorf("genius dev did not start the server with the search attributes:\n%s", out.String())
	}
	uiURL := "http://127.0.0.1:" + strconv.Itoa(uiPort)
	if !strings.Contains(out.String(), "Temporal Web UI: "+uiURL+"/namespaces/default/workflows") {
		t.Errorf("genius dev does not print the Web UI's URL %s:\n%s", uiURL, out.String())
	}

	search := exec.Command(geniusBinary(t), "search", "--address", addr, "--spec", filepath.Join("..", "specs", "nas-bench-macro.json"),
		"--proposer", "random", "--iterations", "3", "--workflow-id", "dev-search", "--poll", "100ms")
	var stdout, stderr bytes.Buffer
	search.Stdout, search.Stderr = &stdout, &stderr
	if err := search.Run(); err != nil {
		t.Fatalf("genius search: %v\n%s", err, stderr.String())
	}
	var r workflows.SearchResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("genius search stdout is not the result JSON: %v\n%s", err, stdout.String())
	}
	checkIterations(t, r, 3)
	// Not a terminal: plain progress lines, no bar.
	for _, want := range []string{"Started GeniusSearch workflow dev-search", "search done: 3 iterations, stopped: budget"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("genius search stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	// The summary the UI shows beside the search.
	var desc struct {
		Config struct {
			Metadata struct {
				Summary string `json:"summary"`
			} `json:"userMetadata"`
		} `json:"executionConfig"`
	}
	descOut, err := exec.Command(temporalBinary(t), "workflow", "describe", "--address", addr, "--workflow-id", "dev-search", "--output", "json").Output()
	if err != nil || json.Unmarshal(descOut, &desc) != nil {
		t.Fatalf("temporal workflow describe: %v\n%s", err, descOut)
	}
	if got := desc.Config.Metadata.Summary; got != "GENIUS search nas-bench-macro: random, 3 iterations" {
		t.Errorf("the search's UI summary is %q", got)
	}

	t.Run("web UI lists the search by its attributes", func(t *testing.T) {
		checkUIListsSearch(t, uiURL, "dev-search", r)
	})

	stopDev(t, cmd, out, done)
	c, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if devserver.Ping(ctx, c, "default") == nil {
		t.Error("the dev server still answers after genius dev stopped")
	}
	cancel()
	if _, err := os.Stat(filepath.Join(state, "temporal.db")); err != nil {
		t.Errorf("state database: %v", err)
	}

	// Again, on the same state: the finished search is still there.
	cmd, out, done = startDev(t, addr, state, "--headless")
	if strings.Contains(out.String(), "Temporal Web UI:") {
		t.Errorf("genius dev --headless prints a Web UI:\n%s", out.String())
	}
	audit, err := exec.Command(geniusBinary(t), "audit", "--address", addr, "--workflow-id", "dev-search").CombinedOutput()
	if err != nil || !strings.Contains(string(audit), "result: 3 iterations measured") {
		t.Errorf("genius audit after restart: %v\n%s", err, audit)
	}
	stopDev(t, cmd, out, done)
}

// TestDevExistingServer points `genius dev` at a server that already
// answers but lacks genius's search attributes: it must use that server,
// add the attributes, run searches, and leave the server running on
// Ctrl-C.
func TestDevExistingServer(t *testing.T) {
	temporalBinary(t)
	srv := devservertest.Start(t, devserver.Options{})
	cmd, out, done := startDev(t, srv.Address(), t.TempDir())
	for _, want := range []string{"Using the Temporal server that answers at " + srv.Address(), "Added search attributes to namespace default"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("genius dev output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Starting the Temporal dev server") {
		t.Error("genius dev started a second server")
	}
	search := exec.Command(geniusBinary(t), "search", "--address", srv.Address(), "--spec", filepath.Join("..", "specs", "nas-bench-macro.json"),
		"--proposer", "evolution", "--iterations", "2", "--poll", "100ms")
	stdout, err := search.Output()
	if err != nil {
		t.Fatalf("genius search: %v", err)
	}
	var r workflows.SearchResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatal(err)
	}
	checkIterations(t, r, 2)
	stopDev(t, cmd, out, done)
	c, err := client.NewLazyClient(client.Options{HostPort: srv.Address(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := devserver.Ping(ctx, c, "default"); err != nil {
		t.Errorf("the server genius dev did not start stopped with it: %v", err)
	}
}

// checkUIListsSearch loads the UI's workflow list in headless Chromium,
// filtered by the finished search's search attributes, finds the search
// there, follows its link to the run's search-attributes tab and finds the
// values the search upserted.
func checkUIListsSearch(t *testing.T, uiURL, id string, r workflows.SearchResult) {
	// Not the ID: the page shows the query, and the ID must come from the
	// list.
	q := fmt.Sprintf(`GeniusBenchmark = %q AND GeniusProposer = %q AND GeniusBestAccuracy >= %.2f AND ExecutionStatus = "Completed"`,
		r.Benchmark, r.Proposer, r.Best.Accuracy-0.01)
	dom := browsertest.DumpDOM(t, uiURL+"/namespaces/default/workflows?query="+url.QueryEscape(q))
	link := regexp.MustCompile(`href="(/namespaces/default/workflows/` + regexp.QuoteMeta(id) + `/[0-9a-f-]+)`).FindStringSubmatch(dom)
	if link == nil {
		t.Fatalf("the Web UI's list filtered by the search's attributes has no link to %s:\n%.3000s", id, text(dom))
	}
	if !strings.Contains(dom, workflows.SearchName) {
		t.Errorf("the Web UI lists %s without its type %s", id, workflows.SearchName)
	}
	attrs := text(browsertest.DumpDOM(t, uiURL+link[1]+"/search-attributes"))
	for _, want := range []string{
		fmt.Sprintf(`"GeniusBenchmark" : %q`, r.Benchmark),
		fmt.Sprintf(`"GeniusProposer" : %q`, r.Proposer),
		`"GeniusBestAccuracy" : ` + strconv.FormatFloat(r.Best.Accuracy, 'f', -1, 64),
	} {
		if !strings.Contains(attrs, want) {
			t.Errorf("the Web UI's search attributes of %s lack %s:\n%.3000s", id, want, attrs)
		}
	}
}

var tags = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]+>`)

// text is a page's visible text, for failure messages.
func text(dom string) string {
	return strings.Join(strings.Fields(tags.ReplaceAllString(dom, " ")), " ")
}
