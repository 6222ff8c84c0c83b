package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/genius-nas/genius/workflows"
)

// section is one part of the document, written the same way to Markdown
// and HTML.
type section struct {
	Title   string
	Text    []string
	Tables  []table
	Figures []Rendered
}

type table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// HasHead says whether any column has a heading.
func (t table) HasHead() bool {
	for _, h := range t.Head {
		if h != "" {
			return true
		}
	}
	return false
}

// title names the report.
func (r *Report) title() string {
	name := r.Name
	if name == "" {
		name = r.WorkflowID
	}
	return "GENIUS report: " + name
}

// sections lays out the document.
func (r *Report) sections(figs []Rendered, compareFile string) []section {
	var out []section
	out = append(out, section{Title: "Summary", Tables: []table{r.summaryTable()}})
	if len(figs) > 0 {
		out = append(out, section{Title: "Plots", Figures: figs})
	}
	if len(r.PerIteration) > 0 {
		out = append(out, section{Title: "Mean ± std per iteration", Text: []string{
			fmt.Sprintf("Population standard deviation over the trials that measured each iteration. Best so far is the %s; the random baseline is the exact expected best of t uniform samples from the whole table.", r.bestSoFarWords()),
		}, Tables: []table{r.perIterationTable()}})
		out = append(out, section{Title: "Best per trial", Text: r.bestSummary(), Tables: []table{r.bestTable()}})
		var trials []table
		if len(r.Trials) > 1 && len(r.Trials) <= sideBySide && r.FLOPs == nil {
			trials = append(trials, r.sideBySideTable())
		} else {
			for _, t := range r.Trials {
				trials = append(trials, r.trialTable(t))
			}
		}
		out = append(out, section{Title: "Per trial and iteration", Tables: trials})
	}
	if len(r.Paper) > 0 {
		src := "the --compare file"
		if compareFile != "" {
			src = compareFile
		}
		out = append(out, section{Title: "Paper's per-iteration results", Text: []string{
			"From " + src + "; the plots overlay the mean of each setting's trials. A dash is an iteration the paper has no value for.",
		}, Tables: []table{paperTable(r.Paper)}})
	}
	if rt := r.Retrain; rt != nil {
		out = append(out, section{Title: "Retraining", Text: retrainSummary(rt), Tables: []table{retrainTable(rt)}})
	}
	if r.Principles != "" {
		out = append(out, section{Title: "Design principles the model stated", Text: strings.Split(strings.TrimSpace(r.Principles), "\n")})
	}
	notes := r.Notes
	if r.Retrain == nil && r.RetrainWorkflowID != "" {
		notes = append(notes, fmt.Sprintf("The search started retraining %s; report it with genius report --workflow-id %s.", r.RetrainWorkflowID, r.RetrainWorkflowID))
	}
	if len(notes) > 0 {
		out = append(out, section{Title: "Notes", Text: notes})
	}
	return out
}

func (r *Report) bestSoFarWords() string {
	if r.hasTest() {
		return "test accuracy of the architecture with the best validation accuracy so far"
	}
	return "best accuracy so far"
}

func (r *Report) summaryTable() table {
	t := table{Head: []string{"", ""}}
	add := func(k, v string) {
		if v != "" {
			t.Rows = append(t.Rows, []string{k, v})
		}
	}
	add("workflow", r.WorkflowType+" "+r.WorkflowID)
	add("status", r.Status)
	add("space", r.Space)
	bm := r.Benchmark
	if bm != "" && r.Dataset != "" {
		bm += " / " + r.Dataset
	}
	add("benchmark", bm)
	add("proposer", r.Proposer)
	add("model", r.Model)
	if len(r.Trials) > 0 {
		add("trials", strconv.Itoa(len(r.Trials)))
		add("iterations per trial (T)", strconv.Itoa(r.Iterations))
	}
	if w := r.FLOPs; w != nil {
		add("FLOPs window", fmt.Sprintf("%g–%g M", w.MinM, w.MaxM))
	}
	add("stopped", r.Stopped)
	if r.PromptTokens+r.CompletionTokens > 0 {
		add("LLM tokens", fmt.Sprintf("%d prompt, %d completion", r.PromptTokens, r.CompletionTokens))
	}
	if r.CostUSD > 0 {
		add("LLM cost", fmt.Sprintf("$%.4f", r.CostUSD))
	}
	if rt := r.Retrain; rt != nil {
		add("retraining", fmt.Sprintf("%s: %d of %d epochs", rt.WorkflowID, len(rt.Epochs), rt.TotalEpochs))
	}
	return t
}

// accuracyHead is a table's head up to its rank column: lead, then the
// accuracy (validation and test where the report has test accuracies),
// then rank where it has ranks.
func (r *Report) accuracyHead(lead ...string) []string {
	head := append(lead, "accuracy")
	if r.hasTest() {
		head[len(head)-1] = "validation accuracy"
		head = append(head, "test accuracy")
	}
	if r.hasRanks() {
		head = append(head, "rank")
	}
	return head
}

func (r *Report) perIterationTable() table {
	withRank, withTest := r.hasRanks(), r.hasTest()
	head := append(r.accuracyHead("iteration", "trials"), "best so far")
	if len(r.Baseline) > 0 {
		head = append(head, "random baseline (best of t)")
	}
	settings := paperSettings(r.Paper)
	for _, s := range settings {
		head = append(head, "paper, "+s+" (mean accuracy)")
	}
	base := map[int]BaselinePoint{}
	for _, b := range r.Baseline {
		base[b.Samples] = b
	}
	paper := make([][]float64, len(settings))
	for i, s := range settings {
		paper[i] = paperMean(r.Paper, s, MetricAccuracy, false)
	}
	t := table{Head: head}
	for _, s := range r.PerIteration {
		row := []string{strconv.Itoa(s.Iteration), strconv.Itoa(s.N), pm(s.AccuracyMean, s.AccuracyStd, 2)}
		if withTest {
			row = append(row, pm(s.TestAccuracyMean, s.TestAccuracyStd, 2))
		}
		if withRank {
			row = append(row, pm(s.RankMean, s.RankStd, 1))
		}
		row = append(row, pm(s.BestSoFarMean, s.BestSoFarStd, 2))
		if len(r.Baseline) > 0 {
			if b, ok := base[s.Iteration]; ok {
				row = append(row, fmt.Sprintf("%.2f (rank %.1f)", b.Accuracy, b.Rank))
			} else {
				row = append(row, "")
			}
		}
		for _, p := range paper {
			row = append(row, value(p, s.Iteration-1, 2))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func (r *Report) bestTable() table {
	withTest := r.hasTest()
	head := []string{"trial", "seed", "iteration", "architecture", "accuracy"}
	if withTest {
		head[4] = "validation accuracy"
		head = append(head, "test accuracy")
	}
	head = append(head, "rank", "stopped", "workflow")
	t := table{Head: head}
	for _, tr := range r.Trials {
		row := []string{strconv.Itoa(tr.Trial), strconv.FormatInt(tr.Seed, 10)}
		switch {
		case tr.Error != "":
			row = append(row, "", "failed: "+tr.Error, "")
		case tr.Best == nil:
			row = append(row, "", "none", "")
		default:
			b := tr.Best
			row = append(row, strconv.Itoa(b.Iteration), archList(b.Arch), fmt.Sprintf("%.2f", b.Accuracy))
		}
		if withTest {
			if tr.Best != nil {
				row = append(row, fmt.Sprintf("%.2f", tr.Best.TestAccuracy))
			} else {
				row = append(row, "")
			}
		}
		rank := ""
		if tr.Best != nil && tr.Best.Rank > 0 {
			rank = strconv.Itoa(tr.Best.Rank)
		}
		row = append(row, rank, tr.Stopped, tr.WorkflowID)
		t.Rows = append(t.Rows, row)
	}
	return t
}

// bestSummary is mean ± std of the bests against the baseline.
func (r *Report) bestSummary() []string {
	b := r.Best
	if b == nil {
		return []string{"No trial measured an architecture."}
	}
	line := fmt.Sprintf("Best per trial, mean ± std over %d trials: accuracy %s", b.N, pm(b.AccuracyMean, b.AccuracyStd, 2))
	if b.TestAccuracyMean != 0 {
		line += ", test accuracy " + pm(b.TestAccuracyMean, b.TestAccuracyStd, 2)
	}
	if r.hasRanks() {
		line += ", rank " + pm(b.RankMean, b.RankStd, 1)
	}
	out := []string{line + "."}
	reported := b.AccuracyMean
	if b.TestAccuracyMean != 0 {
		reported = b.TestAccuracyMean
	}
	if bp, ok := r.baselineAt(r.Iterations); ok {
		out = append(out, fmt.Sprintf("Random search (exact expected best of %d uniform samples): accuracy %.2f, rank %.1f; the trials' mean best is %+.2f from it.",
			bp.Samples, bp.Accuracy, bp.Rank, reported-bp.Accuracy))
	}
	if rb := r.RecordedBaseline; rb != nil {
		out = append(out, fmt.Sprintf("The experiment recorded the table's optimum %.2f (of %d architectures).", rb.Optimum, rb.Of))
	}
	return out
}

// baselineAt is the baseline for t samples, from the curve or the
// experiment's record.
func (r *Report) baselineAt(t int) (BaselinePoint, bool) {
	for _, b := range r.Baseline {
		if b.Samples == t {
			return b, true
		}
	}
	if rb := r.RecordedBaseline; rb != nil && rb.Samples == t {
		return BaselinePoint{Samples: rb.Samples, Accuracy: rb.Accuracy, Rank: rb.Rank}, true
	}
	return BaselinePoint{}, false
}

func (r *Report) trialTable(tr Trial) table {
	withRank, withTest, withFLOPs := r.hasRanks(), r.hasTest(), r.FLOPs != nil
	head := r.accuracyHead("iteration", "architecture")
	if withFLOPs {
		head = append(head, "FLOPs (M)")
	}
	head = append(head, "attempts")
	caption := fmt.Sprintf("Trial %d (seed %d)", tr.Trial, tr.Seed)
	if tr.WorkflowID != "" {
		caption += ", " + tr.WorkflowID
	}
	if tr.Error != "" {
		caption += ": failed: " + tr.Error
	}
	t := table{Caption: caption, Head: head}
	for _, it := range tr.Iterations {
		row := []string{strconv.Itoa(it.Iteration), archList(it.Arch), fmt.Sprintf("%.2f", it.Accuracy)}
		if withTest {
			row = append(row, fmt.Sprintf("%.2f", it.TestAccuracy))
		}
		if withRank {
			row = append(row, strconv.Itoa(it.Rank))
		}
		if withFLOPs {
			row = append(row, fmt.Sprintf("%.2f", it.FLOPsM))
		}
		row = append(row, strconv.Itoa(it.Attempts))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// sideBySide is the most trials shown in one table, as the paper does.
const sideBySide = 3

// sideBySideTable puts the trials next to each other, one row per
// iteration, as the paper's per-trial tables do.
func (r *Report) sideBySideTable() table {
	withRank, withTest := r.hasRanks(), r.hasTest()
	head := []string{"iteration"}
	byIter := make([]map[int]workflows.IterationResult, len(r.Trials))
	last := 0
	for i, tr := range r.Trials {
		acc := fmt.Sprintf("trial %d accuracy", tr.Trial)
		if withTest {
			acc = fmt.Sprintf("trial %d validation / test accuracy", tr.Trial)
		}
		head = append(head, fmt.Sprintf("trial %d architecture", tr.Trial), acc)
		if withRank {
			head = append(head, fmt.Sprintf("trial %d rank", tr.Trial))
		}
		byIter[i] = map[int]workflows.IterationResult{}
		for _, it := range tr.Iterations {
			byIter[i][it.Iteration] = it
			last = max(last, it.Iteration)
		}
	}
	t := table{Caption: "Trials side by side (seeds and workflows under Best per trial)", Head: head}
	for k := 1; k <= last; k++ {
		row := []string{strconv.Itoa(k)}
		for i := range r.Trials {
			it, ok := byIter[i][k]
			switch {
			case !ok:
				row = append(row, "-", "-")
			case withTest:
				row = append(row, archList(it.Arch), fmt.Sprintf("%.2f / %.2f", it.Accuracy, it.TestAccuracy))
			default:
				row = append(row, archList(it.Arch), fmt.Sprintf("%.2f", it.Accuracy))
			}
			if withRank {
				if ok {
					row = append(row, strconv.Itoa(it.Rank))
				} else {
					row = append(row, "-")
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func paperTable(rows []PaperSeries) table {
	n := 0
	for _, r := range rows {
		n = max(n, len(r.Values))
	}
	head := []string{"setting", "trial", "metric"}
	for i := range n {
		head = append(head, "T"+strconv.Itoa(i+1))
	}
	t := table{Head: head}
	for _, r := range rows {
		row := []string{r.Setting, strconv.Itoa(r.Trial), r.Metric}
		dec := 2
		if r.Metric == MetricRank {
			dec = 0
		}
		for i := range n {
			row = append(row, value(r.Values, i, dec))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func retrainSummary(rt *Retrain) []string {
	state := "finished"
	if !rt.Done {
		state = "in progress"
	}
	out := []string{fmt.Sprintf("%s (%s): %d of %d epochs reported.", rt.WorkflowID, state, len(rt.Epochs), rt.TotalEpochs)}
	if len(rt.Arch) > 0 {
		out = append(out, fmt.Sprintf("Architecture (%s): %s.", rt.Space, archList(rt.Arch)))
	}
	if rt.BestEpoch > 0 {
		out = append(out, fmt.Sprintf("Best EMA top-1 %.2f%% (top-5 %.2f%%) at epoch %d.", 100*rt.BestEMATop1, 100*rt.BestEMATop5, rt.BestEpoch))
	}
	return out
}

func retrainTable(rt *Retrain) table {
	t := table{Head: []string{"epoch", "step", "training loss", "loss", "top-1 (%)", "EMA loss", "EMA top-1 (%)", "EMA top-5 (%)"}}
	for _, e := range rt.Epochs {
		t.Rows = append(t.Rows, []string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Step), fmt.Sprintf("%.4f", e.TrainLoss), fmt.Sprintf("%.4f", e.Loss),
			fmt.Sprintf("%.2f", 100*e.Top1), fmt.Sprintf("%.4f", e.EMALoss), fmt.Sprintf("%.2f", 100*e.EMATop1), fmt.Sprintf("%.2f", 100*e.EMATop5)})
	}
	return t
}

// pm formats mean ± std.
func pm(mean, std float64, decimals int) string {
	return strconv.FormatFloat(mean, 'f', decimals, 64) + " ± " + strconv.FormatFloat(std, 'f', decimals, 64)
}

func value(v []float64, i, decimals int) string {
	if i < 0 || i >= len(v) || math.IsNaN(v[i]) {
		return "-"
	}
	return strconv.FormatFloat(v[i], 'f', decimals, 64)
}

// archList writes an architecture as --arch takes it.
func archList(a []int) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// writeMarkdown writes report.md; plots are the PNG files beside it.
func writeMarkdown(w io.Writer, title string, secs []section) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", title)
	for _, s := range secs {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Title)
		for _, p := range s.Text {
			fmt.Fprintf(&b, "%s\n\n", mdEscape(p))
		}
		for _, f := range s.Figures {
			fmt.Fprintf(&b, "![%s](%s.png)\n\n[SVG](%s.svg)\n\n", mdEscape(f.Figure.Title), f.Figure.Name, f.Figure.Name)
		}
		for _, t := range s.Tables {
			if t.Caption != "" {
				fmt.Fprintf(&b, "**%s**\n\n", mdEscape(t.Caption))
			}
			b.WriteString("|")
			for _, h := range t.Head {
				fmt.Fprintf(&b, " %s |", mdCell(h))
			}
			b.WriteString("\n|")
			for range t.Head {
				b.WriteString("---|")
			}
			b.WriteString("\n")
			for _, row := range t.Rows {
				b.WriteString("|")
				for _, c := range row {
					fmt.Fprintf(&b, " %s |", mdCell(c))
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(mdEscape(s), "|", `\|`), "\n", " ")
}

// mdEscape keeps text from a history (names, errors, model output) from
// being read as Markdown markup.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

var htmlDoc = template.Must(template.New("report").Funcs(template.FuncMap{
	"png": func(b []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eef2f8; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Sections}}<section>
<h2>{{.Title}}</h2>
{{range .Text}}<p>{{.}}</p>
{{end}}{{range .Figures}}<figure id="{{.Figure.Name}}">
<img src="{{png .PNG}}" alt="{{.Figure.Title}}" width="840" height="540">
<figcaption>{{.Figure.Title}} ({{.Figure.Name}}.png, {{.Figure.Name}}.svg)</figcaption>
</figure>
{{end}}{{range .Tables}}<table>
{{if .Caption}}<caption>{{.Caption}}</caption>
{{end}}{{if .HasHead}}<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
{{end}}
<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}</section>
{{end}}</body>
</html>
`))

// writeHTML writes report.html with the plots inline as data: URIs, so the
// file needs nothing else to show.
func writeHTML(w io.Writer, title string, secs []section) error {
	return htmlDoc.Execute(w, struct {
		Title    string
		Sections []section
	}{title, secs})
}
