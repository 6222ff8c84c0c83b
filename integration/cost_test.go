package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/workflows"
)

// TestCLILLMCost runs an llm search with a cost cap through `genius
// search` against the scripted server, which reports 1,000 prompt and 100
// completion tokens per call ($0.036 at gpt-4's list price): the final
// progress line, the result, the progress query, the GeniusLLMCostUSD attribute
// and `genius audit` all show the cost, and the search stops with
// "cost-cap" once $0.10 is reached, without asking for principles.
func TestCLILLMCost(t *testing.T) {
	archs := macroArchs(t)
	var steps []llmtest.Step
	for i := range 10 {
		steps = append(steps, llmtest.Step{Reply: listOf(archs[i]), PromptTokens: 1000, CompletionTokens: 100})
	}
	srv := llmtest.New(t, steps...)
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{BaseURL: srv.URL})
	spec := specFile(t, "nas-bench-macro.json", func(m map[string]any) {
		m["llm_budget"] = map[string]any{"max_cost_usd": 0.1}
		m["principles"] = true
	})
	id := "cost-" + q
	stdout, stderr := runGenius(t, "search", "--spec", spec, "--address", server(t).Address(), "--task-queue", q, "--workflow-id", id)
	var r workflows.SearchResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("genius search result: %v\n%s", err, stdout)
	}
	const want = 0.108 // three calls
	if r.Stopped != workflows.StoppedCostCap || len(r.Iterations) != 3 || fmt.Sprintf("%.4f", r.CostUSD) != "0.1080" || r.PromptTokens != 3000 {
		t.Fatalf("result stopped %q after %d iterations, cost $%v, %d prompt tokens; want %q after 3, $%v, 3000",
			r.Stopped, len(r.Iterations), r.CostUSD, r.PromptTokens, workflows.StoppedCostCap, want)
	}
	if r.Principles == nil || r.Principles.Skipped == "" || len(srv.Requests()) != 3 {
		t.Errorf("principles %+v after %d LLM calls; want skipped at the cap, 3 calls", r.Principles, len(srv.Requests()))
	}
	// The search may end before the first poll, so only the last line is
	// certain.
	for _, line := range []string{"stopped: cost-cap", "3300 tokens, $0.1080", "llm_budget.max_cost_usd"} {
		if !strings.Contains(string(stderr), line) {
			t.Errorf("genius search progress lacks %q:\n%s", line, stderr)
		}
	}

	var qr struct {
		Result []workflows.Progress `json:"queryResult"`
	}
	if err := json.Unmarshal(temporalCLI(t, "workflow", "query", "--workflow-id", id, "--type", workflows.ProgressQuery, "--output", "json"), &qr); err != nil || len(qr.Result) != 1 {
		t.Fatalf("progress query: %v %+v", err, qr)
	}
	if p := qr.Result[0]; p.CostUSD != r.CostUSD || p.PromptTokens != 3000 || p.CompletionTokens != 300 {
		t.Errorf("progress query %+v, want the result's cost and tokens", qr.Result[0])
	}

	desc := string(temporalCLI(t, "workflow", "describe", "--workflow-id", id, "--output", "json"))
	if !strings.Contains(desc, workflows.LLMCostAttribute.GetName()) {
		t.Errorf("describe shows no %s:\n%s", workflows.LLMCostAttribute.GetName(), desc)
	}

	audit, _ := runGenius(t, "audit", "--address", server(t).Address(), "--workflow-id", id)
	for _, s := range []string{"cost cap $0.1000", "1000 prompt + 100 completion tokens ($0.0360)", "stopped: cost-cap", "cost $0.1080", "design principles: not asked"} {
		if !strings.Contains(string(audit), s) {
			t.Errorf("genius audit lacks %q:\n%s", s, audit)
		}
	}
}

// TestCLILLMPrinciples ends a search with the principles question and
// finds the answer in the result and in `genius audit`.
func TestCLILLMPrinciples(t *testing.T) {
	archs := macroArchs(t)
	const answer = "Principle 1: spend the FLOPs in the last stage."
	srv := llmtest.New(t, llmtest.Reply(listOf(archs[0])), llmtest.Reply(listOf(archs[1])), llmtest.Reply(answer))
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{BaseURL: srv.URL})
	id := "principles-" + q
	r := runCLISearch(t, q, id, specFile(t, "nas-bench-macro.json", func(m map[string]any) {
		m["iterations"] = 2
		m["principles"] = true
	}))
	if r.Principles == nil || r.Principles.Reply != answer || r.Stopped != workflows.StoppedBudget {
		t.Fatalf("stopped %q, principles %+v", r.Stopped, r.Principles)
	}
	audit, _ := runGenius(t, "audit", "--address", server(t).Address(), "--workflow-id", id)
	for _, s := range []string{"asks for its design principles", "── design principles, asked after iteration 2", "which design principles did you follow", "design principles (after iteration 2):", answer} {
		if !strings.Contains(string(audit), s) {
			t.Errorf("genius audit lacks %q:\n%s", s, audit)
		}
	}
}

// runGenius runs the genius binary with OPENAI_BASE_URL set (its llm check
// wants an endpoint) and returns stdout and stderr; a failure fails the
// test.
func runGenius(t *testing.T, args ...string) ([]byte, []byte) {
	t.Helper()
	cmd := exec.Command(geniusBinary(t), args...)
	cmd.Env = append(os.Environ(), "OPENAI_BASE_URL=http://127.0.0.1:1/v1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("genius %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), stderr.Bytes()
}
