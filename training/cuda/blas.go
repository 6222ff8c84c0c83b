//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcublas
#include <cublas_v2.h>

// gemm_ex computes row-major C = op(A) x op(B) (+ C when beta is 1) as the
// column-major product C^T = op(B)^T x op(A)^T, with fp32 accumulation.
static cublasStatus_t gemm_ex(cublasHandle_t h, int transA, int transB, int m, int n, int k,
		const void *a, int lda, const void *b, int ldb, void *c, int ldc, float beta,
		cudaDataType in, cudaDataType out) {
	float alpha = 1.0f;
	return cublasGemmEx(h, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
		n, m, k, &alpha, b, in, ldb, a, in, lda, &beta, c, out, ldc,
		CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

type blasHandle struct{ h C.cublasHandle_t }

// newBlas starts cuBLAS with its work on stream s, after the kernels
// launched before it.
func newBlas(s cu.Stream) (blasHandle, error) {
	var b blasHandle
	if st := C.cublasCreate(&b.h); st != C.CUBLAS_STATUS_SUCCESS {
		return b, fmt.Errorf("cuda: starting cuBLAS: %s", blasStatus(st))
	}
	// The driver's CUstream and the runtime's cudaStream_t are one type,
	// seen through two cgo packages.
	cs := s.C()
	if st := C.cublasSetStream(b.h, *(*C.cudaStream_t)(unsafe.Pointer(&cs))); st != C.CUBLAS_STATUS_SUCCESS {
		b.destroy()
		return b, fmt.Errorf("cuda: cuBLAS stream: %s", blasStatus(st))
	}
	return b, nil
}

func (b blasHandle) destroy() {
	if b.h != nil {
		C.cublasDestroy(b.h)
	}
}

func blasStatus(st C.cublasStatus_t) string {
	switch st {
	case C.CUBLAS_STATUS_NOT_INITIALIZED:
		return "not initialised (is libcublas.so.13 on the library path?)"
	case C.CUBLAS_STATUS_ALLOC_FAILED:
		return "out of GPU memory"
	case C.CUBLAS_STATUS_INVALID_VALUE:
		return "invalid value"
	case C.CUBLAS_STATUS_ARCH_MISMATCH:
		return "not supported by this GPU"
	case C.CUBLAS_STATUS_EXECUTION_FAILED:
		return "execution failed"
	case C.CUBLAS_STATUS_NOT_SUPPORTED:
		return "not supported"
	}
	return fmt.Sprintf("status %d", int(st))
}

func dataType(t kernels.DType) C.cudaDataType {
	if t == kernels.BF16 {
		return C.CUDA_R_16BF
	}
	return C.CUDA_R_32F
}

// Gemm implements kernels.Gemmer: row-major C = op(A) x op(B) (+ C when
// accumulate) with A and B stored as in, C as out, and fp32 accumulation
// (bf16 inputs run on the tensor cores).
func (d *Device) Gemm(transA, transB bool, m, n, k int, a kernels.Ptr, lda int, b kernels.Ptr, ldb int,
	c kernels.Ptr, ldc int, accumulate bool, in, out kernels.DType) error {
	beta := C.float(0)
	if accumulate {
		beta = 1
	}
	return d.do(func() error {
		d.lastLaunch = "cublasGemmEx"
		st := C.gemm_ex(d.blas.h, cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k),
			ptr(a), C.int(lda), ptr(b), C.int(ldb), ptr(c), C.int(ldc), beta, dataType(in), dataType(out))
		if st != C.CUBLAS_STATUS_SUCCESS {
			return fmt.Errorf("cuda: cublasGemmEx %dx%dx%d (%s in, %s out): %s", m, n, k, in, out, blasStatus(st))
		}
		return nil
	})
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// ptr turns a device address into the void* cuBLAS takes; it is never
// dereferenced on the host.
func ptr(p kernels.Ptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
