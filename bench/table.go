package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
)

// DefaultSamples is the paper's random-baseline sample count.
const DefaultSamples = 10

// Result is one look-up.
type Result struct {
	Key string `json:"key"`
	// Accuracy is the figure fed back to the LLM (percent): mean_acc,
	// mean, or on NAS-Bench-201 the validation accuracy val_acc_200.
	Accuracy float64 `json:"accuracy"`
	// ValAccuracy and TestAccuracy are NAS-Bench-201's val_acc_200 and
	// test_acc_200; the test accuracy is the one reported.
	ValAccuracy  float64 `json:"val_accuracy,omitempty"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	// Rank is 1 + the number of keys strictly better by the reported
	// metric (Accuracy, or TestAccuracy on NAS-Bench-201).
	Rank int `json:"rank"`
	// Of is the number of keys in the table.
	Of int `json:"of"`
	// Percentile is 100 × keys strictly worse / (Of − 1).
	Percentile float64 `json:"percentile"`
}

// Stats summarises a table by its reported metric.
type Stats struct {
	Optimum    float64 `json:"optimum"`
	OptimumKey string  `json:"optimum_key"` // the smallest key reaching it
	// RandomBaseline is the expected reported metric of the best of
	// Samples uniform samples; RandomBaselineRank its expected rank.
	RandomBaseline     float64 `json:"random_baseline"`
	RandomBaselineRank float64 `json:"random_baseline_rank"`
	Samples            int     `json:"samples"`
	Of                 int     `json:"of"`
}

// Table is one loaded benchmark table. It is immutable and safe for
// concurrent use.
type Table struct {
	benchmark, dataset string
	keys               []string // sorted
	index              map[string]int32
	acc                []float64 // shown to the LLM
	test               []float64 // NB201 only
	rank               []int32
	worse              []int32 // keys strictly worse by the reported metric
	bySel              []int32 // indices sorted by the selection metric, ascending
	stats              Stats
}

// row holds the fields of every table format; absent ones stay nil.
type row struct {
	MeanAcc *float64 `json:"mean_acc"`
	Mean    *float64 `json:"mean"`
	Val     *float64 `json:"val_acc_200"`
	Test    *float64 `json:"test_acc_200"`
}

// Open loads a benchmark's table from dir after checking the file's size
// and sha256. dataset "" means cifar10; NAS-Bench-201 also has cifar100 and
// imagenet16-120.
func Open(dir, benchmark, dataset string) (*Table, error) {
	f, err := lookupFile(benchmark, dataset)
	if err != nil {
		return nil, err
	}
	return load(dir, f)
}

// load reads f from dir; Open and Catalog.Get have looked it up.
func load(dir string, f File) (*Table, error) {
	b, err := readChecked(dir, f)
	if err != nil {
		return nil, err
	}
	var rows map[string]row
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("decode %s table %s: %w", f.Benchmark, f.Path, err)
	}
	t := &Table{benchmark: f.Benchmark, dataset: f.Dataset}
	t.keys = make([]string, 0, len(rows))
	for k := range rows {
		t.keys = append(t.keys, k)
	}
	sort.Strings(t.keys)
	n := len(t.keys)
	t.index = make(map[string]int32, n)
	t.acc = make([]float64, n)
	nb201 := f.Benchmark == NASBench201
	if nb201 {
		t.test = make([]float64, n)
	}
	for i, k := range t.keys {
		t.index[k] = int32(i)
		r := rows[k]
		var v *float64
		switch f.Benchmark {
		case NASBenchMacro:
			v = r.MeanAcc
		case NASBench201:
			v = r.Val
			if r.Test == nil {
				return nil, fmt.Errorf("%s table %s: key %s has no test_acc_200", f.Benchmark, f.Path, k)
			}
			t.test[i] = *r.Test
		default:
			v = r.Mean
		}
		if v == nil {
			return nil, fmt.Errorf("%s table %s: key %s has no accuracy field", f.Benchmark, f.Path, k)
		}
		t.acc[i] = *v
	}
	t.rankAll()
	t.stats = t.computeStats()
	return t, nil
}

// reported is the metric ranks are stated in.
func (t *Table) reported() []float64 {
	if t.test != nil {
		return t.test
	}
	return t.acc
}

// rankAll precomputes competition ranks, strictly-worse counts and the
// order by selection metric.
func (t *Table) rankAll() {
	n := len(t.keys)
	rep := t.reported()
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmpFloat(rep[b], rep[a]) }) // descending
	t.rank = make([]int32, n)
	t.worse = make([]int32, n)
	for i := 0; i < n; {
		j := i
		for j < n && rep[order[j]] == rep[order[i]] {
			j++
		}
		for _, idx := range order[i:j] {
			t.rank[idx] = int32(i + 1)
			t.worse[idx] = int32(n - j)
		}
		i = j
	}
	// Selection (which sample is "best"): the LLM-visible accuracy.
	t.bySel = make([]int32, n)
	copy(t.bySel, order)
	slices.SortStableFunc(t.bySel, func(a, b int32) int { return cmpFloat(t.acc[a], t.acc[b]) }) // ascending
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (t *Table) computeStats() Stats {
	s := Stats{Samples: DefaultSamples, Of: len(t.keys)}
	rep := t.reported()
	best := -1
	for i := range t.keys { // keys are sorted: the first maximum is the smallest key
		if best < 0 || rep[i] > rep[best] {
			best = i
		}
	}
	if best >= 0 {
		s.Optimum, s.OptimumKey = rep[best], t.keys[best]
	}
	s.RandomBaseline, s.RandomBaselineRank = t.RandomBaseline(DefaultSamples)
	return s
}

// Benchmark is the table's benchmark name.
func (t *Table) Benchmark() string { return t.benchmark }

// Dataset is the table's dataset name.
func (t *Table) Dataset() string { return t.dataset }

// Len is the number of keys.
func (t *Table) Len() int { return len(t.keys) }

// Keys returns the keys in sorted order (a copy).
func (t *Table) Keys() []string { return slices.Clone(t.keys) }

// Stats returns the optimum and the paper's random baseline (best of 10).
func (t *Table) Stats() Stats { return t.stats }

// KeyFormat describes the keys of a benchmark, for error messages.
func KeyFormat(benchmark string) string {
	switch benchmark {
	case NASBenchMacro:
		return "8 digits 0-2, one operator per layer (0 identity, 1 IR k3 e3, 2 IR k5 e6), for example 10100100"
	case ChannelBenchResNet, ChannelBenchMobileNet:
		return "7 digits 1-4, each layer's width as a multiple of its base width, for example 4344424"
	case NASBench201:
		return "a cell string |op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op in none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"
	}
	return "unknown benchmark"
}

// Lookup returns the result of key. An unknown key's error states the
// expected key format.
func (t *Table) Lookup(key string) (Result, error) {
	i, ok := t.index[key]
	if !ok {
		return Result{}, fmt.Errorf("%s has no key %q: keys are %s", t.benchmark, key, KeyFormat(t.benchmark))
	}
	n := len(t.keys)
	r := Result{Key: key, Accuracy: t.acc[i], Rank: int(t.rank[i]), Of: n, Percentile: 100}
	if n > 1 {
		r.Percentile = 100 * float64(t.worse[i]) / float64(n-1)
	}
	if t.test != nil {
		r.ValAccuracy, r.TestAccuracy = t.acc[i], t.test[i]
	}
	return r, nil
}

// RandomBaseline is the exact expectation, over draws of samples keys
// uniformly with replacement, of the reported metric of the best draw and
// of its rank (samples < 1 counts as 1). The best draw is the one with the
// highest LLM-visible accuracy (validation on NAS-Bench-201); a group of
// keys tied in it is the best with probability ((hi/N)^k − (lo/N)^k), where
// lo and hi are the numbers of keys below and up to the group, and then
// each member is equally likely to be the one picked.
func (t *Table) RandomBaseline(samples int) (mean, expectedRank float64) {
	if samples < 1 {
		samples = 1
	}
	n := len(t.bySel)
	rep := t.reported()
	k := float64(samples)
	for i := 0; i < n; {
		j := i
		for j < n && t.acc[t.bySel[j]] == t.acc[t.bySel[i]] {
			j++
		}
		p := math.Pow(float64(j)/float64(n), k) - math.Pow(float64(i)/float64(n), k)
		var sumV, sumR float64
		for _, idx := range t.bySel[i:j] {
			sumV += rep[idx]
			sumR += float64(t.rank[idx])
		}
		g := float64(j - i)
		mean += p * sumV / g
		expectedRank += p * sumR / g
		i = j
	}
	return mean, expectedRank
}
