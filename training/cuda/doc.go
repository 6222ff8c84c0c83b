// Package cuda runs the training kernels on an NVIDIA GPU: a
// kernels.Device built on gorgonia.org/cu (context, memory, module loading
// from the embedded PTX, launches) plus bf16 tensor-core matrix products
// through cublasGemmEx.
//
// Everything but this comment is behind the build tag cuda, so the default
// build and tests need no CUDA. Building with the tag needs the CUDA
// headers and link stubs (training/cuda/build.sh); the binary then needs
// the NVIDIA driver's libcuda.so.1 and cuBLAS (libcublas.so.13) at run
// time. One goroutine, locked to its OS thread, owns the context and makes
// every CUDA call.
package cuda
