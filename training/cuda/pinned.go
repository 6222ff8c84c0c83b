//go:build cuda

package cuda

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static CUresult pinned_alloc(void **p, size_t n) { return cuMemHostAlloc(p, n, 0); }
static CUresult pinned_free(void *p) { return cuMemFreeHost(p); }

static const char *result_name(CUresult r) {
	const char *s = 0;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == 0) {
		return "unknown CUDA error";
	}
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// gorgonia.org/cu v0.9.6 does not bind page-locked host allocation.

// pinnedAlloc returns n bytes of page-locked host memory, which the GPU
// copies from without staging it again and asynchronously.
func pinnedAlloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if r := C.pinned_alloc(&p, C.size_t(n)); r != C.CUDA_SUCCESS {
		return nil, fmt.Errorf("cuda: allocating %d bytes of page-locked host memory: %s", n, C.GoString(C.result_name(r)))
	}
	return p, nil
}

// pinnedFree releases memory from pinnedAlloc.
func pinnedFree(p unsafe.Pointer) error {
	if r := C.pinned_free(p); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuda: freeing page-locked host memory: %s", C.GoString(C.result_name(r)))
	}
	return nil
}
