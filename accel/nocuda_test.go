//go:build !cuda

package accel

import (
	"errors"
	"testing"
)

// Without the cuda tag the CUDA backend never opens, and nothing falls
// back to the CPU.
func TestOpenCUDAWithoutTag(t *testing.T) {
	a, err := Open(Options{Backend: CUDA})
	if !errors.Is(err, ErrNoCUDA) || a != nil {
		t.Fatalf("Open(cuda) = %v, %v; want ErrNoCUDA and no accelerator", a, err)
	}
	if CUDABuilt {
		t.Error("CUDABuilt in an untagged build")
	}
}
