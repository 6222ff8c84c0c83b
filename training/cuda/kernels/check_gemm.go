package kernels

import "fmt"

// gemm checks the device's matrix product, when it has one, against the
// CPU engine's in the shapes a convolution uses (forward, weight gradient,
// input gradient), with float32 and bf16 inputs.
func (k *checker) gemm() error {
	g, ok := k.d.(Gemmer)
	if !ok {
		return nil
	}
	for _, in := range dtypes {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}} {
			m, n, kk := k.dim(1, 96), k.dim(1, 300), k.dim(1, 200)
			a, b := k.random(in, m*kk, 1), k.random(in, kk*n, 1)
			c0 := k.random(F32, m*n, 1)
			lda, ldb := kk, n
			if tr[0] {
				lda = m
			}
			if tr[1] {
				ldb = kk
			}
			for _, acc := range []bool{false, true} {
				want := append([]float32(nil), c0...)
				k.cpu.Gemm(tr[0], tr[1], m, n, kk, a, lda, b, ldb, want, n, acc)
				pa, err := k.up(in, a)
				if err != nil {
					return err
				}
				pb, err := k.up(in, b)
				if err != nil {
					return err
				}
				pc, err := k.up(F32, c0)
				if err != nil {
					return err
				}
				if err := g.Gemm(tr[0], tr[1], m, n, kk, pa, lda, pb, ldb, pc, n, acc, in, F32); err != nil {
					return err
				}
				got, err := k.down(F32, pc, m*n)
				if err != nil {
					return err
				}
				// Both sides see the same inputs and accumulate in float32
				// (cuBLAS's default math mode uses no TF32), so float32
				// tolerance applies whatever the input type.
				k.compare(fmt.Sprintf("gemm %s in, transA=%v transB=%v acc=%v", in, tr[0], tr[1], acc), F32,
					fmt.Sprintf("%dx%dx%d", m, n, kk), got, want)
			}
		}
	}
	return nil
}
