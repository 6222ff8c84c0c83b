//go:build cuda

package cuda

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// ptx is the kernels compiled by `make ptx`, one module per source file.
//
//go:embed ptx/*.ptx
var ptx embed.FS

// Device is one GPU with the kernels loaded.
type Device struct {
	work chan func()
	done chan struct{}

	// Set by the owner goroutine only.
	ctx    cu.CUContext
	stream cu.Stream // kernels and cuBLAS; Write and Read go through the null stream, which orders with it
	// copies is WriteAsync's stream, fed from page-locked staging
	// buffers used in turn; mark is recorded on stream at each
	// WriteAsync, and the next one's copy waits for it.
	copies     cu.Stream
	staging    [2]staging
	next       int
	mark       cu.Event
	marked     bool
	funcs      map[string]cu.Function
	blas       blasHandle
	info       Info
	lastLaunch string
	// sizes, inUse and peak track Alloc and Free (kernels.PeakMeter).
	sizes       map[kernels.Ptr]int64
	inUse, peak int64
}

// Info describes the GPU.
type Info struct {
	Ordinal      int
	Name         string
	Major, Minor int // compute capability
	TotalBytes   int64
}

func (i Info) String() string {
	return fmt.Sprintf("GPU %d: %s (sm_%d%d, %.1f GiB)", i.Ordinal, i.Name, i.Major, i.Minor, float64(i.TotalBytes)/(1<<30))
}

// ErrNoDevice is returned by Open when the driver finds no GPU.
var ErrNoDevice = errors.New("cuda: no NVIDIA GPU found")

// Open makes a context on GPU ordinal, loads the kernels and starts
// cuBLAS. Close releases them.
func Open(ordinal int) (*Device, error) {
	d := &Device{work: make(chan func()), done: make(chan struct{}), funcs: map[string]cu.Function{},
		sizes: map[kernels.Ptr]int64{}}
	errc := make(chan error, 1)
	go d.own(ordinal, errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return d, nil
}

// own is the goroutine that owns the context: a CUDA context is current
// per OS thread, so every call runs here.
func (d *Device) own(ordinal int, errc chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.open(ordinal); err != nil {
		errc <- err
		return
	}
	errc <- nil
	for f := range d.work {
		f()
	}
	d.releaseStaging()
	d.blas.destroy()
	d.stream.Destroy()
	d.ctx.Destroy()
	close(d.done)
}

func (d *Device) open(ordinal int) error {
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("cuda: the driver does not start (%v); is this a GPU machine with the NVIDIA driver?", err)
	}
	if n == 0 {
		return ErrNoDevice
	}
	if ordinal < 0 || ordinal >= n {
		return fmt.Errorf("cuda: GPU %d asked for, this machine has %d", ordinal, n)
	}
	dev := cu.Device(ordinal)
	d.info.Ordinal = ordinal
	if d.info.Name, err = dev.Name(); err != nil {
		return fmt.Errorf("cuda: GPU %d: %w", ordinal, err)
	}
	if d.info.Major, d.info.Minor, err = dev.ComputeCapability(); err != nil {
		return fmt.Errorf("cuda: GPU %d: %w", ordinal, err)
	}
	if d.info.Major < 8 {
		return fmt.Errorf("cuda: %s has compute capability %d.%d; the kernels need 8.0 or newer (bf16)", d.info.Name, d.info.Major, d.info.Minor)
	}
	if d.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil {
		return fmt.Errorf("cuda: context on GPU %d: %w", ordinal, err)
	}
	fail := func(err error) error {
		d.ctx.Destroy()
		return err
	}
	if _, d.info.TotalBytes, err = cu.MemInfo(); err != nil {
		return fail(fmt.Errorf("cuda: memory info: %w", err))
	}
	files, err := fs.Glob(ptx, "ptx/*.ptx")
	if err != nil || len(files) == 0 {
		return fail(fmt.Errorf("cuda: no PTX embedded (run make ptx): %v", err))
	}
	for _, f := range files {
		text, err := ptx.ReadFile(f)
		if err != nil {
			return fail(err)
		}
		// The driver JIT-compiles the PTX for this GPU.
		mod, err := cu.LoadData(string(text))
		if err != nil {
			return fail(fmt.Errorf("cuda: loading %s: %w", f, err))
		}
		for _, name := range entries(string(text)) {
			fn, err := mod.Function(name)
			if err != nil {
				return fail(fmt.Errorf("cuda: kernel %s in %s: %w", name, f, err))
			}
			d.funcs[name] = fn
		}
	}
	if d.stream, err = cu.MakeStream(cu.DefaultStream); err != nil {
		return fail(fmt.Errorf("cuda: making a stream: %w", err))
	}
	if d.blas, err = newBlas(d.stream); err != nil {
		d.stream.Destroy()
		return fail(err)
	}
	if err := d.openStaging(); err != nil {
		d.releaseStaging()
		d.blas.destroy()
		d.stream.Destroy()
		return fail(err)
	}
	return nil
}

// entries lists the kernels a PTX module defines.
func entries(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, ".visible .entry "); ok {
			if i := strings.IndexByte(rest, '('); i > 0 {
				names = append(names, rest[:i])
			}
		}
	}
	return names
}

// do runs f on the owner goroutine and returns its error.
func (d *Device) do(f func() error) error {
	errc := make(chan error, 1)
	d.work <- func() { errc <- f() }
	return <-errc
}

// Info describes the GPU.
func (d *Device) Info() Info { return d.info }

// Close waits for the GPU's work and releases the context.
func (d *Device) Close() error {
	err := d.Sync()
	close(d.work)
	<-d.done
	return err
}

// Alloc implements kernels.Device.
func (d *Device) Alloc(n int) (kernels.Ptr, error) {
	var p kernels.Ptr
	err := d.do(func() error {
		ptr, err := cu.MemAlloc(int64(n))
		if err != nil {
			if errors.Is(err, cu.OutOfMemory) {
				free, total, _ := cu.MemInfo()
				return &OutOfMemoryError{Want: int64(n), Free: free, Total: total}
			}
			return fmt.Errorf("cuda: allocating %d bytes: %w", n, err)
		}
		if err := cu.MemsetD8(ptr, 0, int64(n)); err != nil {
			cu.MemFree(ptr)
			return d.failed("clearing new memory", err)
		}
		p = kernels.Ptr(ptr)
		d.sizes[p] = int64(n)
		d.inUse += int64(n)
		d.peak = max(d.peak, d.inUse)
		return nil
	})
	return p, err
}

// OutOfMemoryError says how much was asked for and what the GPU had; the
// training layer turns it into advice on the batch and micro-batch.
type OutOfMemoryError struct {
	Want, Free, Total int64
}

func (e *OutOfMemoryError) Error() string {
	return fmt.Sprintf("cuda: out of GPU memory: %.1f MiB asked for, %.1f MiB free of %.1f GiB",
		float64(e.Want)/(1<<20), float64(e.Free)/(1<<20), float64(e.Total)/(1<<30))
}

// Is makes errors.Is(err, kernels.ErrOutOfMemory) true.
func (e *OutOfMemoryError) Is(target error) bool { return target == kernels.ErrOutOfMemory }

// Free implements kernels.Device.
func (d *Device) Free(p kernels.Ptr) error {
	return d.do(func() error {
		if err := cu.MemFree(cu.DevicePtr(p)); err != nil {
			return err
		}
		d.inUse -= d.sizes[p]
		delete(d.sizes, p)
		return nil
	})
}

// PeakBytes implements kernels.PeakMeter: the most memory allocated
// through Alloc at once (the driver's own and cuBLAS's workspace are not
// counted).
func (d *Device) PeakBytes() int64 {
	var peak int64
	d.do(func() error {
		peak = d.peak
		return nil
	})
	return peak
}

// ResetPeak implements kernels.PeakMeter.
func (d *Device) ResetPeak() {
	d.do(func() error {
		d.peak = d.inUse
		return nil
	})
}

// Write implements kernels.Device.
func (d *Device) Write(dst kernels.Ptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return d.do(func() error {
		if err := cu.MemcpyHtoD(cu.DevicePtr(dst), unsafe.Pointer(&src[0]), int64(len(src))); err != nil {
			return d.failed("copy to the GPU", err)
		}
		return nil
	})
}

// staging is a page-locked buffer WriteAsync copies from; done is
// recorded on the copy stream after its copy, which must finish before the
// buffer is filled again.
type staging struct {
	p    unsafe.Pointer
	size int
	done cu.Event
	used bool
}

func (d *Device) openStaging() error {
	var err error
	if d.copies, err = cu.MakeStream(cu.DefaultStream); err != nil {
		return fmt.Errorf("cuda: making the copy stream: %w", err)
	}
	if d.mark, err = cu.MakeEvent(cu.DisableTiming); err != nil {
		return fmt.Errorf("cuda: making an event: %w", err)
	}
	for i := range d.staging {
		if d.staging[i].done, err = cu.MakeEvent(cu.DisableTiming); err != nil {
			return fmt.Errorf("cuda: making an event: %w", err)
		}
	}
	return nil
}

// releaseStaging frees the staging buffers, their events and the copy
// stream, once the copies are done.
func (d *Device) releaseStaging() {
	var zero cu.Stream
	if d.copies != zero {
		d.copies.Synchronize()
		d.copies.Destroy()
	}
	var none cu.Event
	for i := range d.staging {
		s := &d.staging[i]
		if s.p != nil {
			pinnedFree(s.p)
			s.p = nil
		}
		if s.done != none {
			cu.DestroyEvent(&s.done)
		}
	}
	if d.mark != none {
		cu.DestroyEvent(&d.mark)
	}
}

// WriteAsync implements kernels.AsyncWriter: src goes to a page-locked
// staging buffer (the two are used in turn; one is refilled only after
// its previous copy finished), then to dst on the copy stream, which first
// waits for the kernels launched before the previous WriteAsync. The
// kernel stream waits for the copy, so kernels launched after see the data.
func (d *Device) WriteAsync(dst kernels.Ptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return d.do(func() error {
		s := &d.staging[d.next]
		d.next = (d.next + 1) % len(d.staging)
		if s.used {
			if err := s.done.Synchronize(); err != nil {
				return d.failed("copy to the GPU", err)
			}
			s.used = false
		}
		if s.size < len(src) {
			if s.p != nil {
				if err := pinnedFree(s.p); err != nil {
					return err
				}
				s.p, s.size = nil, 0
			}
			p, err := pinnedAlloc(len(src))
			if err != nil {
				return err
			}
			s.p, s.size = p, len(src)
		}
		stage(unsafe.Slice((*byte)(s.p), len(src)), src)
		if d.marked {
			if err := d.copies.Wait(d.mark, 0); err != nil {
				return d.failed("ordering a copy after the kernels", err)
			}
		}
		if err := cu.MemcpyHtoDAsync(cu.DevicePtr(dst), s.p, int64(len(src)), d.copies); err != nil {
			return d.failed("copy to the GPU", err)
		}
		if err := s.done.Record(d.copies); err != nil {
			return d.failed("recording a copy", err)
		}
		s.used = true
		if err := d.mark.Record(d.stream); err != nil {
			return d.failed("recording the kernels' progress", err)
		}
		d.marked = true
		if err := d.stream.Wait(s.done, 0); err != nil {
			return d.failed("ordering the kernels after a copy", err)
		}
		return nil
	})
}

// stage copies src to dst, a large batch (77 MB for 256 images at 224 px
// in bf16) over several cores: one core's copy is slower than the GPU's
// PCIe link.
func stage(dst, src []byte) {
	const chunk = 4 << 20
	if len(src) <= chunk {
		copy(dst, src)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < len(src); lo += chunk {
		hi := min(lo+chunk, len(src))
		wg.Add(1)
		go func() {
			defer wg.Done()
			copy(dst[lo:hi], src[lo:hi])
		}()
	}
	wg.Wait()
}

// Read implements kernels.Device.
func (d *Device) Read(dst []byte, src kernels.Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	return d.do(func() error {
		if err := cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), cu.DevicePtr(src), int64(len(dst))); err != nil {
			return d.failed("copy from the GPU", err)
		}
		return nil
	})
}

// failed names the last kernel launched: a kernel's failure surfaces at the
// next synchronising call.
func (d *Device) failed(what string, err error) error {
	if d.lastLaunch != "" {
		return fmt.Errorf("cuda: %s: %w (the last kernel launched was %s)", what, err, d.lastLaunch)
	}
	return fmt.Errorf("cuda: %s: %w", what, err)
}

// Launch implements kernels.Device. The launch is asynchronous.
func (d *Device) Launch(name string, grid, block int, args ...any) error {
	slots := make([]uint64, len(args))
	params := make([]unsafe.Pointer, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case kernels.Ptr:
			slots[i] = uint64(v)
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("cuda: %s argument %d = %d does not fit a C int", name, i, v)
			}
			slots[i] = uint64(uint32(int32(v)))
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		default:
			return fmt.Errorf("cuda: %s argument %d has type %T (want Ptr, int or float32)", name, i, a)
		}
		params[i] = unsafe.Pointer(&slots[i])
	}
	return d.do(func() error {
		fn, ok := d.funcs[name]
		if !ok {
			return fmt.Errorf("cuda: no kernel %q in the embedded PTX", name)
		}
		d.lastLaunch = name
		if err := fn.Launch(grid, 1, 1, block, 1, 1, 0, d.stream, params); err != nil {
			return fmt.Errorf("cuda: launching %s (grid %d, block %d): %w", name, grid, block, err)
		}
		return nil
	})
}

// Sync implements kernels.Device.
func (d *Device) Sync() error {
	return d.do(func() error {
		if err := cu.Synchronize(); err != nil {
			return d.failed("kernel failed", err)
		}
		return nil
	})
}

// MemInfo returns the free and total bytes of GPU memory.
func (d *Device) MemInfo() (free, total int64, err error) {
	err = d.do(func() error {
		free, total, err = cu.MemInfo()
		return err
	})
	return free, total, err
}

var (
	_ kernels.Device      = (*Device)(nil)
	_ kernels.Gemmer      = (*Device)(nil)
	_ kernels.PeakMeter   = (*Device)(nil)
	_ kernels.AsyncWriter = (*Device)(nil)
)
