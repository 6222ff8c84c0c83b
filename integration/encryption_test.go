package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/payloadcrypt"
	"github.com/genius-nas/genius/workflows"
)

// lockedBuffer collects a child process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// process is a long-lived genius command that runs until the test ends.
type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when it has exited
}

// startProcess runs genius with args (and env added) and waits up to wait
// until its output satisfies ready; it is killed when the test ends.
func startProcess(t *testing.T, env []string, wait time.Duration, ready func(out string) bool, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(geniusBinary(t), args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	waitFor(t, wait, "genius "+args[0]+" to start", func() bool {
		select {
		case <-p.done:
			t.Fatalf("genius %s exited: %s\n%s", args[0], p.cmd.ProcessState, p.out.String())
		default:
		}
		return ready(p.out.String())
	})
	return p
}

// startGenius runs a long-lived genius command (worker, codec-server)
// until the test ends, and waits until its output matches ready.
func startGenius(t *testing.T, env []string, ready *regexp.Regexp, args ...string) *lockedBuffer {
	t.Helper()
	return startProcess(t, env, time.Minute, ready.MatchString, args...).out
}

// genius runs a genius command to its end and returns its combined output
// and error.
func genius(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(geniusBinary(t), args...).CombinedOutput()
	return string(out), err
}

// payloadBytes concatenates the metadata and data of every payload in h.
func payloadBytes(t *testing.T, h *historypb.History) []byte {
	t.Helper()
	var all []byte
	err := proxy.VisitPayloads(context.Background(), h, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				for k, v := range p.GetMetadata() {
					all = append(append(append(all, k...), v...), '\n')
				}
				all = append(append(all, p.GetData()...), '\n')
			}
			return ps, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestEncryptedSearch runs an LLM search with `genius worker` and `genius
// search` given a key file, and checks what the server keeps: the history
// the temporal CLI exports holds none of the prompts or replies in clear
// text; genius audit and replay read it with the key and fail clearly
// without it or with the wrong one; and `temporal workflow show
// --codec-endpoint` decodes it through `genius codec-server`.
func TestEncryptedSearch(t *testing.T) {
	addr := server(t).Address()
	archs := macroArchs(t)
	f := func(i int) string { return listOf(archs[i]) }
	replies := []string{
		"Wider early stages should pay off here; I propose " + f(0) + " as the first design.",
		"Keeping the strong prefix and trying " + f(1) + " next seems sensible.",
		"Let me reason about which stage limits accuracy before I answer.", // unparsable
		"The last stage looks underused, so " + f(2) + " is my choice.",
	}
	var steps []llmtest.Step
	for _, r := range replies {
		steps = append(steps, llmtest.Reply(r))
	}
	srv := llmtest.New(t, steps...)

	dir := t.TempDir()
	keys, wrong := filepath.Join(dir, "keys"), filepath.Join(dir, "wrong-keys")
	if out, err := genius(t, "keygen", "--out", keys); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	ring, err := payloadcrypt.LoadKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	keyID := ring.ActiveID()
	// The wrong key file holds another key under the same ID.
	if out, err := genius(t, "keygen", "--out", wrong, "--id", keyID); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}

	q := queue(t)
	startGenius(t, []string{llm.EnvBaseURL + "=" + srv.URL, llm.EnvAPIKey + "=sk-encryption-test"},
		regexp.MustCompile(`msg="worker started"`),
		"worker", "--address", addr, "--task-queue", q, "--data-dir", dataDir(t),
		"--health-addr", "", "--metrics-addr", "", "--encryption-key-file", keys)
	id := "encrypted-" + q
	spec := specFile(t, "nas-bench-macro.json", func(m map[string]any) { m["iterations"] = 3 })
	search := exec.Command(geniusBinary(t), "search", "--address", addr, "--task-queue", q, "--workflow-id", id,
		"--spec", spec, "--poll", "200ms", "--encryption-key-file", keys)
	search.Env = append(os.Environ(), llm.EnvBaseURL+"="+srv.URL)
	if out, err := search.CombinedOutput(); err != nil {
		t.Fatalf("genius search: %v\n%s", err, out)
	} else if !strings.Contains(string(out), `"stop_detail": "3 iterations done"`) || !strings.Contains(string(out), "search done: 3 iterations") {
		t.Fatalf("genius search showed no decrypted progress and result:\n%s", out)
	}

	file := exportHistory(t, dir, id, "", "history.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Every prompt line and reply the LLM server saw or sent is absent.
	var clear []string
	clear = append(clear, replies...)
	for _, rq := range srv.Requests() {
		for _, m := range rq.Messages {
			for _, line := range strings.Split(m.Content, "\n") {
				if line = strings.TrimSpace(line); len(line) >= 24 && !strings.ContainsAny(line, `"\<>&`) {
					clear = append(clear, line)
				}
			}
		}
	}
	if len(srv.Requests()) != 4 || len(clear) < 8 {
		t.Fatalf("%d LLM requests and %d prompt lines and replies; want 4 requests and some prompt text", len(srv.Requests()), len(clear))
	}
	// The CLI's JSON holds payload data in base64: look in the file and in
	// the bytes of every payload.
	h, err := history.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	stored := append(payloadBytes(t, h), data...)
	for _, s := range clear {
		if bytes.Contains(stored, []byte(s)) {
			t.Errorf("the exported history holds %q in clear text", s)
		}
	}
	if ids, err := payloadcrypt.KeyIDs(context.Background(), h); err != nil || len(ids) != 1 || ids[0] != keyID {
		t.Fatalf("the exported history's payloads are encrypted with %v (%v), want [%s]", ids, err, keyID)
	}
	// The same check finds the replies once the payloads are decrypted.
	codec := payloadcrypt.NewCodec(ring)
	if err := history.Decode(context.Background(), h, codec); err != nil {
		t.Fatal(err)
	}
	if dec := payloadBytes(t, h); !bytes.Contains(dec, []byte(replies[1])) || !bytes.Contains(dec, []byte(clear[len(clear)-1])) {
		t.Fatal("the decrypted history lacks a reply or a prompt line: the clear-text check above proves nothing")
	}

	t.Run("audit and replay with the key", func(t *testing.T) {
		out, err := genius(t, "audit", "--encryption-key-file", keys, file)
		if err != nil {
			t.Fatalf("audit: %v\n%s", err, out)
		}
		for _, r := range replies {
			if !strings.Contains(out, r) {
				t.Errorf("audit lacks the reply %q:\n%s", r, out)
			}
		}
		// From the server as well, through a client with the key.
		if out, err := genius(t, "audit", "--address", addr, "--workflow-id", id, "--encryption-key-file", keys); err != nil || !strings.Contains(out, replies[2]) {
			t.Errorf("audit --workflow-id: %v\n%s", err, out)
		}
		if out, err := genius(t, "replay", "--encryption-key-file", keys, file); err != nil || !strings.Contains(out, "ok ") {
			t.Errorf("replay: %v\n%s", err, out)
		}
	})
	t.Run("without the key or with the wrong one", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want []string
		}{
			{"no key", nil, []string{"encrypted with key ID " + keyID, "--encryption-key-file"}},
			{"wrong key", []string{"--encryption-key-file", wrong}, []string{"key ID " + keyID + " does not decrypt", wrong}},
		} {
			for _, verb := range []string{"audit", "replay"} {
				out, err := genius(t, append(append([]string{verb}, tc.args...), file)...)
				if err == nil {
					t.Errorf("%s %s succeeded:\n%s", verb, tc.name, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s, %s: output lacks %q:\n%s", verb, tc.name, w, out)
					}
				}
				if strings.Contains(out, replies[0]) {
					t.Errorf("%s, %s: output holds a decrypted reply", verb, tc.name)
				}
			}
		}
	})
	t.Run("temporal workflow show --codec-endpoint", func(t *testing.T) {
		tokenFile := filepath.Join(dir, "token")
		const token = "codec-token-of-the-test"
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		listening := regexp.MustCompile(`Codec server on (http://127\.0\.0\.1:\d+)`)
		out := startGenius(t, nil, listening, "codec-server", "--encryption-key-file", keys,
			"--listen", "127.0.0.1:0", "--auth-token-file", tokenFile, "--cors-origin", "http://localhost:8233")
		url := listening.FindStringSubmatch(out.String())[1]
		shown := temporalCLI(t, "workflow", "show", "--workflow-id", id, "--output", "json",
			"--codec-endpoint", url, "--codec-auth", "Bearer "+token)
		// The CLI prints the decoded payloads (base64 of their JSON):
		// read them as genius audit does.
		h, err := history.Parse(shown)
		if err != nil {
			t.Fatal(err)
		}
		if ids, err := payloadcrypt.KeyIDs(context.Background(), h); err != nil || len(ids) != 0 {
			t.Fatalf("payloads still encrypted with %v (%v)", ids, err)
		}
		trail, err := history.Build(h)
		if err != nil {
			t.Fatal(err)
		}
		tj, _ := json.Marshal(trail)
		for _, r := range replies {
			if !bytes.Contains(tj, []byte(r)) {
				t.Errorf("temporal workflow show --codec-endpoint lacks the reply %q", r)
			}
		}
		// A search started by the temporal CLI through the codec server has
		// its input encrypted too, and its result reads back through it.
		cliID := id + "-cli"
		randomSpec := specFile(t, "nas-bench-macro.json", func(m map[string]any) {
			m["iterations"] = 2
			m["proposer"] = map[string]any{"kind": "random"}
		})
		codecArgs := []string{"--codec-endpoint", url, "--codec-auth", "Bearer " + token}
		temporalCLI(t, append([]string{"workflow", "start", "--type", workflows.SearchName, "--task-queue", q,
			"--workflow-id", cliID, "--input-file", randomSpec}, codecArgs...)...)
		res := temporalCLI(t, append([]string{"workflow", "result", "--workflow-id", cliID, "--output", "json"}, codecArgs...)...)
		var r cliResult
		if err := json.Unmarshal(res, &r); err != nil || r.Status != "COMPLETED" || len(r.Result.Iterations) != 2 {
			t.Fatalf("temporal workflow result --codec-endpoint: %v\n%s", err, res)
		}
		started, err := history.Parse(temporalCLI(t, "workflow", "show", "--workflow-id", cliID, "--output", "json"))
		if err != nil {
			t.Fatal(err)
		}
		in := started.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
		if len(in) != 1 {
			t.Fatalf("started event has %d input payloads", len(in))
		}
		if kid, ok := payloadcrypt.KeyID(in[0]); !ok || kid != keyID {
			t.Errorf("input of a search started with --codec-endpoint: key ID %q (encrypted %v), want %s", kid, ok, keyID)
		}
		// Without the token the server refuses to decode. (The temporal CLI
		// retries a refused request until its deadline, so ask directly.)
		resp, err := http.Post(url+"/decode", "application/json", strings.NewReader(`{"payloads":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /decode without the bearer token: %s, want 401", resp.Status)
		}
		if strings.Contains(out.String(), token) {
			t.Error("the codec server logged its token")
		}
	})
}
