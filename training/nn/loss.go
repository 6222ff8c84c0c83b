package nn

import (
	"fmt"
	"math"

	"github.com/genius-nas/genius/training/tensor"
)

// SoftmaxCrossEntropy is the mean cross-entropy of logits (K classes x N,
// 1x1) against labels with label smoothing eps (targets (1-eps) on the label
// plus eps/K everywhere). It writes the gradient with respect to the logits
// into grad (reshaped to match) when grad is not nil.
func SoftmaxCrossEntropy(logits *tensor.Tensor, labels []int, eps float64, grad *tensor.Tensor) (float64, error) {
	k, n := logits.C, logits.N
	if logits.H != 1 || logits.W != 1 || len(labels) != n {
		return 0, fmt.Errorf("loss: logits %s do not match %d labels", logits, len(labels))
	}
	var total float64
	p := make([]float64, k)
	for i := 0; i < n; i++ {
		y := labels[i]
		if y < 0 || y >= k {
			return 0, fmt.Errorf("loss: label %d outside 0..%d", y, k-1)
		}
		mx := math.Inf(-1)
		for c := 0; c < k; c++ {
			mx = math.Max(mx, float64(logits.Data[c*n+i]))
		}
		var z float64
		for c := 0; c < k; c++ {
			p[c] = math.Exp(float64(logits.Data[c*n+i]) - mx)
			z += p[c]
		}
		logZ := math.Log(z) + mx
		for c := 0; c < k; c++ {
			t := eps / float64(k)
			if c == y {
				t += 1 - eps
			}
			total -= t * (float64(logits.Data[c*n+i]) - logZ)
			if grad != nil {
				grad.Data[c*n+i] = float32((p[c]/z - t) / float64(n))
			}
		}
	}
	return total / float64(n), nil
}

// TopK counts the samples whose label is among the k highest logits
// (k = 1 and 5 give top-1 and top-5 hits).
func TopK(logits *tensor.Tensor, labels []int, k int) int {
	kk, n := logits.C, logits.N
	hits := 0
	for i := 0; i < n; i++ {
		v := logits.Data[labels[i]*n+i]
		above := 0
		for c := 0; c < kk; c++ {
			w := logits.Data[c*n+i]
			if w > v || (w == v && c < labels[i]) {
				above++
			}
		}
		if above < k {
			hits++
		}
	}
	return hits
}
