package workflows_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/stats"
	"github.com/genius-nas/genius/workflows"
)

func TestExperimentAggregatesTrials(t *testing.T) {
	h := newHarness(t)
	s := randomSpec(100)
	s.Experiment = specs.Experiment{Trials: 4, Parallelism: 2}
	var started []string
	h.env.SetOnChildWorkflowStartedListener(func(info *workflowInfo, _ ctxType, _ encodedValues) {
		started = append(started, info.WorkflowExecution.ID)
	})
	res := h.mustRunExperiment(s)
	if len(res.Trials) != 4 || len(started) != 4 {
		t.Fatalf("%d trials, %d children started", len(res.Trials), len(started))
	}
	seeds := map[int64]bool{}
	firsts := map[string]bool{}
	for i, tr := range res.Trials {
		if tr.Trial != i+1 || tr.Error != "" || len(tr.Iterations) != 10 || tr.Best == nil || tr.Stopped != workflows.StoppedBudget {
			t.Errorf("trial %d: %+v", i+1, tr)
		}
		if !strings.HasSuffix(tr.WorkflowID, fmt.Sprintf("/trial-%d", i+1)) {
			t.Errorf("trial %d workflow id %q", i+1, tr.WorkflowID)
		}
		seeds[tr.Seed] = true
		firsts[fmt.Sprint(tr.Iterations[0].Arch)] = true
	}
	if len(seeds) != 4 || len(firsts) < 3 {
		t.Errorf("trials are not independent: seeds %v, first proposals %v", seeds, firsts)
	}
	// The exact random baseline of NAS-Bench-Macro is 92.43,
	// expected rank about 597 (ties make it 595.2 here).
	rb := res.RandomBaseline
	if rb == nil || prompt.FormatAccuracy(rb.Accuracy) != "92.43" || math.Abs(rb.Rank-597) > 3 || rb.Samples != 10 || rb.Of != 6561 {
		t.Errorf("random baseline %+v", rb)
	}
	if len(res.PerIteration) != 10 {
		t.Fatalf("%d per-iteration rows", len(res.PerIteration))
	}
	for _, row := range res.PerIteration {
		var acc []float64
		for _, tr := range res.Trials {
			acc = append(acc, tr.Iterations[row.Iteration-1].Accuracy)
		}
		mean, std := stats.MeanStd(acc)
		if row.N != 4 || math.Abs(row.AccuracyMean-mean) > 1e-9 || math.Abs(row.AccuracyStd-std) > 1e-9 {
			t.Errorf("iteration %d: %+v, want mean %v std %v", row.Iteration, row, mean, std)
		}
	}
	last := res.PerIteration[9]
	var bests []float64
	for _, tr := range res.Trials {
		bests = append(bests, tr.Best.Accuracy)
	}
	bm, bs := stats.MeanStd(bests)
	if math.Abs(res.Best.AccuracyMean-bm) > 1e-9 || math.Abs(res.Best.AccuracyStd-bs) > 1e-9 || math.Abs(last.BestSoFarMean-bm) > 1e-9 {
		t.Errorf("best %+v, best-so-far at 10 %v, want mean %v std %v", res.Best, last.BestSoFarMean, bm, bs)
	}
}

func TestExperimentStopSignalStopsTrials(t *testing.T) {
	h := newHarness(t, llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"))
	h.srv.Handle(func(llmtest.Request) llmtest.Step {
		h.env.SignalWorkflow(workflows.StopSignal, "budget cut")
		return llmtest.Step{Hang: true}
	})
	s := llmSpec("nas-bench-macro", 5)
	s.Experiment = specs.Experiment{Trials: 3, Parallelism: 1}
	res := h.mustRunExperiment(s)
	if res.Stopped != workflows.StoppedSignal || len(res.Trials) != 1 || res.Trials[0].Stopped != workflows.StoppedSignal || len(res.Trials[0].Iterations) != 1 {
		t.Errorf("stopped %q, trials %+v", res.Stopped, res.Trials)
	}
}

func TestExperimentRecordsFailedTrials(t *testing.T) {
	h := newHarness(t)
	h.srv.Handle(func(llmtest.Request) llmtest.Step { return llmtest.Status(401) })
	s := llmSpec("nas-bench-macro", 3)
	s.Experiment = specs.Experiment{Trials: 2, Parallelism: 2}
	res := h.mustRunExperiment(s)
	if len(res.Trials) != 2 || len(res.PerIteration) != 0 || res.Best.N != 0 {
		t.Fatalf("%+v", res)
	}
	for _, tr := range res.Trials {
		if !strings.Contains(tr.Error, "HTTP 401") || tr.Best != nil {
			t.Errorf("trial %d: %+v", tr.Trial, tr)
		}
	}
	if n := len(h.srv.Requests()); n != 2 {
		t.Errorf("%d LLM requests, want one per trial (no retries on 401)", n)
	}
}
