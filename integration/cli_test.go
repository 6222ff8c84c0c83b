package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// TestCLISearchBaselines submits the ready NAS-Bench-Macro spec with a
// baseline proposer through the temporal CLI, waits for it through the CLI,
// and replays the exported history with `genius replay`.
func TestCLISearchBaselines(t *testing.T) {
	for _, kind := range []string{specs.ProposerRandom, specs.ProposerEvolution} {
		t.Run(kind, func(t *testing.T) {
			c := dial(t)
			q := queue(t)
			startWorker(t, c, q, llm.Config{})
			spec := specFile(t, "nas-bench-macro.json", func(m map[string]any) {
				m["proposer"] = map[string]any{"kind": kind}
				m["seed"] = 7
			})
			id := "cli-" + q
			r := runCLISearch(t, q, id, spec)
			checkIterations(t, r, 10)
			if r.Stopped != workflows.StoppedBudget || r.Proposer != kind {
				t.Errorf("stopped %q proposer %q; want %q, %q", r.Stopped, r.Proposer, workflows.StoppedBudget, kind)
			}
			file := exportHistory(t, t.TempDir(), id, "", "history.json")
			out, err := exec.Command(geniusBinary(t), "replay", file).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "ok ") {
				t.Fatalf("genius replay %s: %v\n%s", file, err, out)
			}
		})
	}
}

// TestCLISearchLLM runs the ready NAS-Bench-Macro spec unchanged (llm
// proposer) through the temporal CLI against a scripted OpenAI-compatible
// server: replies in several styles, an unparsable reply, a duplicate, a
// 429 and a 500. Then the exported history must replay with `genius
// replay`, must fail to replay against a changed workflow, must not hold
// the API key, and `genius audit` must show the conversation in order.
func TestCLISearchLLM(t *testing.T) {
	archs := macroArchs(t)
	f := func(i int) string { return listOf(archs[i]) }
	first := "[1, 0, 1, 0, 0, 1, 0, 0]" // NAS-Bench-Macro: key 10100100, 85.70, rank 6221
	srv := llmtest.New(t,
		llmtest.Reply(first),
		llmtest.Reply("Looking at the results so far, wider early stages help. I propose "+f(0)+" for the next experiment."),
		llmtest.Reply("```\n"+f(1)+"\n```"),
		llmtest.Reply("Let me think about which stages matter most before answering."), // unparsable
		llmtest.Reply(f(2)),
		llmtest.Reply(first), // duplicate of iteration 1
		llmtest.Reply("Architecture: "+f(3)),
		llmtest.Step{Status: 429, ErrorMessage: "rate limit reached"},
		llmtest.Reply(f(4)),
		llmtest.Step{Status: 500, ErrorMessage: "internal error"},
		llmtest.Reply(f(5)),
		llmtest.Reply(f(6)),
		llmtest.Reply(f(7)),
		llmtest.Reply(f(8)),
	)
	const key = "sk-integration-test-DO-NOT-LEAK-4f2a9c"
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{APIKey: key, BaseURL: srv.URL})
	id := "cli-llm-" + q
	r := runCLISearch(t, q, id, filepath.Join("..", "specs", "nas-bench-macro.json"))

	checkIterations(t, r, 10)
	want := []string{first, f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8)}
	for i, it := range r.Iterations {
		if got := listOf(it.Arch); got != want[i] {
			t.Errorf("iteration %d measured %s, want %s", i+1, got, want[i])
		}
	}
	if it := r.Iterations[0]; it.Key != "10100100" || fmt.Sprintf("%.2f", it.Accuracy) != "85.70" || it.Rank != 6221 {
		t.Errorf("iteration 1 = key %s accuracy %.2f rank %d; want 10100100, 85.70, 6221", it.Key, it.Accuracy, it.Rank)
	}
	if a := r.Iterations[3]; a.Attempts != 2 || len(a.Rejected) != 1 || a.Rejected[0].Outcome != activities.OutcomeUnparsable {
		t.Errorf("iteration 4: attempts %d rejected %+v; want 2 attempts, one unparsable", a.Attempts, a.Rejected)
	}
	if a := r.Iterations[4]; a.Attempts != 2 || len(a.Rejected) != 1 || a.Rejected[0].Outcome != activities.OutcomeDuplicate {
		t.Errorf("iteration 5: attempts %d rejected %+v; want 2 attempts, one duplicate", a.Attempts, a.Rejected)
	}
	if n := srv.Remaining(); n != 0 {
		t.Errorf("%d scripted replies were not asked for", n)
	}
	reqs := srv.Requests()
	if len(reqs) != 14 {
		t.Errorf("LLM server got %d requests, want 14 (10 iterations, 2 rejections, 2 retried errors)", len(reqs))
	}
	for i, rq := range reqs {
		if rq.Authorization != "Bearer "+key {
			t.Errorf("request %d Authorization %q does not carry the worker's key", i, rq.Authorization)
		}
	}
	// The second iteration's prompt feeds back the first measurement.
	if p := reqs[1].Last(); !strings.Contains(p, first) || !strings.Contains(p, "85.70") {
		t.Errorf("iteration 2 prompt lacks iteration 1's architecture and accuracy 85.70:\n%s", p)
	}

	dir := t.TempDir()
	file := exportHistory(t, dir, id, "", "history.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(key)) || bytes.Contains(data, []byte("sk-integration")) {
		t.Fatal("the API key is in the exported history")
	}

	t.Run("replay", func(t *testing.T) {
		out, err := exec.Command(geniusBinary(t), "replay", file).CombinedOutput()
		if err != nil {
			t.Fatalf("genius replay: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "ok   "+file+": GeniusSearch") {
			t.Errorf("genius replay output:\n%s", out)
		}
	})

	t.Run("changed workflow fails replay", func(t *testing.T) {
		h, err := history.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := history.Replay(h, func(r worker.WorkflowRegistry) {
			r.RegisterWorkflowWithOptions(evaluateFirst, workflow.RegisterOptions{Name: workflows.SearchName})
		}, nil); err == nil {
			t.Fatal("a workflow that schedules Evaluate before Propose replayed the recorded history without error")
		} else if !strings.Contains(err.Error(), workflows.SearchName) || !strings.Contains(err.Error(), "non-determinism") {
			t.Errorf("replay error should name the workflow and the non-determinism: %v", err)
		}
		// The unchanged code still replays it.
		if err := history.Replay(h, workers.RegisterWorkflows, nil); err != nil {
			t.Fatalf("unchanged code: %v", err)
		}
	})

	t.Run("tampered history fails genius replay with exit 1", func(t *testing.T) {
		// Rename the first scheduled activity, as a different code version
		// would have recorded it.
		tampered := bytes.Replace(data, []byte(`"name":"Propose"`), []byte(`"name":"Evaluate"`), 1)
		if bytes.Equal(tampered, data) {
			tampered = bytes.Replace(data, []byte(`"name": "Propose"`), []byte(`"name": "Evaluate"`), 1)
		}
		if bytes.Equal(tampered, data) {
			t.Fatal("found no Propose activity type in the exported history")
		}
		bad := filepath.Join(dir, "tampered.json")
		if err := os.WriteFile(bad, tampered, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(geniusBinary(t), "replay", file, bad)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
			t.Fatalf("genius replay of a tampered history: %v, want exit status 1\n%s", err, out)
		}
		for _, want := range []string{"ok   " + file, "FAIL " + bad, workflows.SearchName, "1 of 2 histories"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("genius replay output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("audit", func(t *testing.T) {
		for _, args := range [][]string{
			{"audit", file},
			{"audit", "--address", server(t).Address(), "--workflow-id", id},
		} {
			out, err := exec.Command(geniusBinary(t), args...).CombinedOutput()
			if err != nil {
				t.Fatalf("genius %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			text := string(out)
			// Every reply the server gave appears, in order.
			pos := 0
			for _, reply := range []string{first, "wider early stages help", "```", "Let me think", f(2), "Architecture: " + f(3), f(8)} {
				j := strings.Index(text[pos:], reply)
				if j < 0 {
					t.Fatalf("genius %s: reply %q missing or out of order:\n%s", args[1], reply, text)
				}
				pos += j
			}
			for _, want := range []string{"prompt:", "reply:", "tokens", "check: unparsable", "check: duplicate", "sent back:", "accuracy 85.70, rank 6221 of 6561", "iteration 10/10", "stopped: budget"} {
				if !strings.Contains(text, want) {
					t.Errorf("genius %s output lacks %q", args[1], want)
				}
			}
			if strings.Contains(text, key) {
				t.Error("audit output holds the API key")
			}
		}
	})
}

func listOf(a []int) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// evaluateFirst is GeniusSearch as a careless edit might leave it: it
// measures a fixed architecture before asking the proposer, so it
// schedules activities in a different order than the recorded run.
func evaluateFirst(ctx workflow.Context, in workflows.SearchInput) (*workflows.SearchResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out activities.EvaluateResult
	_ = workflow.ExecuteActivity(actx, activities.EvaluateName, activities.EvaluateInput{
		Benchmark: "nas-bench-macro", Space: "nas-bench-macro", Arch: []int{0, 0, 0, 0, 0, 0, 0, 0}, Key: "00000000",
	}).Get(ctx, &out)
	return workflows.GeniusSearch(ctx, in)
}
