package tensor

import (
	"runtime"
	"sync"

	"golang.org/x/sys/cpu"
)

// CPU is the host backend: a blocked, packed matrix multiply with an
// AVX-512 micro-kernel where the processor has one (a portable Go kernel
// otherwise), direct depthwise convolution, and loops split across
// goroutines.
type CPU struct {
	workers int
	simd    bool
	scratch sync.Pool // *gemmScratch
	dwPool  sync.Pool // *dwScratch
	lend    sync.Pool // *[]float32, for Scratch
}

// CPUOptions configures NewCPU.
type CPUOptions struct {
	// Workers is the number of parallel workers. Default runtime.GOMAXPROCS(0).
	Workers int
	// PortableOnly disables the assembly kernels (tests compare both).
	PortableOnly bool
}

// NewCPU returns a CPU backend.
func NewCPU(o CPUOptions) *CPU {
	w := o.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	c := &CPU{workers: w, simd: haveSIMDKernel && cpu.X86.HasAVX512F && !o.PortableOnly}
	c.scratch.New = func() any { return &gemmScratch{} }
	c.dwPool.New = func() any { return &dwScratch{} }
	return c
}

// Scratch implements Backend.
func (c *CPU) Scratch(n int) []float32 {
	if p, ok := c.lend.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// Release implements Backend.
func (c *CPU) Release(buf []float32) {
	c.lend.Put(&buf)
}

// Name implements Backend.
func (c *CPU) Name() string {
	if c.simd {
		return "cpu-avx512"
	}
	return "cpu-go"
}

// Workers implements Backend.
func (c *CPU) Workers() int { return c.workers }

// For implements Backend.
func (c *CPU) For(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	parts := c.workers
	if m := n / grain; m < parts {
		parts = m
	}
	if parts <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		lo, hi := n*p/parts, n*(p+1)/parts
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	f(0, n/parts)
	wg.Wait()
}

// Serial returns a one-worker backend with the same kernels, for a
// replica of a data-parallel step that already has a core to itself.
func (c *CPU) Serial() *CPU {
	s := &CPU{workers: 1, simd: c.simd}
	s.scratch.New = func() any { return &gemmScratch{} }
	s.dwPool.New = func() any { return &dwScratch{} }
	return s
}
