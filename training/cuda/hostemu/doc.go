// Package hostemu runs the CUDA kernels of training/cuda/kernels on the
// host: the .cu sources compile as C++ through kernels.h, and a launch runs
// each CUDA thread as a coroutine, a block at a time, switching threads at
// sync_threads. It is a kernels.Device for tests (it needs cgo and a C++
// compiler, no CUDA): slow, but faithful to the kernels' logic, indexing
// and block synchronisation.
package hostemu
