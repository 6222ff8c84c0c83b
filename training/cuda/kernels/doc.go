// Package kernels holds the training engine's GPU kernels, written in CUDA
// C (the .cu files here), and the Go side that launches them on a Device
// and checks them against the CPU engine.
//
// The sources compile two ways through kernels.h: to PTX with clang-19 for
// the GPU (`make ptx`; the PTX is committed under training/cuda/ptx and
// embedded by the cuda-tagged package), and as plain C++ for the host
// emulator in training/cuda/hostemu, which the default tests run. Both are
// Devices, so the same launch code and the same Check run on either.
//
// Layout is the CPU engine's CHWN (tensor package doc): a channel is one
// contiguous row of H*W*N values. Activations are stored as float32 or
// bf16 (DType); parameters, gradients, optimiser state and batch-norm
// statistics are float32, and every kernel accumulates in float32.
//
// A new kernel needs: its source here (an extern "C" KERNEL, using only
// kernels.h), a line in hostemu's table (glue.cc), a launch function in
// ops.go, a comparison in Check, and `make ptx`. The host tests fail when
// a kernel of the PTX is missing from the emulator or never checked.
package kernels

import "embed"

// Sources are the kernel sources. Embedding them makes Go's build cache
// see their changes, so the host emulator (which #includes them) is
// rebuilt when they change.
//
//go:embed *.cu *.h
var Sources embed.FS
