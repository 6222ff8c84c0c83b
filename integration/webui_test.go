package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/genius-nas/genius/browsertest"
	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/devserver/devservertest"
	"github.com/genius-nas/genius/workflows"
)

// TestWebUIDecodesThroughCodecServer opens an encrypted search in the
// Temporal Web UI, in headless Chromium, with the UI's codec endpoint set to
// `genius codec-server`: the page shows the decrypted input when the UI's
// origin is allowed, and not from an origin the server does not allow.
func TestWebUIDecodesThroughCodecServer(t *testing.T) {
	browsertest.Chromium(t) // skip before starting servers when there is no browser
	bin := devservertest.Binary(t)
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	uiOrigin := "http://127.0.0.1:" + strconv.Itoa(port+1000) // the dev server's UI port

	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if out, err := genius(t, "keygen", "--out", keys); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	listening := regexp.MustCompile(`Codec server on (http://127\.0\.0\.1:\d+)`)
	out := startGenius(t, nil, listening, "codec-server", "--encryption-key-file", keys,
		"--listen", "127.0.0.1:0", "--cors-origin", uiOrigin)
	codecURL := listening.FindStringSubmatch(out.String())[1]

	attrs := map[string]string{}
	for _, a := range workflows.SearchAttributes() {
		attrs[a.Name] = a.Type
	}
	srv := devservertest.Start(t, devserver.Options{Bin: bin, Port: port, UI: true, UICodecEndpoint: codecURL, SearchAttributes: attrs})
	addr := srv.Address()

	q := queue(t)
	startGenius(t, nil, regexp.MustCompile(`msg="worker started"`),
		"worker", "--address", addr, "--task-queue", q, "--data-dir", dataDir(t),
		"--health-addr", "", "--metrics-addr", "", "--encryption-key-file", keys)
	id := "webui-" + q
	specPath := filepath.Join("..", "specs", "nas-bench-macro.json")
	if o, err := genius(t, "search", "--address", addr, "--task-queue", q, "--workflow-id", id, "--spec", specPath,
		"--proposer", "random", "--iterations", "2", "--encryption-key-file", keys); err != nil {
		t.Fatalf("genius search: %v\n%s", err, o)
	}
	var spec struct {
		Description string `json:"description"`
	}
	data, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil || len(spec.Description) < 30 {
		t.Fatalf("spec description %q: %v", spec.Description, err)
	}
	// The UI wraps long text; look for its start.
	clear := spec.Description[:30]

	page := fmt.Sprintf("/namespaces/default/workflows/%s", id)
	if dom := browsertest.DumpDOM(t, uiOrigin+page); !strings.Contains(dom, clear) {
		t.Errorf("the Web UI at %s does not show the decrypted input %q\ncodec server log:\n%s", uiOrigin, clear, out.String())
	}
	// Same UI from another origin (localhost, not 127.0.0.1): the codec
	// server refuses its preflight, and the page shows no clear text.
	other := "http://localhost:" + strconv.Itoa(port+1000)
	if dom := browsertest.DumpDOM(t, other+page); strings.Contains(dom, clear) {
		t.Errorf("the Web UI at %s, an origin the codec server does not allow, shows the decrypted input", other)
	}
	if !strings.Contains(out.String(), "refused a preflight from an origin not allowed") {
		t.Errorf("the codec server did not refuse the other origin:\n%s", out.String())
	}
}
