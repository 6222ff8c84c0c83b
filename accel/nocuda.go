//go:build !cuda

package accel

// CUDABuilt reports whether this binary can open a GPU (the cuda build tag).
const CUDABuilt = false

func openCUDA(Options) (*Accelerator, error) { return nil, ErrNoCUDA }
