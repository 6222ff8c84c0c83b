package main

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/accel"
)

// backendOptions are the flags of the commands that train saying what
// training runs on.
type backendOptions struct {
	// backend is cpu or cuda; "" takes the command's default.
	backend string
	dtype   string
	gpu     int
}

// AddFlags registers --backend, --dtype and --gpu on fs, their defaults
// from the environment (bad values land in env); def is --backend's
// default, and defaultUsage says what it means when def is "".
func (f *backendOptions) AddFlags(fs *pflag.FlagSet, env *envDefaults, def, defaultUsage string) {
	usage := "what training runs on: cpu, or cuda (an NVIDIA GPU; needs a binary built with CUDA: the genius CUDA image or make build-cuda)"
	if defaultUsage != "" {
		usage += "; " + defaultUsage
	}
	fs.StringVar(&f.backend, "backend", env.Choice("backend", "GENIUS_BACKEND", def, string(accel.CPU), string(accel.CUDA)),
		usage+" (env GENIUS_BACKEND)")
	fs.StringVar(&f.dtype, "dtype", env.Choice("dtype", "GENIUS_DTYPE", accel.BF16, accel.BF16, accel.F32),
		"cuda: storage of activations, bf16 (mixed precision: float32 weights, optimiser state and accumulation) or f32 (for checking); the CPU trains in float32 (env GENIUS_DTYPE)")
	fs.IntVar(&f.gpu, "gpu", env.Int("gpu", "GENIUS_GPU", 0),
		"cuda: which GPU, by ordinal among those visible (CUDA_VISIBLE_DEVICES) (env GENIUS_GPU)")
}

// openBackend opens the backend f names, def when --backend is unset
// (defaultOf names whose default that is, for errors). It never falls
// back: a backend that does not open is an error saying what to change.
func openBackend(f backendOptions, def accel.Backend, defaultOf string) (*accel.Accelerator, error) {
	name := cmp.Or(f.backend, string(def))
	b, err := accel.ParseBackend(name)
	if err != nil {
		return nil, fmt.Errorf("--backend is %q: use cpu or cuda (env GENIUS_BACKEND)", name)
	}
	dt, err := accel.ParseDType(f.dtype)
	if err != nil {
		return nil, fmt.Errorf("--dtype is %q: use bf16 or f32 (env GENIUS_DTYPE)", f.dtype)
	}
	if f.gpu < 0 {
		return nil, fmt.Errorf("--gpu is %d: give the ordinal of a visible GPU, 0 or more (env GENIUS_GPU)", f.gpu)
	}
	a, err := accel.Open(accel.Options{Backend: b, DType: dt, GPU: f.gpu})
	if err == nil {
		return a, nil
	}
	flag := "--backend cuda"
	if f.backend == "" {
		flag += " (the default of " + defaultOf + ", which never falls back to the CPU)"
	}
	const cpu = "to train on the CPU instead, pass --backend cpu (env GENIUS_BACKEND=cpu)"
	switch {
	case errors.Is(err, accel.ErrNoCUDA):
		return nil, fmt.Errorf("%s: %w: use the genius CUDA image (Dockerfile.cuda) or a binary built with `make build-cuda` (dist/genius-cuda); %s", flag, err, cpu)
	case errors.Is(err, accel.ErrNoDevice):
		return nil, fmt.Errorf("%s: %w: run where an NVIDIA GPU is visible (nvidia-smi lists it; on Kubernetes the pod requests nvidia.com/gpu and runs with the NVIDIA runtime class); %s", flag, err, cpu)
	}
	return nil, fmt.Errorf("%s --gpu %d: %w; %s", flag, f.gpu, err, cpu)
}
