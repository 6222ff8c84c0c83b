//go:build cgo

package training

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/data"
)

// lagging is the host emulator run as the laziest GPU the
// kernels.AsyncWriter contract allows: launches and GEMMs queue and run
// only when something waits for them, and WriteAsync copies as early as
// allowed, after only the work launched before the previous WriteAsync.
// An engine that overwrote an input the queued kernels still read would
// compute something else than on a synchronous device.
type lagging struct {
	emu   *hostemu.Device
	queue []func() error
	done  int // queue[:done] has run
	mark  int // len(queue) at the previous WriteAsync
	err   error

	syncs, reads int
	writes       []kernels.Ptr // WriteAsync's destinations, in order
}

func (l *lagging) runTo(n int) {
	for ; l.done < n; l.done++ {
		if err := l.queue[l.done](); err != nil && l.err == nil {
			l.err = err
		}
	}
}

func (l *lagging) drain() error {
	l.runTo(len(l.queue))
	err := l.err
	l.err = nil
	return err
}

func (l *lagging) Alloc(n int) (kernels.Ptr, error) { return l.emu.Alloc(n) }

func (l *lagging) Free(p kernels.Ptr) error {
	if err := l.drain(); err != nil {
		return err
	}
	return l.emu.Free(p)
}

func (l *lagging) Write(dst kernels.Ptr, src []byte) error {
	if err := l.drain(); err != nil {
		return err
	}
	return l.emu.Write(dst, src)
}

func (l *lagging) WriteAsync(dst kernels.Ptr, src []byte) error {
	l.runTo(l.mark)
	l.mark = len(l.queue)
	l.writes = append(l.writes, dst)
	return l.emu.Write(dst, src)
}

func (l *lagging) Read(dst []byte, src kernels.Ptr) error {
	l.reads++
	if err := l.drain(); err != nil {
		return err
	}
	return l.emu.Read(dst, src)
}

func (l *lagging) Launch(kernel string, grid, block int, args ...any) error {
	l.queue = append(l.queue, func() error { return l.emu.Launch(kernel, grid, block, args...) })
	return nil
}

func (l *lagging) Gemm(transA, transB bool, m, n, k int, a kernels.Ptr, lda int, b kernels.Ptr, ldb int, c kernels.Ptr, ldc int, accumulate bool, in, out kernels.DType) error {
	l.queue = append(l.queue, func() error {
		return l.emu.Gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, in, out)
	})
	return nil
}

func (l *lagging) Sync() error {
	l.syncs++
	return l.drain()
}

func (l *lagging) MaxGrid() int { return l.emu.MaxGrid() }

var (
	_ kernels.AsyncWriter = (*lagging)(nil)
	_ kernels.Gemmer      = (*lagging)(nil)
	_ kernels.GridLimiter = (*lagging)(nil)
)

// A run whose copies overlap its kernels (double-buffered inputs, losses
// read once per step) computes bit for bit what a run with synchronous
// copies does, reads the device once per optimiser step and once per
// evaluation batch, and alternates its copies between two buffers.
func TestDevicePipelineMatchesSynchronous(t *testing.T) {
	cfg := deviceCase() // batch 16 in micro-batches of 8
	emu := hostemu.New()
	t.Cleanup(emu.Close)
	lag := &lagging{emu: hostemu.New()}
	t.Cleanup(lag.emu.Close)
	sync, err := NewDeviceRun(&Device{Kernels: emu, DType: kernels.F32, Name: "sync", SyncWrites: true}, cfg, cfg.Classes, cfg.Steps)
	if err != nil {
		t.Fatal(err)
	}
	defer sync.Close()
	async, err := NewDeviceRun(&Device{Kernels: lag, DType: kernels.F32, Name: "lagging"}, cfg, cfg.Classes, cfg.Steps)
	if err != nil {
		t.Fatal(err)
	}
	defer async.Close()

	r := rand.New(rand.NewPCG(5, 6))
	for step := 0; step < cfg.Steps; step++ {
		x, labels := randomBatch(r, cfg)
		want, err := sync.TrainStep(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		syncs, reads := lag.syncs, lag.reads
		got, err := async.TrainStep(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("step %d: loss %v with overlapping copies, %v with synchronous ones", step, got, want)
		}
		if s, rd := lag.syncs-syncs, lag.reads-reads; s != 1 || rd != 1 {
			t.Errorf("step %d (2 micro-batches): %d syncs and %d reads, want 1 of each", step, s, rd)
		}
	}
	// The same batch again, micro-batch by micro-batch as Train feeds it.
	x, labels := randomBatch(r, cfg)
	m := cfg.MicroBatch
	for lo := 0; lo < cfg.Batch; lo += m {
		xs := sliceBatch(nil, x, lo, lo+m)
		s1, want, err := sync.TrainMicro(xs, labels[lo:lo+m])
		if err != nil {
			t.Fatal(err)
		}
		s2, got, err := async.TrainMicro(xs, labels[lo:lo+m])
		if err != nil {
			t.Fatal(err)
		}
		if s1 != s2 || got != want {
			t.Errorf("TrainMicro at %d: stepped %v loss %v with overlapping copies, stepped %v loss %v with synchronous ones", lo, s2, got, s1, want)
		}
	}
	wantC, err := sync.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	gotC, err := async.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	sameCheckpoints(t, gotC, wantC)

	loader := func() *data.Loader {
		return &data.Loader{Data: quadrants{n: 24, seed: 3}, Batch: 12, Transform: data.Transform{Size: cfg.Input, CropFraction: 1}, Workers: 1}
	}
	wantM, err := sync.Evaluate(context.Background(), loader())
	if err != nil {
		t.Fatal(err)
	}
	reads := lag.reads
	gotM, err := async.Evaluate(context.Background(), loader())
	if err != nil {
		t.Fatal(err)
	}
	if gotM != wantM {
		t.Errorf("evaluation with overlapping copies %+v, with synchronous ones %+v", gotM, wantM)
	}
	// Two loader batches of 12 in micro-batches of 8 and 4: a read of
	// the losses and one of the hits each, and the EMA swaps read nothing.
	if rd := lag.reads - reads; rd != 4 {
		t.Errorf("evaluating 2 loader batches read the device %d times, want 4", rd)
	}

	if len(lag.writes) < 4 {
		t.Fatalf("%d asynchronous writes: the engine does not use kernels.AsyncWriter", len(lag.writes))
	}
	for i := 2; i < len(lag.writes); i++ {
		if lag.writes[i] != lag.writes[i-2] || lag.writes[i] == lag.writes[i-1] {
			t.Fatalf("asynchronous writes to %#x: not alternating between two buffers", lag.writes)
		}
	}
}

func sameCheckpoints(t *testing.T, got, want *checkpoint.Checkpoint) {
	t.Helper()
	for i, ti := range want.Header.Tensors {
		g, ok := got.Lookup(ti.Name)
		if !ok {
			t.Fatalf("no tensor %s", ti.Name)
		}
		if !slices.Equal(g, want.Values[i]) {
			t.Errorf("%s differs between overlapping and synchronous copies", ti.Name)
		}
	}
}

// A loss that is not finite still stops the run at the step it appears
// in, with the CPU's error, and before the optimiser step.
func TestDeviceNonFiniteLoss(t *testing.T) {
	cfg := deviceCase()
	cpu, dev := runPair(t, cfg, kernels.F32)
	// An infinite classifier bias: the loss is NaN, and so would be every
	// weight after an optimiser step.
	before, err := cpu.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	bias := slices.IndexFunc(before.Header.Tensors, func(ti checkpoint.TensorInfo) bool {
		return !strings.Contains(ti.Name, "/") && strings.HasSuffix(ti.Name, ".linear.bias")
	})
	if bias < 0 {
		t.Fatal("no classifier bias in the checkpoint")
	}
	before.Values[bias][0] = float32(math.Inf(1))
	for _, r := range []*Run{cpu, dev} {
		if err := r.Restore(before, true); err != nil {
			t.Fatal(err)
		}
	}
	x, labels := randomBatch(rand.New(rand.NewPCG(7, 8)), cfg)
	_, want := cpu.TrainStep(x, labels)
	_, got := dev.TrainStep(x, labels)
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Fatalf("device error %v, the CPU's %v", got, want)
	}
	if dev.Step != 0 {
		t.Errorf("Step %d after failing the first step", dev.Step)
	}
	after, err := dev.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	// The forward pass updated the batch-norm statistics, as on the CPU;
	// weights, velocity and EMA are as before.
	for i, ti := range before.Header.Tensors {
		if strings.Contains(ti.Name, "running_") && !strings.HasPrefix(ti.Name, "ema/") {
			continue
		}
		g, _ := after.Lookup(ti.Name)
		if !slices.EqualFunc(g, before.Values[i], func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("%s changed in the failed step", ti.Name)
		}
	}
}
