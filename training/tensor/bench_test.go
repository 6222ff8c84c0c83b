package tensor

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, portable := range []bool{false, true} {
		be := NewCPU(CPUOptions{PortableOnly: portable})
		m, n, k := 256, 1024, 256
		x, y, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
		b.Run(be.Name(), func(b *testing.B) {
			for b.Loop() {
				be.Gemm(false, false, m, n, k, x, k, y, n, c, n, false)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
