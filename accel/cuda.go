//go:build cuda

package accel

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda"
)

// CUDABuilt reports whether this binary can open a GPU (the cuda build tag).
const CUDABuilt = true

func openCUDA(opts Options) (*Accelerator, error) {
	d, err := cuda.Open(opts.GPU)
	if errors.Is(err, cuda.ErrNoDevice) {
		return nil, fmt.Errorf("%w (%v)", ErrNoDevice, err)
	}
	if err != nil {
		return nil, err
	}
	info := d.Info()
	dev := &training.Device{Kernels: d, DType: opts.DType,
		Name: fmt.Sprintf("cuda:%d %s %s", info.Ordinal, info.Name, opts.DType)}
	return &Accelerator{Backend: CUDA, Device: dev, close: d.Close}, nil
}
