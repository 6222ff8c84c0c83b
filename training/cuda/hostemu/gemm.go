//go:build cgo

package hostemu

import (
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/tensor"
)

// Gemm implements kernels.Gemmer with the CPU engine's matrix product: A
// and B are read as in and widened to float32 (exact for bf16), C is read
// and written as out, and the product accumulates in float32, as cuBLAS
// does with CUBLAS_COMPUTE_32F.
func (d *Device) Gemm(transA, transB bool, m, n, k int, a kernels.Ptr, lda int, b kernels.Ptr, ldb int,
	c kernels.Ptr, ldc int, accumulate bool, in, out kernels.DType) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("hostemu: gemm of %dx%dx%d", m, n, k)
	}
	if m == 0 || n == 0 {
		return nil
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	av, err := d.matrix("A", a, ar, ac, lda, in)
	if err != nil {
		return err
	}
	bv, err := d.matrix("B", b, br, bc, ldb, in)
	if err != nil {
		return err
	}
	cv, err := d.matrix("C", c, m, n, ldc, out)
	if err != nil {
		return err
	}
	if k == 0 && !accumulate {
		clear(cv)
	} else if k > 0 {
		d.cpu().Gemm(transA, transB, m, n, k, av, lda, bv, ldb, cv, ldc, accumulate)
	}
	return d.Write(c, kernels.Encode(out, cv))
}

// matrix reads the rows x cols matrix at p with row stride ld, stored as
// dt, as float32 values (the whole span from the first to the last
// element).
func (d *Device) matrix(name string, p kernels.Ptr, rows, cols, ld int, dt kernels.DType) ([]float32, error) {
	if ld < max(cols, 1) {
		return nil, fmt.Errorf("hostemu: gemm %s is %dx%d with a row stride of %d", name, rows, cols, ld)
	}
	if rows == 0 || cols == 0 {
		return nil, nil
	}
	n := (rows-1)*ld + cols
	raw := make([]byte, n*dt.Size())
	if err := d.Read(raw, p); err != nil {
		return nil, fmt.Errorf("hostemu: gemm %s (%dx%d, stride %d, %s): %w", name, rows, cols, ld, dt, err)
	}
	return kernels.Decode(dt, raw), nil
}

// cpu is the serial CPU engine the products run on (one worker: tests run
// side by side and the emulator is one launch at a time anyway).
func (d *Device) cpu() *tensor.CPU {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gemm == nil {
		d.gemm = tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	}
	return d.gemm
}

var _ kernels.Gemmer = (*Device)(nil)
