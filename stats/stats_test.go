package stats

import (
	"math"
	"testing"
)

func TestMeanStd(t *testing.T) {
	for _, c := range []struct {
		v         []float64
		mean, std float64
	}{
		{nil, 0, 0},
		{[]float64{3}, 3, 0},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 2},
		{[]float64{93.76, 94.37}, 94.065, 0.305},
	} {
		mean, std := MeanStd(c.v)
		if math.Abs(mean-c.mean) > 1e-9 || math.Abs(std-c.std) > 1e-9 {
			t.Errorf("MeanStd(%v) = %v, %v, want %v, %v", c.v, mean, std, c.mean, c.std)
		}
	}
}
