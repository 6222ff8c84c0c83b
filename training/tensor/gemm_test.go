package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naiveGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if acc {
				s += float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	backends := map[string]*CPU{
		"default":  NewCPU(CPUOptions{Workers: 2}),
		"portable": NewCPU(CPUOptions{Workers: 2, PortableOnly: true}),
		"serial":   NewCPU(CPUOptions{Workers: 1}),
	}
	shapes := [][3]int{{1, 1, 1}, {8, 32, 1}, {7, 33, 5}, {16, 64, 300}, {24, 200, 16}, {65, 9, 513}, {3, 300, 40}, {16, 24, 1100}, {9, 40, 600},
		// Above minParallelMACs: column groups, row split, k split, ragged edges.
		{64, 700, 100}, {100, 40, 600}, {16, 24, 8000}, {9, 33, 8000}}
	for name, be := range backends {
		for _, sh := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, acc := range []bool{false, true} {
						m, n, k := sh[0], sh[1], sh[2]
						a := randSlice(r, m*k)
						b := randSlice(r, k*n)
						lda, ldb := k, n
						if ta {
							lda = m
						}
						if tb {
							ldb = k
						}
						ldc := n + 3
						c0 := randSlice(r, m*ldc)
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						naiveGemm(ta, tb, m, n, k, a, lda, b, ldb, want, ldc, acc)
						be.Gemm(ta, tb, m, n, k, a, lda, b, ldb, got, ldc, acc)
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								w, g := want[i*ldc+j], got[i*ldc+j]
								if j >= n {
									w = c0[i*ldc+j] // padding columns untouched
								}
								if math.Abs(float64(w-g)) > 1e-3*math.Sqrt(float64(k)+1) {
									t.Fatalf("%s m=%d n=%d k=%d ta=%v tb=%v acc=%v: C[%d,%d]=%v want %v", name, m, n, k, ta, tb, acc, i, j, g, w)
								}
							}
						}
					}
				}
			}
		}
	}
}

func naiveDepthwise(a DepthwiseArgs, x, w []float32) []float32 {
	y := make([]float32, a.C*a.N*a.OH*a.OW)
	for c := 0; c < a.C; c++ {
		for n := 0; n < a.N; n++ {
			for i := 0; i < a.OH; i++ {
				for j := 0; j < a.OW; j++ {
					var s float32
					for kh := 0; kh < a.K; kh++ {
						for kw := 0; kw < a.K; kw++ {
							h, ww := i*a.Stride-a.Pad+kh, j*a.Stride-a.Pad+kw
							if h < 0 || h >= a.H || ww < 0 || ww >= a.W {
								continue
							}
							s += w[c*a.K*a.K+kh*a.K+kw] * x[((c*a.H+h)*a.W+ww)*a.N+n]
						}
					}
					y[((c*a.OH+i)*a.OW+j)*a.N+n] = s
				}
			}
		}
	}
	return y
}

func TestDepthwiseForwardMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	be := NewCPU(CPUOptions{Workers: 2})
	for _, tc := range []struct{ k, s, h, n int }{{3, 1, 5, 2}, {3, 2, 6, 32}, {5, 2, 7, 3}, {7, 1, 4, 16}, {3, 2, 1, 2}, {7, 2, 2, 48}} {
		p := tc.k / 2
		o := (tc.h+2*p-tc.k)/tc.s + 1
		a := DepthwiseArgs{C: 3, N: tc.n, H: tc.h, W: tc.h, K: tc.k, Stride: tc.s, Pad: p, OH: o, OW: o}
		x := randSlice(r, a.C*a.N*a.H*a.W)
		w := randSlice(r, a.C*a.K*a.K)
		want := naiveDepthwise(a, x, w)
		got := make([]float32, len(want))
		be.DepthwiseForward(a, x, w, got)
		for i := range want {
			if math.Abs(float64(want[i]-got[i])) > 1e-4 {
				t.Fatalf("%+v: y[%d]=%v want %v", tc, i, got[i], want[i])
			}
		}
	}
}

// The SIMD depthwise kernels must agree with the portable ones, forward and
// backward, for batch sizes that do and do not fill 16 lanes.
func TestDepthwiseSIMDMatchesPortable(t *testing.T) {
	simd := simdCPU(t, CPUOptions{Workers: 2})
	port := NewCPU(CPUOptions{Workers: 2, PortableOnly: true})
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ k, s, h, n int }{{3, 1, 5, 3}, {3, 2, 6, 16}, {5, 2, 7, 70}, {7, 1, 4, 64}, {7, 1, 2, 33}, {3, 2, 1, 5}, {5, 1, 1, 64}} {
		p := tc.k / 2
		o := (tc.h+2*p-tc.k)/tc.s + 1
		a := DepthwiseArgs{C: 3, N: tc.n, H: tc.h, W: tc.h, K: tc.k, Stride: tc.s, Pad: p, OH: o, OW: o}
		x := randSlice(r, a.C*a.N*a.H*a.W)
		w := randSlice(r, a.C*a.K*a.K)
		dy := randSlice(r, a.C*a.N*o*o)
		y1, y2 := make([]float32, len(dy)), make([]float32, len(dy))
		simd.DepthwiseForward(a, x, w, y1)
		port.DepthwiseForward(a, x, w, y2)
		dx1, dx2 := make([]float32, len(x)), make([]float32, len(x))
		dw1, dw2 := make([]float32, len(w)), make([]float32, len(w))
		simd.DepthwiseBackward(a, x, w, dy, dx1, dw1)
		port.DepthwiseBackward(a, x, w, dy, dx2, dw2)
		for name, pair := range map[string][2][]float32{"y": {y1, y2}, "dx": {dx1, dx2}, "dw": {dw1, dw2}} {
			for i := range pair[0] {
				if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-3*(1+math.Abs(float64(pair[1][i]))) {
					t.Fatalf("%+v %s[%d]: simd %v portable %v", tc, name, i, pair[0][i], pair[1][i])
				}
			}
		}
	}
}
