package report

import (
	"math"

	"github.com/genius-nas/genius/stats"
	"github.com/genius-nas/genius/workflows"
)

// Reported is the figure an iteration is judged by: the test accuracy
// where the table has one (NAS-Bench-201), else the accuracy.
func Reported(it workflows.IterationResult) float64 {
	if it.TestAccuracy != 0 {
		return it.TestAccuracy
	}
	return it.Accuracy
}

// BestSoFar returns, for iterations 1..T, the reported figure of the
// trial's best architecture so far (best by the accuracy the proposer saw,
// as the random baseline picks it); NaN before the first measurement.
func (t Trial) BestSoFar(T int) []float64 {
	out := make([]float64, T)
	best, val := math.NaN(), math.Inf(-1)
	j := 0
	for i := range T {
		for ; j < len(t.Iterations) && t.Iterations[j].Iteration <= i+1; j++ {
			if it := t.Iterations[j]; it.Accuracy > val {
				val, best = it.Accuracy, Reported(it)
			}
		}
		out[i] = best
	}
	return out
}

// Aggregate computes per-iteration mean ± std (population) over the trials
// that measured each iteration, and over the trials' bests. Best so far is
// of the reported figure (NAS-Bench-201: test accuracy of the best by
// validation), so it compares with the random baseline.
func Aggregate(trials []Trial, T int) ([]workflows.IterationStats, *workflows.SummaryStats) {
	for _, t := range trials {
		for _, it := range t.Iterations {
			T = max(T, it.Iteration)
		}
	}
	bsf := make([][]float64, len(trials))
	for i, t := range trials {
		bsf[i] = t.BestSoFar(T)
	}
	var per []workflows.IterationStats
	for it := 1; it <= T; it++ {
		var acc, rank, test, best []float64
		for ti, t := range trials {
			for _, r := range t.Iterations {
				if r.Iteration != it {
					continue
				}
				acc = append(acc, r.Accuracy)
				if r.Rank > 0 {
					rank = append(rank, float64(r.Rank))
				}
				if r.TestAccuracy != 0 {
					test = append(test, r.TestAccuracy)
				}
			}
			if b := bsf[ti][it-1]; !math.IsNaN(b) {
				best = append(best, b)
			}
		}
		if len(acc) == 0 {
			continue
		}
		s := workflows.IterationStats{Iteration: it, N: len(acc)}
		s.AccuracyMean, s.AccuracyStd = stats.MeanStd(acc)
		s.RankMean, s.RankStd = stats.MeanStd(rank)
		s.TestAccuracyMean, s.TestAccuracyStd = stats.MeanStd(test)
		s.BestSoFarMean, s.BestSoFarStd = stats.MeanStd(best)
		per = append(per, s)
	}
	var acc, rank, test []float64
	for _, t := range trials {
		if t.Best == nil {
			continue
		}
		acc = append(acc, t.Best.Accuracy)
		if t.Best.Rank > 0 {
			rank = append(rank, float64(t.Best.Rank))
		}
		if t.Best.TestAccuracy != 0 {
			test = append(test, t.Best.TestAccuracy)
		}
	}
	if len(acc) == 0 {
		return per, nil
	}
	sum := &workflows.SummaryStats{N: len(acc)}
	sum.AccuracyMean, sum.AccuracyStd = stats.MeanStd(acc)
	sum.RankMean, sum.RankStd = stats.MeanStd(rank)
	sum.TestAccuracyMean, sum.TestAccuracyStd = stats.MeanStd(test)
	return per, sum
}

// AddBaseline fills Baseline with the table's exact expected best of t
// uniform samples for t = 1..T.
func (r *Report) AddBaseline(tab BaselineTable) {
	T := r.Iterations
	for _, s := range r.PerIteration {
		T = max(T, s.Iteration)
	}
	r.Baseline = make([]BaselinePoint, 0, T)
	for t := 1; t <= T; t++ {
		acc, rank := tab.RandomBaseline(t)
		r.Baseline = append(r.Baseline, BaselinePoint{Samples: t, Accuracy: acc, Rank: rank})
	}
}

// hasRanks says whether any iteration has a table rank.
func (r *Report) hasRanks() bool {
	for _, t := range r.Trials {
		for _, it := range t.Iterations {
			if it.Rank > 0 {
				return true
			}
		}
	}
	return false
}

// hasTest says whether iterations carry a separate test accuracy.
func (r *Report) hasTest() bool {
	for _, t := range r.Trials {
		for _, it := range t.Iterations {
			if it.TestAccuracy != 0 {
				return true
			}
		}
	}
	return false
}
