package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/stats"
)

// Metrics of a PaperSeries.
const (
	MetricAccuracy = "accuracy"
	MetricRank     = "rank"
)

// PaperSeries is one row of a comparison CSV: one trial's per-iteration
// accuracies or ranks under one setting.
type PaperSeries struct {
	Benchmark string `json:"benchmark"`
	// Setting is the row's setting with any parenthesised note removed
	// ("temperature=0"); rows of one setting are averaged together.
	Setting string `json:"setting"`
	Trial   int    `json:"trial"`
	Metric  string `json:"metric"`
	// Values are by iteration (index 0 is iteration 1); NaN where the row
	// has no value ("-": the model stopped early).
	Values Values `json:"values"`
}

var iterColumn = regexp.MustCompile(`^[Tt](\d+)$`)

// ReadCompare reads per-iteration results in the layout of the paper's
// tables: a header naming columns benchmark, setting, trial, metric and
// one column per iteration, T0 (or T1) onwards; metric is acc, val_acc,
// test_acc or rank; "-" or an empty cell is a missing value. Other columns
// are ignored.
func ReadCompare(r io.Reader) ([]PaperSeries, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	col := map[string]int{}
	type iterCol struct{ index, iteration int }
	var iters []iterCol
	base := -1
	for i, h := range head {
		h = strings.TrimSpace(h)
		if m := iterColumn.FindStringSubmatch(h); m != nil {
			k, _ := strconv.Atoi(m[1])
			if base < 0 || k < base {
				base = k
			}
			iters = append(iters, iterCol{index: i, iteration: k})
			continue
		}
		col[strings.ToLower(h)] = i
	}
	for _, need := range []string{"benchmark", "setting", "trial", "metric"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header has no %q column: want benchmark,setting,trial,metric,T0,T1,... (got %s)", need, strings.Join(head, ","))
		}
	}
	if len(iters) == 0 {
		return nil, fmt.Errorf("header has no iteration columns T0, T1, ... (got %s)", strings.Join(head, ","))
	}
	// T0 is the first iteration in the paper's tables.
	if base > 1 {
		return nil, fmt.Errorf("iteration columns start at T%d: number them from T0 or T1", base)
	}
	n := 0
	for _, c := range iters {
		n = max(n, c.iteration-base+1)
	}
	var out []PaperSeries
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		cell := func(name string) string {
			if i := col[name]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		metric := ""
		switch strings.ToLower(cell("metric")) {
		case "acc", "accuracy", "val_acc", "test_acc":
			metric = MetricAccuracy
		case "rank":
			metric = MetricRank
		default:
			continue // a metric the plots do not show
		}
		trial, err := strconv.Atoi(cell("trial"))
		if err != nil {
			return nil, fmt.Errorf("line %d: trial %q is not a number", line, cell("trial"))
		}
		s := PaperSeries{Benchmark: cell("benchmark"), Setting: settingGroup(cell("setting")), Trial: trial, Metric: metric, Values: make([]float64, n)}
		for i := range s.Values {
			s.Values[i] = math.NaN()
		}
		for _, c := range iters {
			v := ""
			if c.index < len(rec) {
				v = strings.TrimSpace(rec[c.index])
			}
			if v == "" || v == "-" {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s value %q is not a number or -", line, head[c.index], v)
			}
			s.Values[c.iteration-base] = f
		}
		out = append(out, s)
	}
	return out, nil
}

// settingGroup drops a parenthesised note from a setting.
func settingGroup(s string) string {
	if i := strings.Index(s, "("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// squash keeps letters and digits of the text outside parentheses, lower
// case: "NAS-Bench-Macro (CIFAR-10; 6561 archs)" is "nasbenchmacro".
func squash(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth = max(0, depth-1)
		case depth == 0 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// benchmarkNames lists the squashed names a CSV may give a benchmark and
// dataset: ours, and the paper's.
func benchmarkNames(benchmark, dataset string) []string {
	switch benchmark {
	case bench.ChannelBenchResNet:
		return []string{"channelbenchresnet", "channelbenchmacroresnet"}
	case bench.ChannelBenchMobileNet:
		return []string{"channelbenchmobilenet", "channelbenchmacromobilenet"}
	case bench.NASBench201:
		if dataset == "" {
			dataset = "cifar10"
		}
		d := squash(dataset)
		return []string{"nasbench201" + d}
	}
	return []string{squash(benchmark)}
}

// MatchCompare keeps the rows for the report's benchmark (and dataset),
// and of those whose setting contains setting when it is not empty.
func MatchCompare(rows []PaperSeries, benchmark, dataset, setting string) []PaperSeries {
	names := benchmarkNames(benchmark, dataset)
	var out []PaperSeries
	for _, r := range rows {
		b := squash(r.Benchmark)
		ok := false
		for _, n := range names {
			ok = ok || b == n
		}
		if ok && (setting == "" || strings.Contains(r.Setting, setting)) {
			out = append(out, r)
		}
	}
	return out
}

// paperSettings lists the settings in first-seen order.
func paperSettings(rows []PaperSeries) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Setting] {
			seen[r.Setting] = true
			out = append(out, r.Setting)
		}
	}
	return out
}

// paperMean is the mean over the setting's rows of one metric per
// iteration, NaN where no row has a value; best-so-far first turns each
// row into its running maximum.
func paperMean(rows []PaperSeries, setting, metric string, bestSoFar bool) []float64 {
	var sel [][]float64
	n := 0
	for _, r := range rows {
		if r.Setting != setting || r.Metric != metric {
			continue
		}
		v := r.Values
		if bestSoFar {
			v = runningMax(v)
		}
		sel = append(sel, v)
		n = max(n, len(v))
	}
	out := make([]float64, n)
	for i := range out {
		var vals []float64
		for _, v := range sel {
			if i < len(v) && !math.IsNaN(v[i]) {
				vals = append(vals, v[i])
			}
		}
		out[i] = math.NaN()
		if len(vals) > 0 {
			out[i], _ = stats.MeanStd(vals)
		}
	}
	return out
}

// runningMax carries the best value so far over missing ones.
func runningMax(v []float64) []float64 {
	out := make([]float64, len(v))
	best := math.NaN()
	for i, x := range v {
		if !math.IsNaN(x) && (math.IsNaN(best) || x > best) {
			best = x
		}
		out[i] = best
	}
	return out
}
