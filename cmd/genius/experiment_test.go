package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

func TestRenderExperiment(t *testing.T) {
	r := workflows.ExperimentResult{
		Name: "nas-bench-macro", Space: "nas-bench-macro", Benchmark: "nas-bench-macro", Proposer: "random",
		Trials: []workflows.TrialResult{
			{Trial: 1, WorkflowID: "exp/trial-1", Seed: 1, Best: &workflows.Best{Iteration: 2, Arch: []int{2, 2, 2, 1, 2, 2, 0, 2}, Accuracy: 92.874, Rank: 41}},
			{Trial: 2, WorkflowID: "exp/trial-2", Seed: 2, Best: &workflows.Best{Iteration: 1, Arch: []int{1, 0, 1, 0, 0, 1, 0, 0}, Accuracy: 85.7, Rank: 6221}},
			{Trial: 3, WorkflowID: "exp/trial-3", Seed: 3, Error: "child workflow failed\nwith details"},
		},
		PerIteration: []workflows.IterationStats{
			{Iteration: 1, N: 2, AccuracyMean: 88.123, AccuracyStd: 2.5, RankMean: 3100.26, RankStd: 3120.74, BestSoFarMean: 88.123, BestSoFarStd: 2.5},
			{Iteration: 2, N: 2, AccuracyMean: 90.5, AccuracyStd: 0.046, RankMean: 600, RankStd: 12.34, BestSoFarMean: 89.287, BestSoFarStd: 3.587},
		},
		Best:           workflows.SummaryStats{N: 2, AccuracyMean: 89.287, AccuracyStd: 3.587, RankMean: 3131, RankStd: 3090},
		RandomBaseline: &activities.BaselineResult{Samples: 2, Accuracy: 91.2, Rank: 1640.04, Of: 6561, Optimum: 93.13},
	}
	var b bytes.Buffer
	if err := renderExperiment(&b, "exp", r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	// row returns the table line that starts with the given cells.
	row := func(prefix ...string) string {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= len(prefix) && strings.Join(f[:len(prefix)], " ") == strings.Join(prefix, " ") {
				return l
			}
		}
		t.Fatalf("no line starting %q in:\n%s", prefix, out)
		return ""
	}
	for _, tt := range []struct {
		line  string
		wants []string
	}{
		{row("iteration", "trials"), []string{"accuracy mean ± std", "rank mean ± std", "best so far"}},
		{row("1", "2"), []string{"88.12 ± 2.50", "3100.3 ± 3120.7", "88.12 ± 2.50"}},
		{row("2", "2"), []string{"90.50 ± 0.05", "600.0 ± 12.3", "89.29 ± 3.59"}},
		{row("random", "baseline"), []string{"best of 2 uniform samples", "accuracy 91.20", "rank 1640.0 of 6561", "optimum 93.13"}},
		{row("1", "1"), []string{"92.87", "41", "2,2,2,1,2,2,0,2", "exp/trial-1"}},
		{row("2", "2", "85.70"), []string{"6221", "1,0,1,0,0,1,0,0", "exp/trial-2"}},
		{row("3", "3"), []string{"failed: child workflow failed", "exp/trial-3"}},
		{row("best", "per", "trial,"), []string{"2 trials", "accuracy 89.29 ± 3.59", "rank 3131.0 ± 3090.0", "random baseline 91.20, -1.91"}},
	} {
		for _, want := range tt.wants {
			if !strings.Contains(tt.line, want) {
				t.Errorf("line %q lacks %q", tt.line, want)
			}
		}
	}
	if strings.Contains(out, "with details") {
		t.Errorf("a trial's error spills over lines:\n%s", out)
	}
	if strings.Contains(out, "test accuracy") {
		t.Errorf("test accuracy column without test accuracies:\n%s", out)
	}
	// The baseline line sits right under the per-iteration rows.
	if i := strings.Index(out, "random baseline ("); i < strings.Index(out, "90.50 ± 0.05") || i > strings.Index(out, "trial  seed") {
		t.Errorf("baseline line out of place:\n%s", out)
	}

	t.Run("test accuracy and no baseline", func(t *testing.T) {
		r := r
		r.RandomBaseline = nil
		r.PerIteration = []workflows.IterationStats{{Iteration: 1, N: 1, AccuracyMean: 91, TestAccuracyMean: 93.456, TestAccuracyStd: 0.1}}
		var b bytes.Buffer
		if err := renderExperiment(&b, "exp", r); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"test accuracy mean ± std", "93.46 ± 0.10", "random baseline: none"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, b.String())
			}
		}
	})
}

func TestExperimentFlagErrors(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	spec := filepath.Join("..", "..", "specs", "nas-bench-macro.json")
	withRetrain := filepath.Join(t.TempDir(), "retrain.json")
	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	// A retrain recipe for another space: the experiment's refusal must
	// come before the spec's own complaint about it.
	m["retrain"] = map[string]any{"ready": "cpu-demo"}
	data, _ = json.Marshal(m)
	if err := os.WriteFile(withRetrain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// An unroutable address: none of these may get as far as dialling.
	addr := []string{"--address", "192.0.2.1:1"}
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"no spec", nil, []string{`"spec" not set`}},
		{"zero trials", []string{"--spec", spec, "--trials", "0", "--proposer", "random"}, []string{"--trials is 0", "1 to 100"}},
		{"negative trials", []string{"--spec", spec, "--trials", "-2", "--proposer", "random"}, []string{"--trials is -2"}},
		{"too many trials", []string{"--spec", spec, "--trials", "101", "--proposer", "random"}, []string{"experiment.trials", "101", "1 to 100"}},
		{"zero parallelism", []string{"--spec", spec, "--parallelism", "0", "--proposer", "random"}, []string{"--parallelism is 0"}},
		{"bad proposer", []string{"--spec", spec, "--proposer", "oracle"}, []string{`"proposer.kind"`}},
		{"bad iterations", []string{"--spec", spec, "--iterations", "-1", "--proposer", "random"}, []string{`"iterations"`}},
		{"retrain in spec", []string{"--spec", withRetrain, "--proposer", "random"}, []string{`sets "retrain"`, workflows.ExperimentName, "genius retrain", "--arch", "genius search --spec " + withRetrain}},
		{"llm without key", []string{"--spec", spec}, []string{"needs an API key", "OPENAI_API_KEY", "genius experiment --spec " + spec + " --proposer random"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runGenius(t, append(append([]string{"experiment"}, addr...), tt.args...)...)
			if err == nil {
				t.Fatalf("genius experiment %s succeeded:\n%s", strings.Join(tt.args, " "), out)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "connect to Temporal") {
				t.Errorf("dialled the server before checking: %v", err)
			}
		})
	}
}

func TestLoadExperimentSpec(t *testing.T) {
	spec := filepath.Join("..", "..", "specs", "nas-bench-macro.json")
	s, err := loadExperimentSpec(experimentOptions{spec: spec, trials: 5, trialsSet: true, parallelism: 2, parallelismSet: true, proposer: specs.ProposerEvolution, iterations: 4})
	if err != nil {
		t.Fatal(err)
	}
	if s.Experiment.Trials != 5 || s.Experiment.Parallelism != 2 || s.Proposer.Kind != specs.ProposerEvolution || s.Iterations != 4 {
		t.Errorf("overrides not applied: experiment %+v proposer %q iterations %d", s.Experiment, s.Proposer.Kind, s.Iterations)
	}
	// Unset flags keep the spec's values.
	s, err = loadExperimentSpec(experimentOptions{spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	if s.Experiment.Trials != 3 || s.Experiment.Parallelism != 3 || s.Proposer.Kind != specs.ProposerLLM || s.Iterations != 10 {
		t.Errorf("spec changed without flags: experiment %+v proposer %q iterations %d", s.Experiment, s.Proposer.Kind, s.Iterations)
	}
}

// TestExperimentDialError checks a valid baseline spec gets past the
// checks to dialling, and the dial error says how to get a server.
func TestExperimentDialError(t *testing.T) {
	spec := filepath.Join("..", "..", "specs", "nas-bench-macro.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := runExperiment(ctx, experimentOptions{client: clientFlags{Address: "192.0.2.1:1", Namespace: "default"}, spec: spec, proposer: specs.ProposerRandom}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "genius dev") {
		t.Fatalf("error %v, want the connection error that names genius dev", err)
	}
}
