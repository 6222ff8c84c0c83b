package workflows_test

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/workflows"
)

func TestSummary(t *testing.T) {
	s := baseSpec("nas-bench-201-cifar10")
	if got, want := workflows.Summary(s), "GENIUS search nas-bench-201/cifar10: llm gpt-4, 10 iterations"; !strings.HasPrefix(got, "GENIUS search ") || !strings.Contains(got, "llm gpt-4") || !strings.Contains(got, "nas-bench-201") {
		t.Errorf("Summary = %q, want like %q", got, want)
	}
	s.Proposer.Kind = "random"
	s.Experiment.Trials = 4
	if got := workflows.ExperimentSummary(s); !strings.Contains(got, "random") || !strings.Contains(got, "4 trials") {
		t.Errorf("ExperimentSummary = %q", got)
	}
	if d := workflows.Details(s); !strings.Contains(d, `"space": "nas-bench-201"`) {
		t.Errorf("Details lack the spec: %q", d)
	}
}
