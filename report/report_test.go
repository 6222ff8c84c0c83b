package report_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/bench/benchtest"
	"github.com/genius-nas/genius/browsertest"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/report"
	"github.com/genius-nas/genius/report/reporttest"
	"github.com/genius-nas/genius/stats"
	"github.com/genius-nas/genius/workflows"
)

const goldenDir = "../integration/testdata/golden"

// trail reads golden histories (the runs of one workflow).
func trail(t *testing.T, files ...string) *history.Trail {
	t.Helper()
	var runs []*historypb.History
	for _, f := range files {
		h, err := history.Load(filepath.Join(goldenDir, f))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, h)
	}
	tr, err := history.Build(runs...)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// experimentResult decodes the experiment's own result from the trail,
// independently of the report package.
func experimentResult(t *testing.T, tr *history.Trail) workflows.ExperimentResult {
	t.Helper()
	var res workflows.ExperimentResult
	if err := json.Unmarshal(tr.Result, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func figure(t *testing.T, figs []report.Figure, name string) report.Figure {
	t.Helper()
	for _, f := range figs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no figure %q among %d", name, len(figs))
	return report.Figure{}
}

// figureNames lists the figures' names, comma-separated, in order.
func figureNames(figs []report.Figure) string {
	var names []string
	for _, f := range figs {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

func series(f report.Figure, role, label string) []report.Series {
	var out []report.Series
	for _, s := range f.Series {
		if s.Role == role && (label == "" || s.Label == label) {
			out = append(out, s)
		}
	}
	return out
}

// TestExperimentFigures checks every plotted series of a recorded
// experiment (2 trials × 3 iterations, random proposer) against the
// experiment's own result and the benchmark table's exact baseline.
func TestExperimentFigures(t *testing.T) {
	tr := trail(t, "experiment-random.json")
	res := experimentResult(t, tr)
	r, err := report.FromTrail(tr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != report.KindExperiment || r.Benchmark != bench.NASBenchMacro || r.Iterations != 3 || len(r.Trials) != len(res.Trials) {
		t.Fatalf("report kind %q benchmark %q T %d trials %d; want experiment, nas-bench-macro, 3, %d", r.Kind, r.Benchmark, r.Iterations, len(r.Trials), len(res.Trials))
	}
	tab, err := bench.Open(benchtest.DataDir(t), bench.NASBenchMacro, "")
	if err != nil {
		t.Fatal(err)
	}
	r.AddBaseline(tab)
	figs := report.Figures(r)
	if got := figureNames(figs); got != "accuracy,rank,best-so-far" {
		t.Fatalf("figures %s, want accuracy,rank,best-so-far (no FLOPs plot outside the ImageNet space)", got)
	}

	for _, metric := range []string{"accuracy", "rank"} {
		f := figure(t, figs, metric)
		trials := series(f, report.RoleTrial, "")
		if len(trials) != len(res.Trials) {
			t.Fatalf("%s: %d trial lines, want %d", metric, len(trials), len(res.Trials))
		}
		for i, s := range trials {
			its := res.Trials[i].Iterations
			if len(s.X) != len(its) {
				t.Fatalf("%s trial %d: %d points, want %d", metric, i+1, len(s.X), len(its))
			}
			for j, it := range its {
				want := it.Accuracy
				if metric == "rank" {
					want = float64(it.Rank)
				}
				if s.X[j] != float64(it.Iteration) || s.Y[j] != want {
					t.Errorf("%s trial %d point %d = (%g, %g), want (%d, %g)", metric, i+1, j, s.X[j], s.Y[j], it.Iteration, want)
				}
			}
		}
		mean, band := series(f, report.RoleMean, ""), series(f, report.RoleBand, "")
		if len(mean) != 1 || len(band) != 1 {
			t.Fatalf("%s: %d mean lines and %d bands, want 1 and 1", metric, len(mean), len(band))
		}
		if len(mean[0].Y) != len(res.PerIteration) {
			t.Fatalf("%s mean: %d points, want %d", metric, len(mean[0].Y), len(res.PerIteration))
		}
		for j, st := range res.PerIteration {
			m, sd := st.AccuracyMean, st.AccuracyStd
			if metric == "rank" {
				m, sd = st.RankMean, st.RankStd
			}
			if mean[0].X[j] != float64(st.Iteration) || !near(mean[0].Y[j], m) || !near(band[0].Lo[j], m-sd) || !near(band[0].Hi[j], m+sd) {
				t.Errorf("%s iteration %d: mean %g band [%g, %g], want %g ± %g (the workflow's own statistics)",
					metric, st.Iteration, mean[0].Y[j], band[0].Lo[j], band[0].Hi[j], m, sd)
			}
		}
	}

	f := figure(t, figs, report.FigBestSoFar)
	for i, s := range series(f, report.RoleTrial, "") {
		best := math.Inf(-1)
		for j, it := range res.Trials[i].Iterations {
			best = math.Max(best, it.Accuracy)
			if s.Y[j] != best {
				t.Errorf("best so far, trial %d iteration %d: %g, want %g", i+1, j+1, s.Y[j], best)
			}
		}
	}
	mean := series(f, report.RoleMean, "")[0]
	for j, st := range res.PerIteration {
		if !near(mean.Y[j], st.BestSoFarMean) {
			t.Errorf("mean best so far at %d: %g, want the workflow's %g", st.Iteration, mean.Y[j], st.BestSoFarMean)
		}
	}
	base := series(f, report.RoleBaseline, "")
	if len(base) != 1 || len(base[0].X) != 3 {
		t.Fatalf("baseline series %+v, want one of t = 1..3", base)
	}
	for j := range 3 {
		acc, _ := tab.RandomBaseline(j + 1)
		if base[0].X[j] != float64(j+1) || base[0].Y[j] != acc {
			t.Errorf("baseline point %d = (%g, %g), want (%d, %g)", j, base[0].X[j], base[0].Y[j], j+1, acc)
		}
	}
	// The curve ends where the experiment's own record of the baseline is.
	if rb := res.RandomBaseline; rb == nil || !near(base[0].Y[2], rb.Accuracy) {
		t.Errorf("baseline curve ends at %g, the experiment recorded %+v", base[0].Y[2], rb)
	}
}

// TestBaselineCurveMacro checks the NAS-Bench-Macro curve at T = 10
// against the paper's figure, 92.43.
func TestBaselineCurveMacro(t *testing.T) {
	tab, err := bench.Open(benchtest.DataDir(t), bench.NASBenchMacro, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &report.Report{Iterations: 10}
	r.AddBaseline(tab)
	if len(r.Baseline) != 10 {
		t.Fatalf("%d baseline points, want 10", len(r.Baseline))
	}
	for i := 1; i < 10; i++ {
		if r.Baseline[i].Accuracy <= r.Baseline[i-1].Accuracy || r.Baseline[i].Rank >= r.Baseline[i-1].Rank {
			t.Errorf("baseline not improving with more samples at t=%d: %+v then %+v", i+1, r.Baseline[i-1], r.Baseline[i])
		}
	}
	if got := r.Baseline[9].Accuracy; math.Abs(got-92.43) > 0.005 {
		t.Errorf("expected best of 10 samples %g, want 92.43", got)
	}
}

// TestSearchReport reads a search that continued as new twice (three
// runs): one trial with all its iterations.
func TestSearchReport(t *testing.T) {
	tr := trail(t, "search-continue-as-new.run1.json", "search-continue-as-new.run2.json", "search-continue-as-new.run3.json")
	var res workflows.SearchResult
	if err := json.Unmarshal(tr.Result, &res); err != nil {
		t.Fatal(err)
	}
	r, err := report.FromTrail(tr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != report.KindSearch || len(r.Trials) != 1 || len(r.Trials[0].Iterations) != len(res.Iterations) || len(res.Iterations) == 0 {
		t.Fatalf("kind %q, %d trials; want one search of %d iterations", r.Kind, len(r.Trials), len(res.Iterations))
	}
	acc := figure(t, report.Figures(r), report.FigAccuracy)
	if n := len(series(acc, report.RoleMean, "")) + len(series(acc, report.RoleBand, "")); n != 0 {
		t.Errorf("a single search has %d mean/band series, want none (it is its own mean)", n)
	}
	for j, it := range res.Iterations {
		if s := series(acc, report.RoleTrial, "")[0]; s.Y[j] != it.Accuracy {
			t.Errorf("iteration %d accuracy %g, want %g", it.Iteration, s.Y[j], it.Accuracy)
		}
	}
}

// TestRetrainReport reads a finished retraining from its result and a
// running one from its finished chunks.
func TestRetrainReport(t *testing.T) {
	epochs := []activities.RetrainEpoch{
		{Epoch: 1, Step: 10, TrainLoss: 2.3, Loss: 2.2, Top1: 0.10, EMALoss: 2.25, EMATop1: 0.09, EMATop5: 0.4},
		{Epoch: 2, Step: 20, TrainLoss: 1.9, Loss: 1.8, Top1: 0.25, EMALoss: 1.95, EMATop1: 0.22, EMATop5: 0.6},
		{Epoch: 3, Step: 30, TrainLoss: 1.5, Loss: 1.6, Top1: 0.35, EMALoss: 1.7, EMATop1: 0.31, EMATop5: 0.7},
	}
	input := []byte(`{"space":"mobilenetv2-imagenet","arch":[1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0],"epochs":4,"batch":8,"lr":0.1}`)
	chunk := func(e ...activities.RetrainEpoch) json.RawMessage {
		b, _ := json.Marshal(activities.RetrainChunkResult{Epochs: e, Best: &activities.RetrainBest{Epoch: e[len(e)-1].Epoch, EMATop1: e[len(e)-1].EMATop1}})
		return b
	}
	running := &history.Trail{WorkflowType: workflows.RetrainName, WorkflowID: "rt-1", Status: "RUNNING", Input: input, Steps: []history.Step{
		{Kind: history.KindActivity, Name: activities.RetrainChunkName, Status: history.StatusCompleted, Result: chunk(epochs[0])},
		{Kind: history.KindActivity, Name: activities.RetrainChunkName, Status: history.StatusCompleted, Result: chunk(epochs[1:]...)},
		{Kind: history.KindActivity, Name: activities.RetrainChunkName, Status: history.StatusPending},
	}}
	resJSON, _ := json.Marshal(workflows.RetrainResult{Epochs: epochs, BestEpoch: 3, BestEMATop1: 0.31})
	done := &history.Trail{WorkflowType: workflows.RetrainName, WorkflowID: "rt-1", Status: "COMPLETED", Input: input, Result: resJSON}
	for _, tc := range []struct {
		name string
		tr   *history.Trail
		done bool
	}{{"running", running, false}, {"finished", done, true}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := report.FromTrail(tc.tr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != report.KindRetrain || r.Retrain == nil || r.Retrain.Done != tc.done || r.Retrain.TotalEpochs != 4 || len(r.Retrain.Epochs) != 3 {
				t.Fatalf("report %+v retrain %+v; want 3 of 4 epochs, done %v", r, r.Retrain, tc.done)
			}
			figs := report.Figures(r)
			loss := figure(t, figs, report.FigRetrainLoss)
			top1 := figure(t, figs, report.FigRetrainTop1)
			train := series(loss, report.RoleCurve, "training loss")[0]
			ema := series(top1, report.RoleCurve, "EMA top-1")[0]
			for i, e := range epochs {
				if train.X[i] != float64(e.Epoch) || train.Y[i] != e.TrainLoss || !near(ema.Y[i], 100*e.EMATop1) {
					t.Errorf("epoch %d: loss (%g, %g) EMA top-1 %g; want (%d, %g) and %g", e.Epoch, train.X[i], train.Y[i], ema.Y[i], e.Epoch, e.TrainLoss, 100*e.EMATop1)
				}
			}
		})
	}
}

// TestRunningSearchRefused says how to follow a search that has not ended.
func TestRunningSearchRefused(t *testing.T) {
	tr := &history.Trail{WorkflowType: workflows.SearchName, WorkflowID: "s-1", Status: "RUNNING", Input: []byte(`{"space":"nas-bench-macro"}`)}
	_, err := report.FromTrail(tr)
	if err == nil || !strings.Contains(err.Error(), "RUNNING") || !strings.Contains(err.Error(), "temporal workflow query --workflow-id s-1") {
		t.Errorf("error %v; want one saying the search runs and how to see its progress", err)
	}
}

func TestReadCompareErrors(t *testing.T) {
	for _, tc := range []struct{ csv, want string }{
		{"benchmark,setting,trial,T0\n", `no "metric" column`},
		{"benchmark,setting,trial,metric\n", "no iteration columns"},
		{"benchmark,setting,trial,metric,T0\nx,y,one,acc,1\n", `line 2: trial "one" is not a number`},
		{"benchmark,setting,trial,metric,T0\nx,y,1,acc,9O.1\n", `line 2: T0 value "9O.1"`},
	} {
		_, err := report.ReadCompare(strings.NewReader(tc.csv))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadCompare(%q): %v, want %q", tc.csv, err, tc.want)
		}
	}
}

// TestCompareOverlay reads the paper's CSV (third-party, outside the
// repository) and checks the overlay is the mean of the matching rows.
func TestCompareOverlay(t *testing.T) {
	f, err := os.Open(reporttest.PaperCSV(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := report.ReadCompare(f)
	if err != nil {
		t.Fatal(err)
	}
	macro := report.MatchCompare(rows, bench.NASBenchMacro, "", "temperature=0")
	if len(macro) != 6 {
		t.Fatalf("%d NAS-Bench-Macro temperature=0 rows, want 6 (3 trials × acc, rank)", len(macro))
	}
	if n := len(report.MatchCompare(rows, bench.NASBench201, "cifar100", "")); n != 3 {
		t.Errorf("%d NAS-Bench-201 CIFAR-100 rows, want 3", n)
	}
	if n := len(report.MatchCompare(rows, bench.ChannelBenchResNet, "", "")); n != 2 {
		t.Errorf("%d Channel-Bench-Macro ResNet rows, want 2", n)
	}
	// The paper's first trial at temperature 0 stopped after 6 iterations.
	first := macro[0]
	if first.Trial != 1 || first.Metric != report.MetricAccuracy || first.Values[0] != 85.70 || !math.IsNaN(first.Values[6]) {
		t.Errorf("first row %+v; want trial 1 accuracies from 85.70, none from iteration 7", first)
	}

	tr := trail(t, "experiment-random.json")
	r, err := report.FromTrail(tr)
	if err != nil {
		t.Fatal(err)
	}
	r.Paper = macro
	acc := figure(t, report.Figures(r), report.FigAccuracy)
	paper := series(acc, report.RolePaper, "paper, temperature=0")
	if len(paper) != 1 || len(paper[0].Y) != 10 {
		t.Fatalf("paper overlay %+v, want one line of 10 iterations", paper)
	}
	for i := range 10 {
		var vals []float64
		for _, row := range macro {
			if row.Metric == report.MetricAccuracy && !math.IsNaN(row.Values[i]) {
				vals = append(vals, row.Values[i])
			}
		}
		want, _ := stats.MeanStd(vals)
		if !near(paper[0].Y[i], want) {
			t.Errorf("paper mean at iteration %d: %g, want %g over %d trials", i+1, paper[0].Y[i], want, len(vals))
		}
	}
}

// TestWrite writes a report folder and checks each file: decodable plots,
// the numbers behind them, tables and a self-contained HTML page.
func TestWrite(t *testing.T) {
	tr := trail(t, "experiment-random.json")
	res := experimentResult(t, tr)
	r, err := report.FromTrail(tr)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	files, err := report.Write(dir, r, report.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 9 {
		t.Errorf("wrote %d files, want 3 plots × (PNG, SVG) + md, html, json: %v", len(files), files)
	}
	for _, name := range []string{"accuracy", "rank", "best-so-far"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s.png: %v", name, err)
		}
		if px := browsertest.Count(img); img.Bounds().Dx() != 840 || px.NonWhite < 5000 || px.Coloured < 200 {
			t.Errorf("%s.png: %v, %+v; want 840 wide with coloured lines", name, img.Bounds(), px)
		}
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("iteration")) {
			t.Errorf("%s.svg is not an SVG with its axis label", name)
		}
	}

	var data report.Data
	b, err := os.ReadFile(filepath.Join(dir, report.DataFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	acc := figure(t, data.Figures, report.FigAccuracy)
	if got := series(acc, report.RoleMean, ""); len(got) != 1 || !near(got[0].Y[0], res.PerIteration[0].AccuracyMean) {
		t.Errorf("report.json accuracy mean %+v, want %g first", got, res.PerIteration[0].AccuracyMean)
	}

	md, err := os.ReadFile(filepath.Join(dir, report.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.PerIteration {
		row := regexp.MustCompile(`(?m)^\| ` + itoa(st.Iteration) + ` \| 2 \| ` + regexp.QuoteMeta(pm(st.AccuracyMean, st.AccuracyStd, 2)) + ` \| ` + regexp.QuoteMeta(pm(st.RankMean, st.RankStd, 1)) + ` \|`)
		if !row.Match(md) {
			t.Errorf("report.md has no row for iteration %d with %s, rank %s:\n%s", st.Iteration, pm(st.AccuracyMean, st.AccuracyStd, 2), pm(st.RankMean, st.RankStd, 1), md)
		}
	}
	// Two trials stand side by side, as in the paper's tables.
	for k := range res.Trials[0].Iterations {
		row := "| " + itoa(k+1) + " |"
		for _, trl := range res.Trials {
			it := trl.Iterations[k]
			row += " " + archString(it.Arch) + " | " + strconv.FormatFloat(it.Accuracy, 'f', 2, 64) + " | " + itoa(it.Rank) + " |"
		}
		if !bytes.Contains(md, []byte(row+"\n")) {
			t.Errorf("report.md lacks the row %q", row)
		}
	}

	html, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	imgs := regexp.MustCompile(`<img src="([^"]{0,40})`).FindAllSubmatch(html, -1)
	if len(imgs) != 3 {
		t.Errorf("report.html has %d images, want 3", len(imgs))
	}
	for _, m := range imgs {
		if !bytes.HasPrefix(m[1], []byte("data:image/png;base64,")) {
			t.Errorf("report.html loads an image from %q: it must be inline", m[1])
		}
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).Match(html) {
		t.Error("report.html refers to the network")
	}
}

// TestHTMLInChromium loads report.html in Debian's headless Chromium with
// networking off and checks the screenshot shows the report: not blank,
// and with the plots' colours (text alone is grey).
func TestHTMLInChromium(t *testing.T) {
	r, err := report.FromTrail(trail(t, "experiment-random.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := report.Write(dir, r, report.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	img := browsertest.Screenshot(t, filepath.Join(dir, report.HTMLFile), 1280, 2000)
	px := browsertest.Count(img)
	t.Logf("screenshot %v: %+v", img.Bounds(), px)
	if px.NonWhite < 20000 || px.Distinct < 50 {
		t.Errorf("screenshot looks blank: %+v", px)
	}
	if px.Coloured < 2000 {
		t.Errorf("screenshot has %d coloured pixels: the inline plots did not show", px.Coloured)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func pm(mean, std float64, decimals int) string {
	return strconv.FormatFloat(mean, 'f', decimals, 64) + " ± " + strconv.FormatFloat(std, 'f', decimals, 64)
}

func archString(a []int) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// TestFLOPsFigure plots an ImageNet-space search's architectures by FLOPs
// and accuracy, with the spec's window as two vertical lines.
func TestFLOPsFigure(t *testing.T) {
	input := []byte(`{"space":"mobilenetv2-imagenet","iterations":3,"proposer":{"kind":"random"},"flops":{"min_m":300,"max_m":340}}`)
	res := workflows.SearchResult{Space: "mobilenetv2-imagenet", Proposer: "random", Stopped: workflows.StoppedBudget, Iterations: []workflows.IterationResult{
		{Iteration: 1, Arch: make([]int, 30), FLOPsM: 301.5, Accuracy: 41.2, Attempts: 1},
		{Iteration: 2, Arch: make([]int, 30), FLOPsM: 329.41, Accuracy: 44.0, Attempts: 2},
		{Iteration: 3, Arch: make([]int, 30), FLOPsM: 338.0, Accuracy: 43.1, Attempts: 1},
	}}
	res.Best = &workflows.Best{Iteration: 2, Arch: res.Iterations[1].Arch, Accuracy: 44.0}
	resJSON, _ := json.Marshal(res)
	r, err := report.FromTrail(&history.Trail{WorkflowType: workflows.SearchName, WorkflowID: "in-1", Status: "COMPLETED", Input: input, Result: resJSON})
	if err != nil {
		t.Fatal(err)
	}
	figs := report.Figures(r)
	if got := figureNames(figs); got != "accuracy,best-so-far,flops-accuracy" {
		t.Fatalf("figures %s; want accuracy, best-so-far and flops-accuracy (no ranks without a table)", got)
	}
	f := figure(t, figs, report.FigFLOPs)
	pts := series(f, report.RolePoints, "trial 1")
	if len(pts) != 1 || len(pts[0].X) != 3 {
		t.Fatalf("points %+v, want trial 1's 3 architectures", pts)
	}
	for i, it := range res.Iterations {
		if pts[0].X[i] != it.FLOPsM || pts[0].Y[i] != it.Accuracy {
			t.Errorf("point %d = (%g, %g), want (%g, %g)", i, pts[0].X[i], pts[0].Y[i], it.FLOPsM, it.Accuracy)
		}
	}
	win := series(f, report.RoleWindow, "")
	if len(win) != 2 || win[0].X[0] != 300 || win[1].X[0] != 340 {
		t.Errorf("window lines %+v, want at 300 and 340", win)
	}
	if _, err := report.Render(f); err != nil {
		t.Fatal(err)
	}
}

// TestRunningExperiment reports the trials an experiment has finished so
// far, from its child workflows in the history.
func TestRunningExperiment(t *testing.T) {
	full := trail(t, "experiment-random.json")
	res := experimentResult(t, full)
	running := *full
	running.Status, running.Result = "RUNNING", nil
	running.Steps = nil
	for _, s := range full.Steps {
		if s.Kind == history.KindChild && s.WorkflowID == res.Trials[1].WorkflowID {
			s.Status, s.Result = history.StatusPending, nil // trial 2 still runs
		}
		running.Steps = append(running.Steps, s)
	}
	r, err := report.FromTrail(&running)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Trials) != 1 || r.Trials[0].Trial != 1 || len(r.Trials[0].Iterations) != len(res.Trials[0].Iterations) {
		t.Fatalf("trials %+v; want trial 1 alone, finished", r.Trials)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "RUNNING: 2 of 2 trials started, 1 reported") {
		t.Errorf("notes %q; want one saying 1 of the 2 started trials is reported", r.Notes)
	}
	for j, it := range res.Trials[0].Iterations {
		if st := r.PerIteration[j]; st.N != 1 || st.AccuracyMean != it.Accuracy {
			t.Errorf("iteration %d: %+v, want trial 1's %g alone", j+1, st, it.Accuracy)
		}
	}
}
