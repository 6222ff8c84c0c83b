package workflows

import (
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/specs"
)

// Summary is the one line the Temporal Web UI shows for a search started
// with spec (StartWorkflowOptions.StaticSummary).
func Summary(spec specs.Spec) string {
	s := spec.WithDefaults()
	return fmt.Sprintf("GENIUS search %s: %s, %d iterations", label(s), proposerLabel(s), s.Iterations)
}

// ExperimentSummary is Summary for GeniusExperiment.
func ExperimentSummary(spec specs.Spec) string {
	s := spec.WithDefaults()
	return fmt.Sprintf("GENIUS experiment %s: %s, %d trials × %d iterations", label(s), proposerLabel(s), s.Experiment.Trials, s.Iterations)
}

// Details is the UI's longer description of a run (StaticDetails): the
// spec as submitted, in a Markdown code block.
func Details(spec specs.Spec) string {
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return ""
	}
	return "Spec:\n```json\n" + string(b) + "\n```"
}

func label(s specs.Spec) string {
	l := s.Space
	if s.Benchmark != "" && s.Benchmark != s.Space {
		l += " (" + s.Benchmark + ")"
	}
	if s.Dataset != "" {
		l += "/" + s.Dataset
	}
	if s.Name != "" && s.Name != s.Space {
		l = s.Name + " on " + l
	}
	return l
}

func proposerLabel(s specs.Spec) string {
	if s.Proposer.Kind == specs.ProposerLLM {
		return "llm " + s.Proposer.Model
	}
	return s.Proposer.Kind
}

// showDetails sets the run's current details, which the UI shows beside
// the summary: progress, best and spending. It is answered from memory and
// records nothing in the history.
func (s *search) showDetails(ctx workflow.Context) {
	d := fmt.Sprintf("%d of %d iterations done", s.st.Done, s.spec.Iterations)
	if s.stopped != "" {
		d += ", stopped: " + s.stopped
	}
	if b := s.st.Best; b != nil {
		d += fmt.Sprintf("; best %.2f (iteration %d)", b.Accuracy, b.Iteration)
		if b.Rank > 0 {
			d += fmt.Sprintf(", rank %d", b.Rank)
		}
	}
	if n := s.st.PromptTokens + s.st.CompletionTokens; n > 0 {
		d += fmt.Sprintf("; %d LLM tokens, $%.4f", n, s.st.CostUSD)
	}
	workflow.SetCurrentDetails(ctx, d)
}
