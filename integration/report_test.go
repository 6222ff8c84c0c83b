package integration

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/browsertest"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/report"
	"github.com/genius-nas/genius/report/reporttest"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/workflows"
)

// TestCLIReport runs an experiment of 3 trials × 10 iterations (random
// proposer) on the dev server, then `genius report --workflow-id` on it:
// the folder must hold the PNG and SVG plots, report.md and report.html;
// every plotted series must be the experiment's own numbers and the
// table's exact baseline; and the page must show in headless Chromium.
// The same report from the exported history, with the paper's results
// overlaid, must plot the same series plus the paper's.
func TestCLIReport(t *testing.T) {
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{})
	data := dataDir(t)
	tab, err := bench.Open(data, bench.NASBenchMacro, "")
	if err != nil {
		t.Fatal(err)
	}
	id := "report-" + q
	addr := server(t).Address()
	stdout := runExperimentCLI(t, "experiment", "--address", addr, "--task-queue", q, "--workflow-id", id,
		"--spec", filepath.Join("..", "specs", "nas-bench-macro.json"), "--proposer", "random",
		"--trials", "3", "--parallelism", "3", "--iterations", "10", "--json")
	var res workflows.ExperimentResult
	if err := json.Unmarshal(stdout, &res); err != nil {
		t.Fatalf("decode genius experiment --json: %v\n%s", err, stdout)
	}
	if len(res.Trials) != 3 || len(res.PerIteration) != 10 {
		t.Fatalf("experiment has %d trials and %d iteration rows, want 3 and 10", len(res.Trials), len(res.PerIteration))
	}

	out := filepath.Join(t.TempDir(), "report")
	msg := string(runExperimentCLI(t, "report", "--address", addr, "--workflow-id", id, "--out", out, "--data-dir", data))
	if !strings.Contains(msg, filepath.Join(out, "report.html")) {
		t.Errorf("genius report does not say where the report is: %q", msg)
	}
	for _, f := range []string{"accuracy.png", "accuracy.svg", "rank.png", "rank.svg", "best-so-far.png", "best-so-far.svg", "report.md", "report.html", "report.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	figs := readFigures(t, out)
	checkReportSeries(t, figs, res, tab)

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if !strings.Contains(string(md), tr.WorkflowID) {
			t.Errorf("report.md does not name trial %s", tr.WorkflowID)
		}
	}
	if !strings.Contains(string(md), "| 10 | 3 | ") || !strings.Contains(string(md), "92.43 (rank 595.2)") {
		t.Errorf("report.md lacks iteration 10 over 3 trials beside the baseline 92.43 (rank 595.2):\n%s", md)
	}

	img := browsertest.Screenshot(t, filepath.Join(out, "report.html"), 1280, 2000)
	if px := browsertest.Count(img); px.NonWhite < 20000 || px.Distinct < 50 || px.Coloured < 2000 {
		t.Errorf("report.html in Chromium looks blank or without its plots: %+v", px)
	}

	t.Run("from exported history with the paper's results", func(t *testing.T) {
		csv := reporttest.PaperCSV(t)
		hist := exportHistory(t, t.TempDir(), id, "", "experiment.json")
		out2 := filepath.Join(t.TempDir(), "report")
		runExperimentCLI(t, "report", hist, "--out", out2, "--data-dir", data, "--compare", csv, "--compare-setting", "temperature=0")
		figs2 := readFigures(t, out2)
		checkReportSeries(t, figs2, res, tab)
		for i, f := range figs2 {
			var own []report.Series
			paper := 0
			for _, s := range f.Series {
				if s.Role == report.RolePaper {
					paper++
					continue
				}
				own = append(own, s)
			}
			if !reflect.DeepEqual(own, figs[i].Series) {
				t.Errorf("%s: the exported history plots other series than the server's", f.Name)
			}
			if (f.Name == report.FigAccuracy || f.Name == report.FigRank || f.Name == report.FigBestSoFar) && paper != 1 {
				t.Errorf("%s: %d paper overlays, want 1 (temperature=0)", f.Name, paper)
			}
		}
	})
}

func readFigures(t *testing.T, dir string) []report.Figure {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.DataFile))
	if err != nil {
		t.Fatal(err)
	}
	var d report.Data
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Figures
}

// checkReportSeries compares the plotted series with the experiment's
// result and the table.
func checkReportSeries(t *testing.T, figs []report.Figure, res workflows.ExperimentResult, tab *bench.Table) {
	t.Helper()
	byName := map[string]report.Figure{}
	for _, f := range figs {
		byName[f.Name] = f
	}
	for _, name := range []string{report.FigAccuracy, report.FigRank} {
		f, ok := byName[name]
		if !ok {
			t.Fatalf("no %s figure", name)
		}
		k := 0
		for _, s := range f.Series {
			switch s.Role {
			case report.RoleTrial:
				its := res.Trials[k].Iterations
				k++
				for j, it := range its {
					want := it.Accuracy
					if name == report.FigRank {
						want = float64(it.Rank)
					}
					if s.X[j] != float64(j+1) || s.Y[j] != want {
						t.Errorf("%s trial %d iteration %d: (%g, %g), want (%d, %g)", name, k, j+1, s.X[j], s.Y[j], j+1, want)
					}
				}
			case report.RoleMean, report.RoleBand:
				for j, st := range res.PerIteration {
					m, sd := st.AccuracyMean, st.AccuracyStd
					if name == report.FigRank {
						m, sd = st.RankMean, st.RankStd
					}
					if s.Role == report.RoleMean && !experimentNear(s.Y[j], m) ||
						s.Role == report.RoleBand && (!experimentNear(s.Lo[j], m-sd) || !experimentNear(s.Hi[j], m+sd)) {
						t.Errorf("%s %s at iteration %d, want %g ± %g", name, s.Role, j+1, m, sd)
					}
				}
			}
		}
		if k != 3 {
			t.Errorf("%s: %d trial lines, want 3", name, k)
		}
	}
	f := byName[report.FigBestSoFar]
	base := 0
	for _, s := range f.Series {
		switch s.Role {
		case report.RoleMean:
			for j, st := range res.PerIteration {
				if !experimentNear(s.Y[j], st.BestSoFarMean) {
					t.Errorf("best so far at %d: %g, want %g", j+1, s.Y[j], st.BestSoFarMean)
				}
			}
		case report.RoleBaseline:
			base++
			if len(s.Y) != 10 {
				t.Fatalf("baseline of %d points, want 10", len(s.Y))
			}
			for j := range 10 {
				want, _ := tab.RandomBaseline(j + 1)
				if s.X[j] != float64(j+1) || !experimentNear(s.Y[j], want) {
					t.Errorf("baseline at t=%d: %g, want %g", j+1, s.Y[j], want)
				}
			}
			if math.Abs(s.Y[9]-92.43) > 0.005 || !experimentNear(s.Y[9], res.RandomBaseline.Accuracy) {
				t.Errorf("baseline at 10 samples %g, want 92.43 as the experiment recorded (%g)", s.Y[9], res.RandomBaseline.Accuracy)
			}
		}
	}
	if base != 1 {
		t.Errorf("%d baseline curves, want 1", base)
	}
}

// TestCLIReportRetrain retrains a small network for 3 epochs (one chunk
// each) on the dev server, then reports it: the loss and EMA top-1 plots
// must be the retraining's own epochs.
func TestCLIReportRetrain(t *testing.T) {
	c := dial(t)
	q := queue(t)
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, q, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	w.RegisterActivity(&trainact.RetrainActivities{Store: st})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch = make([]int, 30) // slot 0 of each stage only: a small network
	s.Epochs, s.ChunkEpochs = 3, 1
	s.Data.TrainSamples, s.Data.ValSamples = 160, 16
	s.TaskQueue = q
	id := "report-retrain-" + q
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetrainResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 3 {
		t.Fatalf("retraining reported %d epochs, want 3", len(res.Epochs))
	}

	out := filepath.Join(t.TempDir(), "report")
	runExperimentCLI(t, "report", "--address", server(t).Address(), "--workflow-id", id, "--out", out)
	for _, f := range []string{"retrain-loss.png", "retrain-loss.svg", "retrain-ema-top1.png", "retrain-ema-top1.svg", "report.md", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var loss, top1 []report.Series
	for _, f := range readFigures(t, out) {
		for _, s := range f.Series {
			switch {
			case f.Name == report.FigRetrainLoss && s.Label == "training loss":
				loss = append(loss, s)
			case f.Name == report.FigRetrainTop1 && s.Label == "EMA top-1":
				top1 = append(top1, s)
			}
		}
	}
	if len(loss) != 1 || len(top1) != 1 || len(loss[0].Y) != 3 || len(top1[0].Y) != 3 {
		t.Fatalf("loss %+v, EMA top-1 %+v; want one 3-epoch series each", loss, top1)
	}
	for i, e := range res.Epochs {
		if loss[0].X[i] != float64(e.Epoch) || loss[0].Y[i] != e.TrainLoss || !experimentNear(top1[0].Y[i], 100*e.EMATop1) {
			t.Errorf("epoch %d: loss %g, EMA top-1 %g; want %g and %g", e.Epoch, loss[0].Y[i], top1[0].Y[i], e.TrainLoss, 100*e.EMATop1)
		}
	}
}
