package training

import (
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// BenchmarkEncodeBatch is the host's share of every device micro-batch:
// a batch of 32 images at 224 px to bf16, on one core and spread over
// GOMAXPROCS (report the ratio of the two).
func BenchmarkEncodeBatch(b *testing.B) {
	v := make([]float32, 3*224*224*32)
	g := rand.New(rand.NewPCG(1, 2))
	for i := range v {
		v[i] = float32(g.NormFloat64())
	}
	buf := make([]byte, 2*len(v))
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"serial", func() { kernels.EncodeTo(kernels.BF16, buf, v) }},
		{"parallel", func() { encode(kernels.BF16, buf, v) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(4 * len(v)))
			for range b.N {
				c.f()
			}
		})
	}
}
