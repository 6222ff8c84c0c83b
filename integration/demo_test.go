package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/workflows"
)

// TestDemoScript runs scripts/demo.sh (make demo) with the tools and tables
// already at hand: it must end with a finished search, its audit trail, a
// report or a message saying why not, the Web UI's address, and a stopped
// dev server.
func TestDemoScript(t *testing.T) {
	temporal := temporalBinary(t)
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	bin, dir := t.TempDir(), t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "BIN="+bin, "GENIUS_TEMPORAL_BIN="+temporal, "GENIUS_DATA_DIR="+dataDir(t),
		"GENIUS_DEMO_DIR="+dir, "GENIUS_DEMO_PORT="+strconv.Itoa(port), "GENIUS_DEMO_ITERATIONS=3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"search done: 3 iterations, stopped: budget", "Stopping genius dev", "Web UI:       http://127.0.0.1:" + strconv.Itoa(port+1000)} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "report:       ") && !strings.Contains(text, "skipped: this genius has no report command") {
		t.Errorf("demo output says nothing of the report:\n%s", text)
	}
	data, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r workflows.SearchResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	checkIterations(t, r, 3)
	if log, _ := os.ReadFile(filepath.Join(dir, "dev.log")); !strings.Contains(string(log), "Stopping the Temporal dev server...") {
		t.Errorf("genius dev did not stop its dev server:\n%s", log)
	}
	if _, err := httpGetStatus("http://127.0.0.1:" + strconv.Itoa(port+1000)); err == nil {
		t.Error("the Web UI still answers after the demo ended")
	}
}

func httpGetStatus(url string) (int, error) {
	code, _, err := httpGet(url)
	return code, err
}
