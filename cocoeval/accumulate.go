package cocoeval

// accumulation holds the reference's eval['precision'] (T×R×K×A×M) and
// eval['recall'] (T×K×A×M), -1 where a category has no ground truth in
// an area range. Workers write disjoint categories.
type accumulation struct {
	K         int
	precision []float64
	recall    []float64
}

func newAccumulation(K int) *accumulation {
	acc := &accumulation{
		K:         K,
		precision: make([]float64, numIoU*numRecall*K*numArea*numMaxDet),
		recall:    make([]float64, numIoU*K*numArea*numMaxDet),
	}
	for i := range acc.precision {
		acc.precision[i] = -1
	}
	for i := range acc.recall {
		acc.recall[i] = -1
	}
	return acc
}

func (acc *accumulation) precisionAt(t, r, k, a, m int) int {
	return (((t*numRecall+r)*acc.K+k)*numArea+a)*numMaxDet + m
}

func (acc *accumulation) recallAt(t, k, a, m int) int {
	return ((t*acc.K+k)*numArea+a)*numMaxDet + m
}

func (acc *accumulation) setPrecision(t, r, k, a, m int, v float64) {
	acc.precision[acc.precisionAt(t, r, k, a, m)] = v
}

func (acc *accumulation) setRecall(t, k, a, m int, v float64) {
	acc.recall[acc.recallAt(t, k, a, m)] = v
}

// summarize is the reference's _summarize: the mean of the entries other
// than -1 at one area range and detection cut, over every threshold (or
// one, t ≥ 0), recall point and category; -1 if there are none. The
// entries are summed in numpy's order and way.
func (acc *accumulation) summarize(precision bool, t, a, m int) float64 {
	ts := []int{t}
	if t < 0 {
		ts = ts[:0]
		for i := range numIoU {
			ts = append(ts, i)
		}
	}
	var vals []float64
	for _, t := range ts {
		if precision {
			for r := range numRecall {
				for k := range acc.K {
					vals = appendValid(vals, acc.precision[acc.precisionAt(t, r, k, a, m)])
				}
			}
			continue
		}
		for k := range acc.K {
			vals = appendValid(vals, acc.recall[acc.recallAt(t, k, a, m)])
		}
	}
	return mean(vals)
}

// categoryAP is the mean of category k's precision over thresholds and
// recall points, all areas, 100 detections.
func (acc *accumulation) categoryAP(k int) float64 {
	var vals []float64
	for t := range numIoU {
		for r := range numRecall {
			vals = appendValid(vals, acc.precision[acc.precisionAt(t, r, k, 0, numMaxDet-1)])
		}
	}
	return mean(vals)
}

func (acc *accumulation) stats() Stats {
	all, small, medium, large := 0, 1, 2, 3
	top := numMaxDet - 1
	return Stats{
		AP:    acc.summarize(true, -1, all, top),
		AP50:  acc.summarize(true, thresholdIndex(0.5), all, top),
		AP75:  acc.summarize(true, thresholdIndex(0.75), all, top),
		APs:   acc.summarize(true, -1, small, top),
		APm:   acc.summarize(true, -1, medium, top),
		APl:   acc.summarize(true, -1, large, top),
		AR1:   acc.summarize(false, -1, all, 0),
		AR10:  acc.summarize(false, -1, all, 1),
		AR100: acc.summarize(false, -1, all, top),
		ARs:   acc.summarize(false, -1, small, top),
		ARm:   acc.summarize(false, -1, medium, top),
		ARl:   acc.summarize(false, -1, large, top),
	}
}

func appendValid(vals []float64, v float64) []float64 {
	if v > -1 {
		vals = append(vals, v)
	}
	return vals
}

// mean is numpy's mean of a 1-D array: pairwise summation, then division;
// -1 for no values, as the reference reports nothing to average.
func mean(vals []float64) float64 {
	if len(vals) == 0 {
		return -1
	}
	return pairwiseSum(vals) / float64(len(vals))
}

// pairwiseSum adds as numpy's pairwise_sum does, so means agree to the
// last bit rather than to rounding noise.
func pairwiseSum(a []float64) float64 {
	const block = 128
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= block:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		s := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}
