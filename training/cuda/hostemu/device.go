//go:build cgo

package hostemu

/*
#cgo CXXFLAGS: -std=c++17 -O2 -Wall
#include <stdlib.h>
#include <string.h>
#include "emu.h"
*/
import "C"

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"unsafe"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/tensor"
)

var launchMu sync.Mutex

// Device is the host emulator. Memory comes from C's allocator and every
// copy is checked against its allocation; launches run one at a time.
type Device struct {
	mu      sync.Mutex
	kernels map[string]kernel
	allocs  map[kernels.Ptr]alloc
	// Launched counts launches per kernel (tests check coverage with it).
	Launched map[string]int
	gemm     *tensor.CPU
	// inUse and peak are the bytes allocated now and at most (PeakMeter).
	inUse, peak int64
}

type kernel struct {
	index int
	sig   string
}

type alloc struct {
	base unsafe.Pointer
	size int
}

// New returns an emulated device with every kernel of the sources.
func New() *Device {
	d := &Device{kernels: map[string]kernel{}, allocs: map[kernels.Ptr]alloc{}, Launched: map[string]int{}}
	for i := range int(C.gk_kernel_count()) {
		d.kernels[C.GoString(C.gk_kernel_name(C.int(i)))] = kernel{index: i, sig: C.GoString(C.gk_kernel_sig(C.int(i)))}
	}
	return d
}

// Kernels lists the kernels the emulator has, sorted.
func (d *Device) Kernels() []string {
	var names []string
	for n := range d.kernels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Alloc implements kernels.Device.
func (d *Device) Alloc(n int) (kernels.Ptr, error) {
	if n <= 0 {
		return 0, fmt.Errorf("hostemu: allocation of %d bytes", n)
	}
	p := C.calloc(C.size_t(n), 1)
	if p == nil {
		return 0, fmt.Errorf("hostemu: allocating %d bytes: %w", n, kernels.ErrOutOfMemory)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ptr := kernels.Ptr(uintptr(p))
	d.allocs[ptr] = alloc{base: p, size: n}
	d.inUse += int64(n)
	d.peak = max(d.peak, d.inUse)
	return ptr, nil
}

// Free implements kernels.Device.
func (d *Device) Free(p kernels.Ptr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.allocs[p]
	if !ok {
		return fmt.Errorf("hostemu: free of %#x, which Alloc did not return", uint64(p))
	}
	delete(d.allocs, p)
	d.inUse -= int64(a.size)
	C.free(a.base)
	return nil
}

// PeakBytes implements kernels.PeakMeter.
func (d *Device) PeakBytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.peak
}

// ResetPeak implements kernels.PeakMeter.
func (d *Device) ResetPeak() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.peak = d.inUse
}

// span finds the allocation holding [p, p+n).
func (d *Device) span(p kernels.Ptr, n int) (unsafe.Pointer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for base, a := range d.allocs {
		if p >= base && p < base+kernels.Ptr(a.size) {
			off := int(p - base)
			if off+n > a.size {
				return nil, fmt.Errorf("hostemu: %d bytes at offset %d overrun an allocation of %d", n, off, a.size)
			}
			return unsafe.Add(a.base, off), nil
		}
	}
	return nil, fmt.Errorf("hostemu: %#x is not in allocated memory", uint64(p))
}

// allocated reports whether p lies in an allocation (or just past its end).
func (d *Device) allocated(p kernels.Ptr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for base, a := range d.allocs {
		if p >= base && p <= base+kernels.Ptr(a.size) {
			return true
		}
	}
	return false
}

// Write implements kernels.Device.
func (d *Device) Write(dst kernels.Ptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	p, err := d.span(dst, len(src))
	if err != nil {
		return err
	}
	C.memcpy(p, unsafe.Pointer(&src[0]), C.size_t(len(src)))
	return nil
}

// WriteAsync implements kernels.AsyncWriter: launches run to completion
// here, so the copy is done at once.
func (d *Device) WriteAsync(dst kernels.Ptr, src []byte) error { return d.Write(dst, src) }

// Read implements kernels.Device.
func (d *Device) Read(dst []byte, src kernels.Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	p, err := d.span(src, len(dst))
	if err != nil {
		return err
	}
	C.memcpy(unsafe.Pointer(&dst[0]), p, C.size_t(len(dst)))
	return nil
}

// Launch implements kernels.Device; it runs the kernel to completion.
func (d *Device) Launch(name string, grid, block int, args ...any) error {
	k, ok := d.kernels[name]
	if !ok {
		return fmt.Errorf("hostemu: no kernel %q", name)
	}
	if grid < 1 || block < 1 || block > 1024 {
		return fmt.Errorf("hostemu: launch of %s with grid %d, block %d", name, grid, block)
	}
	if len(args) != len(k.sig) {
		return fmt.Errorf("hostemu: %s takes %d arguments, got %d", name, len(k.sig), len(args))
	}
	// Values and the pointers to them live in C memory, as cgo requires.
	vals := (*[1 << 20]uint64)(C.calloc(C.size_t(len(args)), 8))[:len(args):len(args)]
	ptrs := (*[1 << 20]unsafe.Pointer)(C.calloc(C.size_t(len(args)), C.size_t(unsafe.Sizeof(uintptr(0)))))[:len(args):len(args)]
	defer C.free(unsafe.Pointer(&vals[0]))
	defer C.free(unsafe.Pointer(&ptrs[0]))
	for i, a := range args {
		want := k.sig[i]
		switch v := a.(type) {
		case kernels.Ptr:
			if want != 'p' {
				return fmt.Errorf("hostemu: %s argument %d is a pointer, the kernel wants %c", name, i, want)
			}
			// A kernel's extents are its own business, but an address
			// outside all memory would crash the process.
			if !d.allocated(v) {
				return fmt.Errorf("hostemu: %s argument %d = %#x is not in allocated memory", name, i, uint64(v))
			}
			vals[i] = uint64(v)
		case int:
			if want != 'i' {
				return fmt.Errorf("hostemu: %s argument %d is an int, the kernel wants %c", name, i, want)
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("hostemu: %s argument %d = %d does not fit a C int", name, i, v)
			}
			*(*int32)(unsafe.Pointer(&vals[i])) = int32(v)
		case float32:
			if want != 'f' {
				return fmt.Errorf("hostemu: %s argument %d is a float, the kernel wants %c", name, i, want)
			}
			*(*float32)(unsafe.Pointer(&vals[i])) = v
		default:
			return fmt.Errorf("hostemu: %s argument %d has type %T (want Ptr, int or float32)", name, i, a)
		}
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	// The emulator's block state (indices, barrier) is global in C: one
	// launch at a time in the process, whichever Device asks.
	launchMu.Lock()
	defer launchMu.Unlock()
	d.mu.Lock()
	d.Launched[name]++
	d.mu.Unlock()
	switch C.gk_launch(C.int(k.index), C.int(grid), C.int(block), &ptrs[0]) {
	case 0:
	case -2:
		return fmt.Errorf("hostemu: launch of %s: some threads of a block returned while others waited at sync_threads", name)
	default:
		return fmt.Errorf("hostemu: launch of %s: out of memory for %d threads' stacks", name, block)
	}
	return nil
}

// Sync implements kernels.Device (launches are synchronous here).
func (d *Device) Sync() error { return nil }

// Close frees what is still allocated.
func (d *Device) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, a := range d.allocs {
		C.free(a.base)
		delete(d.allocs, p)
	}
	d.inUse = 0
}

// MaxGrid implements kernels.GridLimiter: two blocks exercise the
// kernels' grid-stride loops without paying for thousands of barriers.
func (d *Device) MaxGrid() int { return 2 }

var (
	_ kernels.Device      = (*Device)(nil)
	_ kernels.GridLimiter = (*Device)(nil)
	_ kernels.PeakMeter   = (*Device)(nil)
	_ kernels.AsyncWriter = (*Device)(nil)
)
