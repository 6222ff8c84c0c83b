//go:build cuda

package accel

import (
	"errors"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// On a GPU machine (a cuda-tagged test binary starts nowhere else): the
// device opens under its name and dtype, its out-of-memory error is
// recognised, and a missing ordinal is an error, not another GPU.
func TestOpenCUDA(t *testing.T) {
	a, err := Open(Options{Backend: CUDA, DType: kernels.BF16})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Device == nil || !strings.HasPrefix(a.Name(), "cuda:0 ") || !strings.HasSuffix(a.Name(), " bf16") || a.Device.DType != kernels.BF16 {
		t.Fatalf("device %+v named %q", a.Device, a.Name())
	}
	_, err = a.Device.Kernels.Alloc(1 << 50)
	if err == nil || !OutOfMemory(err) {
		t.Errorf("allocating 1 PiB: %v, want an out-of-memory error", err)
	}
	if OutOfMemory(errors.New("cuda: out of GPU memory")) {
		t.Error("OutOfMemory matched text, not the error type")
	}
	if _, err := Open(Options{Backend: CUDA, GPU: 4096}); err == nil {
		t.Error("GPU 4096 opened")
	}
}
