package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
)

// New searches check proposals and look them up as local activities; the
// LLM call stays a regular activity, and a table served on another task
// queue is still reached through it.
func TestChecksAndLookupsRunLocally(t *testing.T) {
	tests := []struct {
		name      string
		evalQueue string
		want      []string
	}{
		{"own queue", "", []string{"Propose", "local:CheckProposal", "local:Evaluate", "Propose", "local:CheckProposal", "Propose", "local:CheckProposal", "local:Evaluate"}},
		{"tables elsewhere", "tables", []string{"Propose", "local:CheckProposal", "Evaluate", "Propose", "local:CheckProposal", "Propose", "local:CheckProposal", "Evaluate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t,
				llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
				llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"), // duplicate: sent back
				llmtest.Reply("[2, 1, 2, 0, 1, 2, 2, 0]"),
			)
			spec := llmSpec("nas-bench-macro", 2)
			spec.Evaluator = specs.Evaluator{Kind: specs.EvaluatorLookup, TaskQueue: tt.evalQueue}
			res := h.mustRun(spec)
			if len(res.Iterations) != 2 || res.Iterations[1].Attempts != 2 {
				t.Fatalf("result %+v", res)
			}
			if !slices.Equal(h.calls, tt.want) {
				t.Errorf("activities\n %s\nwant\n %s", strings.Join(h.calls, " "), strings.Join(tt.want, " "))
			}
		})
	}
}
