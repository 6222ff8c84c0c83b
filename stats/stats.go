// Package stats holds the summary statistics that the paper's tables state:
// a mean and its population standard deviation. It is pure, so workflow code
// may call it.
package stats

import "math"

// MeanStd returns the mean and population standard deviation of v (0, 0 for
// no values).
func MeanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var sum float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}
