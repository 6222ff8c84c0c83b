package workflows_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// macroReplies are distinct NAS-Bench-Macro proposals, each reported by
// the server as 1,000 prompt and 100 completion tokens: $0.036 at gpt-4's
// built-in list price of $30/$60 per million.
func macroReplies(n int) []llmtest.Step {
	var steps []llmtest.Step
	for i := range n {
		arch := []int{i % 3, (i / 3) % 3, (i / 9) % 3, 1, 0, 2, 1, 0}
		steps = append(steps, llmtest.Step{Reply: fmt.Sprint(arch), PromptTokens: 1000, CompletionTokens: 100})
	}
	return steps
}

const gpt4Call = (1000*30.0 + 100*60.0) / 1e6

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func (h *harness) progress() workflows.Progress {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.ProgressQuery)
	if err != nil {
		h.t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestLLMCostCap stops a search whose cost reaches llm_budget.max_cost_usd,
// with the cost computed from the prices recorded with each proposal.
func TestLLMCostCap(t *testing.T) {
	h := newHarness(t, macroReplies(10)...)
	s := llmSpec("nas-bench-macro", 10)
	s.LLMBudget = &specs.LLMBudget{MaxCostUSD: 0.1}
	res := h.mustRun(s)
	// 0.036 and 0.072 are under the cap, 0.108 is not: the fourth
	// iteration never asks.
	if res.Stopped != workflows.StoppedCostCap || len(res.Iterations) != 3 {
		t.Fatalf("stopped %q (%s) after %d iterations, want %q after 3", res.Stopped, res.StopDetail, len(res.Iterations), workflows.StoppedCostCap)
	}
	if !strings.Contains(res.StopDetail, "llm_budget.max_cost_usd") {
		t.Errorf("stop detail %q does not name the cap", res.StopDetail)
	}
	if !near(res.CostUSD, 3*gpt4Call) || res.PromptTokens != 3000 || res.CompletionTokens != 300 || res.UnpricedTokens != 0 {
		t.Errorf("cost $%v, tokens %d+%d (unpriced %d); want $%v, 3000+300", res.CostUSD, res.PromptTokens, res.CompletionTokens, res.UnpricedTokens, 3*gpt4Call)
	}
	if n := len(h.srv.Requests()); n != 3 {
		t.Errorf("%d LLM calls, want 3", n)
	}
	p := h.progress()
	if p.Stopped != workflows.StoppedCostCap || !near(p.CostUSD, res.CostUSD) || p.PromptTokens != 3000 || p.CompletionTokens != 300 {
		t.Errorf("progress %+v does not show the cost and tokens of the result", p)
	}
	// The price is in the history with every proposal, so the cost can be
	// recomputed from the history alone.
	priced := 0
	for _, pl := range h.payloads {
		var r activities.ProposeResult
		if json.Unmarshal([]byte(pl), &r) == nil && r.Price != nil && *r.Price == (pricing.Price{PromptUSDPerMTok: 30, CompletionUSDPerMTok: 60}) {
			priced++
		}
	}
	if priced != 3 {
		t.Errorf("%d activity results carry gpt-4's price, want 3", priced)
	}
}

// TestLLMCostAttribute upserts GeniusLLMCostUSD as the cost grows.
func TestLLMCostAttribute(t *testing.T) {
	h := newHarness(t, macroReplies(3)...)
	var costs []float64
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetFloat64(workflows.LLMCostAttribute); ok {
			costs = append(costs, v)
		}
	}).Return(nil)
	res := h.mustRun(llmSpec("nas-bench-macro", 3))
	if len(costs) != 3 || !near(costs[0], gpt4Call) || costs[2] != res.CostUSD {
		t.Errorf("cost upserts %v, want one per iteration ending at %v", costs, res.CostUSD)
	}

	// A give-up reply ends the loop early; its cost is upserted too.
	h = newHarness(t, append(macroReplies(1), llmtest.Step{Reply: "I cannot improve on these results any further.", PromptTokens: 1000, CompletionTokens: 100})...)
	costs = nil
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetFloat64(workflows.LLMCostAttribute); ok {
			costs = append(costs, v)
		}
	}).Return(nil)
	res = h.mustRun(llmSpec("nas-bench-macro", 3))
	if res.Stopped != workflows.StoppedGiveUp || len(costs) == 0 || costs[len(costs)-1] != res.CostUSD || !near(res.CostUSD, 2*gpt4Call) {
		t.Errorf("give-up: stopped %q, cost upserts %v, result $%v", res.Stopped, costs, res.CostUSD)
	}
}

// TestLLMTokenCap stops a search at llm_budget.max_tokens, even in the
// middle of an iteration's constraint loop.
func TestLLMTokenCap(t *testing.T) {
	steps := macroReplies(2)
	// The third reply is unreadable: the correction would be the fourth
	// call, but 3,300 tokens are past the cap.
	steps = append(steps, llmtest.Step{Reply: "I am not sure yet.", PromptTokens: 1000, CompletionTokens: 100})
	h := newHarness(t, steps...)
	s := llmSpec("nas-bench-macro", 10)
	s.LLMBudget = &specs.LLMBudget{MaxTokens: 2500}
	res := h.mustRun(s)
	if res.Stopped != workflows.StoppedTokenCap || len(res.Iterations) != 2 || len(res.Failures) != 0 {
		t.Fatalf("stopped %q (%s) after %d iterations and %d failures, want %q after 2", res.Stopped, res.StopDetail, len(res.Iterations), len(res.Failures), workflows.StoppedTokenCap)
	}
	if !strings.Contains(res.StopDetail, "iteration 3 attempt 2") || !strings.Contains(res.StopDetail, "3300 tokens") {
		t.Errorf("stop detail %q", res.StopDetail)
	}
	if got := len(h.srv.Requests()); got != 3 {
		t.Errorf("%d LLM calls, want 3", got)
	}
}

// TestLLMSpecPrice prices tokens by proposer.price, over the worker's
// table, and a model nobody prices leaves its tokens unpriced.
func TestLLMSpecPrice(t *testing.T) {
	h := newHarness(t, macroReplies(2)...)
	s := llmSpec("nas-bench-macro", 2)
	s.Proposer.Price = &pricing.Price{PromptUSDPerMTok: 1, CompletionUSDPerMTok: 2}
	res := h.mustRun(s)
	if want := 2 * (1000*1.0 + 100*2.0) / 1e6; !near(res.CostUSD, want) {
		t.Errorf("cost $%v, want $%v from proposer.price", res.CostUSD, want)
	}

	h = newHarness(t, macroReplies(2)...)
	s = llmSpec("nas-bench-macro", 2)
	s.Proposer.Model = "local-llama"
	res = h.mustRun(s)
	if res.CostUSD != 0 || res.UnpricedTokens != 2200 {
		t.Errorf("unpriced model: cost $%v, unpriced tokens %d; want 0 and 2200", res.CostUSD, res.UnpricedTokens)
	}
}

// TestLLMCostCapNeedsPrice fails a capped search before its first call
// when the model has no price, saying how to give one.
func TestLLMCostCapNeedsPrice(t *testing.T) {
	h := newHarness(t, macroReplies(2)...)
	s := llmSpec("nas-bench-macro", 2)
	s.Proposer.Model = "local-llama"
	s.LLMBudget = &specs.LLMBudget{MaxCostUSD: 1}
	_, err := h.run(s, nil)
	if err == nil || !strings.Contains(err.Error(), "proposer.price") || !strings.Contains(err.Error(), "local-llama") {
		t.Fatalf("error %v, want one naming the model and proposer.price", err)
	}
	if n := len(h.srv.Requests()); n != 0 {
		t.Errorf("%d LLM calls before failing, want 0", n)
	}
}

// TestLLMPrinciples asks for the design principles after the last
// iteration, in the same conversation, reporting the last result first.
func TestLLMPrinciples(t *testing.T) {
	const answer = "1. Prefer MB6 blocks in the last stage. 2. Keep early stages light."
	steps := append(macroReplies(2), llmtest.Step{Reply: answer, PromptTokens: 500, CompletionTokens: 50})
	h := newHarness(t, steps...)
	s := llmSpec("nas-bench-macro", 2)
	s.Principles = true
	res := h.mustRun(s)
	p := res.Principles
	if p == nil || p.Reply != answer || p.AfterIteration != 2 || p.Skipped != "" || p.Error != "" {
		t.Fatalf("principles %+v", p)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d LLM calls, want 3", len(reqs))
	}
	last := reqs[2]
	// Fresh mode: the second iteration's chat (system, task, proposal) plus
	// the question.
	if len(last.Messages) != 4 || last.Messages[2].Content != steps[1].Reply {
		t.Fatalf("principles request is not the last iteration's chat: %+v", last.Messages)
	}
	want := prompt.FormatAccuracy(res.Iterations[1].Accuracy)
	if q := last.Last(); !strings.Contains(q, prompt.Principles) || !strings.Contains(q, want) {
		t.Errorf("question %q lacks the principles prompt or the last accuracy %s", q, want)
	}
	if res.PromptTokens != 2500 || res.CompletionTokens != 250 || !near(res.CostUSD, 2*gpt4Call+(500*30.0+50*60.0)/1e6) {
		t.Errorf("totals %d+%d $%v do not include the principles step", res.PromptTokens, res.CompletionTokens, res.CostUSD)
	}
	if !strings.Contains(strings.Join(h.payloads, "\n"), `"kind":"`+activities.NextPrinciples+`"`) {
		t.Error("no Propose input in the history asks for principles")
	}
}

// TestLLMPrinciplesSkippedAtCap does not spend past a cap on principles.
func TestLLMPrinciplesSkippedAtCap(t *testing.T) {
	h := newHarness(t, macroReplies(3)...)
	s := llmSpec("nas-bench-macro", 10)
	s.Principles = true
	s.LLMBudget = &specs.LLMBudget{MaxTokens: 2000}
	res := h.mustRun(s)
	if res.Stopped != workflows.StoppedTokenCap || res.Principles == nil || !strings.Contains(res.Principles.Skipped, "cap") {
		t.Fatalf("stopped %q, principles %+v", res.Stopped, res.Principles)
	}
	if n := len(h.srv.Requests()); n != 2 {
		t.Errorf("%d LLM calls, want 2", n)
	}
}

// TestExperimentSumsCost sums the trials' tokens and cost. Trials run one
// at a time so the scripted replies go to them in order.
func TestExperimentSumsCost(t *testing.T) {
	h := newHarness(t, macroReplies(6)...)
	s := llmSpec("nas-bench-macro", 2)
	s.Experiment = specs.Experiment{Trials: 3, Parallelism: 1}
	res := h.mustRunExperiment(s)
	if len(res.Trials) != 3 {
		t.Fatalf("%d trials", len(res.Trials))
	}
	for _, tr := range res.Trials {
		if !near(tr.CostUSD, 2*gpt4Call) || tr.PromptTokens != 2000 || tr.CompletionTokens != 200 {
			t.Errorf("trial %d: $%v, %d+%d tokens; want $%v, 2000+200", tr.Trial, tr.CostUSD, tr.PromptTokens, tr.CompletionTokens, 2*gpt4Call)
		}
	}
	if !near(res.CostUSD, 6*gpt4Call) || res.PromptTokens != 6000 || res.CompletionTokens != 600 {
		t.Errorf("experiment: $%v, %d+%d tokens; want $%v, 6000+600", res.CostUSD, res.PromptTokens, res.CompletionTokens, 6*gpt4Call)
	}
}
