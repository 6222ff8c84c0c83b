package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/stats"
	"github.com/genius-nas/genius/workflows"
)

// TestCLIExperiment runs `genius experiment` against the dev server and a
// worker: the ready NAS-Bench-Macro spec with the random proposer, 3 trials
// of 4 iterations, 2 at once. The per-iteration statistics must be the
// mean and population std of the trials' own measurements, and the
// baseline the table's exact expectation for 4 samples; with the spec's
// T=10 the baseline is the table's 92.43.
func TestCLIExperiment(t *testing.T) {
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{})
	spec := filepath.Join("..", "specs", "nas-bench-macro.json")
	tab, err := bench.Open(dataDir(t), bench.NASBenchMacro, "")
	if err != nil {
		t.Fatal(err)
	}

	id := "experiment-" + q
	stdout := runExperimentCLI(t, "experiment", "--address", server(t).Address(), "--task-queue", q, "--workflow-id", id,
		"--spec", spec, "--proposer", "random", "--trials", "3", "--parallelism", "2", "--iterations", "4", "--json")
	var r workflows.ExperimentResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("decode genius experiment --json output: %v\n%s", err, stdout)
	}
	if r.Proposer != "random" || r.Space != "nas-bench-macro" || r.Stopped != "" {
		t.Errorf("proposer %q space %q stopped %q", r.Proposer, r.Space, r.Stopped)
	}
	if len(r.Trials) != 3 {
		t.Fatalf("%d trials, want 3: %+v", len(r.Trials), r.Trials)
	}
	seeds := map[int64]bool{}
	for i, tr := range r.Trials {
		if tr.Trial != i+1 || tr.WorkflowID != fmt.Sprintf("%s/trial-%d", id, i+1) || tr.Error != "" {
			t.Errorf("trial %d: number %d workflow %q error %q", i+1, tr.Trial, tr.WorkflowID, tr.Error)
		}
		if len(tr.Iterations) != 4 || tr.Best == nil {
			t.Fatalf("trial %d: %d iterations, best %v; want 4 and a best", tr.Trial, len(tr.Iterations), tr.Best)
		}
		seeds[tr.Seed] = true
	}
	if len(seeds) != 3 {
		t.Errorf("trials share seeds: %v", seeds)
	}

	if len(r.PerIteration) != 4 {
		t.Fatalf("%d per-iteration rows, want 4: %+v", len(r.PerIteration), r.PerIteration)
	}
	for i, row := range r.PerIteration {
		var acc, rank []float64
		for _, tr := range r.Trials {
			it := tr.Iterations[i]
			// The result's accuracy and rank are the table's.
			res, err := tab.Lookup(it.Key)
			if err != nil {
				t.Fatal(err)
			}
			if res.Accuracy != it.Accuracy || res.Rank != it.Rank {
				t.Errorf("trial %d iteration %d: %s measured %g rank %d, table says %g rank %d", tr.Trial, it.Iteration, it.Key, it.Accuracy, it.Rank, res.Accuracy, res.Rank)
			}
			acc = append(acc, it.Accuracy)
			rank = append(rank, float64(it.Rank))
		}
		am, as := stats.MeanStd(acc)
		rm, rs := stats.MeanStd(rank)
		if row.Iteration != i+1 || row.N != 3 || !experimentNear(row.AccuracyMean, am) || !experimentNear(row.AccuracyStd, as) || !experimentNear(row.RankMean, rm) || !experimentNear(row.RankStd, rs) {
			t.Errorf("iteration %d: %+v; want n 3, accuracy %g ± %g, rank %g ± %g", i+1, row, am, as, rm, rs)
		}
	}
	wantAcc, wantRank := tab.RandomBaseline(4)
	if b := r.RandomBaseline; b == nil || b.Samples != 4 || b.Of != 6561 || !experimentNear(b.Accuracy, wantAcc) || !experimentNear(b.Rank, wantRank) {
		t.Errorf("random baseline %+v; want best of 4 samples: %g rank %g of 6561", b, wantAcc, wantRank)
	}

	t.Run("table with the spec's T=10", func(t *testing.T) {
		out := string(runExperimentCLI(t, "experiment", "--address", server(t).Address(), "--task-queue", q, "--workflow-id", id+"-t10",
			"--spec", spec, "--proposer", "random", "--trials", "2", "--parallelism", "2"))
		base := regexp.MustCompile(`(?m)^random baseline \(exact expected best of 10 uniform samples\): accuracy 92\.43, rank 595\.2 of 6561 \(optimum 93\.13\)$`)
		if !base.MatchString(out) {
			t.Errorf("no NAS-Bench-Macro baseline line (92.43, rank 595.2) in:\n%s", out)
		}
		rows := regexp.MustCompile(`(?m)^(\d+) +2 +\d+\.\d\d ± \d+\.\d\d +\d+\.\d ± \d+\.\d +\d+\.\d\d ± \d+\.\d\d *$`).FindAllStringSubmatch(out, -1)
		if len(rows) != 10 || rows[0][1] != "1" || rows[9][1] != "10" {
			t.Errorf("want 10 iteration rows over 2 trials, got %d in:\n%s", len(rows), out)
		}
		for k := 1; k <= 2; k++ {
			if !strings.Contains(out, fmt.Sprintf("%s-t10/trial-%d", id, k)) {
				t.Errorf("trial %d missing from:\n%s", k, out)
			}
		}
		if !strings.Contains(out, "best per trial, mean ± std over 2 trials") {
			t.Errorf("no best-per-trial summary in:\n%s", out)
		}
	})
}

// runExperimentCLI runs the genius binary and returns its stdout; a failure
// fails the test with its stderr.
func runExperimentCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(geniusBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("genius %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

func experimentNear(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
