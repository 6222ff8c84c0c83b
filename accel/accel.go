// Package accel opens what a training process trains on: the CPU, or an
// NVIDIA GPU through training/cuda when the binary is built with the cuda
// build tag. Commands and workers choose a Backend; only this package knows
// whether the binary can open a GPU.
package accel

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda/kernels"
)

// Backend names a training backend.
type Backend string

// The backends.
const (
	CPU  Backend = "cpu"
	CUDA Backend = "cuda"
)

// Backends lists the backends, in the order help texts give them.
var Backends = []Backend{CPU, CUDA}

// DType names, as flags and environment variables spell them.
const (
	BF16 = "bf16"
	F32  = "f32"
)

// ErrNoCUDA is returned by Open for the CUDA backend in a binary built
// without the cuda tag.
var ErrNoCUDA = errors.New("this genius binary was built without CUDA")

// ErrNoDevice is returned by Open when the NVIDIA driver finds no GPU.
var ErrNoDevice = errors.New("no NVIDIA GPU found")

// ParseBackend parses "cpu" or "cuda".
func ParseBackend(s string) (Backend, error) {
	for _, b := range Backends {
		if string(b) == s {
			return b, nil
		}
	}
	return "", fmt.Errorf("backend %q is not known: use cpu or cuda", s)
}

// ParseDType parses "bf16" or "f32", the storage type of activations on a
// device.
func ParseDType(s string) (kernels.DType, error) {
	switch s {
	case BF16:
		return kernels.BF16, nil
	case F32:
		return kernels.F32, nil
	}
	return 0, fmt.Errorf("dtype %q is not known: use bf16 or f32", s)
}

// Options say which backend to open.
type Options struct {
	Backend Backend
	// DType is the activations' storage type on a device (parameters and
	// optimiser state stay float32). The CPU backend trains in float32.
	DType kernels.DType
	// GPU is the device ordinal among the GPUs the process sees
	// (CUDA_VISIBLE_DEVICES applies first).
	GPU int
}

// Accelerator is an opened backend. Close it when training is over.
type Accelerator struct {
	Backend Backend
	// Device is the GPU to hand to training.Options.Device and
	// trainact's activities; nil on the CPU backend.
	Device *training.Device
	close  func() error
}

// Open opens the backend opts name. The CPU backend always opens; the
// CUDA backend fails with ErrNoCUDA in a binary built without it and with
// ErrNoDevice on a machine without a GPU.
func Open(opts Options) (*Accelerator, error) {
	switch opts.Backend {
	case CPU:
		return &Accelerator{Backend: CPU}, nil
	case CUDA:
		if opts.GPU < 0 {
			return nil, fmt.Errorf("accel: GPU ordinal %d: use 0 or more", opts.GPU)
		}
		return openCUDA(opts)
	}
	_, err := ParseBackend(string(opts.Backend))
	return nil, err
}

// Name says what training runs on, for logs, results and progress: "cpu",
// or the device's name ("cuda:0 NVIDIA H100 80GB HBM3 bf16").
func (a *Accelerator) Name() string {
	if a == nil || a.Device == nil {
		return string(CPU)
	}
	return a.Device.Name
}

// Close releases the device.
func (a *Accelerator) Close() error {
	if a == nil || a.close == nil {
		return nil
	}
	return a.close()
}

// OutOfMemory reports whether err is (or wraps) a device's out-of-memory
// error.
func OutOfMemory(err error) bool { return errors.Is(err, kernels.ErrOutOfMemory) }
