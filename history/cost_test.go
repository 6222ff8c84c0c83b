package history_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRenderCostAndPrinciples renders the cost of each call (with the
// recorded price, or the spec's over it), the caps, the principles step and
// the totals.
func TestRenderCostAndPrinciples(t *testing.T) {
	gpt4 := &pricing.Price{PromptUSDPerMTok: 30, CompletionUSDPerMTok: 60}
	spec := specs.Spec{Space: "nas-bench-macro", Iterations: 1, Principles: true, LLMBudget: &specs.LLMBudget{MaxCostUSD: 5}}
	const answer = "Deeper last stages paid off."
	trail := func(specPrice *pricing.Price) *history.Trail {
		s := spec
		s.Proposer.Price = specPrice
		return &history.Trail{
			WorkflowType: workflows.SearchName, WorkflowID: "w", RunIDs: []string{"r"}, Status: "COMPLETED",
			Input: mustJSON(t, workflows.SearchInput{Spec: s}),
			Steps: []history.Step{
				{Kind: history.KindActivity, Name: activities.ProposeName, Status: history.StatusCompleted,
					Input:  mustJSON(t, activities.ProposeInput{Iteration: 1, Attempt: 1, Total: 1, Proposer: specs.Proposer{Kind: "llm"}}),
					Result: mustJSON(t, activities.ProposeResult{Reply: "[1, 0, 1, 0, 0, 1, 0, 0]", Model: "gpt-4", PromptTokens: 1000, CompletionTokens: 100, Price: gpt4})},
				{Kind: history.KindActivity, Name: activities.ProposeName, Status: history.StatusCompleted,
					Input:  mustJSON(t, activities.ProposeInput{Iteration: 1, Attempt: 1, Total: 1, Next: activities.Next{Kind: activities.NextPrinciples}}),
					Result: mustJSON(t, activities.ProposeResult{Prompt: "which design principles?", Reply: answer, Model: "gpt-4", PromptTokens: 500, CompletionTokens: 50})},
			},
			Result: mustJSON(t, workflows.SearchResult{Stopped: workflows.StoppedBudget, PromptTokens: 1500, CompletionTokens: 150, CostUSD: 0.0555, UnpricedTokens: 550,
				Principles: &workflows.Principles{AfterIteration: 1, Reply: answer}}),
		}
	}
	var b bytes.Buffer
	if err := history.Render(&b, trail(nil)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"cost cap $5.0000", "asks for its design principles",
		"1000 prompt + 100 completion tokens ($0.0360)",
		"── design principles, asked after iteration 1", "500 prompt + 50 completion tokens (no price)",
		"tokens: 1500 prompt + 150 completion, cost $0.0555 (550 tokens of a model without a price are not counted)",
		"design principles (after iteration 1):\n  " + answer,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := history.Render(&b, trail(&pricing.Price{PromptUSDPerMTok: 1, CompletionUSDPerMTok: 2})); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "1000 prompt + 100 completion tokens ($0.0012)") {
		t.Errorf("the spec's price does not override the recorded one:\n%s", out)
	}
}
