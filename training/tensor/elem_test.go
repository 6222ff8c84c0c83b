package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The SIMD elementwise kernels agree with the portable ones (lengths with
// and without a tail).
func TestElementwiseSIMDMatchesPortable(t *testing.T) {
	simd := simdCPU(t, CPUOptions{})
	port := NewCPU(CPUOptions{PortableOnly: true})
	r := rand.New(rand.NewPCG(8, 9))
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-4*(1+math.Abs(b)) }
	for _, n := range []int{16, 37, 160, 5} {
		x := randSlice(r, n)
		for i := range x {
			x[i] *= 5 // reach every branch of the activations
		}
		g := randSlice(r, n)
		for act := ActNone; act <= ActHardSigmoid; act++ {
			y1, y2 := make([]float32, n), make([]float32, n)
			simd.AffineAct(act, x, y1, 1.3, -0.2)
			port.AffineAct(act, x, y2, 1.3, -0.2)
			d1, d2 := make([]float32, n), make([]float32, n)
			s1, h1 := simd.AffineActGrad(act, x, g, d1, 1.3, -0.2, 0.4)
			s2, h2 := port.AffineActGrad(act, x, g, d2, 1.3, -0.2, 0.4)
			for i := range y1 {
				if !close(float64(y1[i]), float64(y2[i])) || !close(float64(d1[i]), float64(d2[i])) {
					t.Fatalf("act %d n %d [%d]: y %v/%v d %v/%v (x %v)", act, n, i, y1[i], y2[i], d1[i], d2[i], x[i])
				}
			}
			if !close(s1, s2) || !close(h1, h2) {
				t.Fatalf("act %d n %d: sums %v %v / %v %v", act, n, s1, h1, s2, h2)
			}
		}
		a1, a2 := append([]float32(nil), g...), append([]float32(nil), g...)
		simd.Axpby(a1, x, 0.5, -2, 0.25)
		port.Axpby(a2, x, 0.5, -2, 0.25)
		s1, q1 := simd.SumShifted(x, 0.3)
		s2, q2 := port.SumShifted(x, 0.3)
		if !close(s1, s2) || !close(q1, q2) {
			t.Fatalf("n %d: shifted sums %v %v / %v %v", n, s1, q1, s2, q2)
		}
		for _, nest := range []bool{false, true} {
			w1, w2 := append([]float32(nil), x...), append([]float32(nil), x...)
			v1, v2 := append([]float32(nil), g...), append([]float32(nil), g...)
			simd.SGDMomentum(w1, g, v1, 0.1, 0.9, 1e-2, 0.5, nest)
			port.SGDMomentum(w2, g, v2, 0.1, 0.9, 1e-2, 0.5, nest)
			for i := range w1 {
				if !close(float64(w1[i]), float64(w2[i])) || !close(float64(v1[i]), float64(v2[i])) || !close(float64(a1[i]), float64(a2[i])) {
					t.Fatalf("n %d nesterov %v [%d]: w %v/%v v %v/%v axpby %v/%v", n, nest, i, w1[i], w2[i], v1[i], v2[i], a1[i], a2[i])
				}
			}
		}
	}
}
