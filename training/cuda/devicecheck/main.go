//go:build cuda

// Command devicecheck runs every training kernel and cuBLAS product, and
// a small network of each search space forward and backward, on an NVIDIA
// GPU against the CPU engine and prints the differences, then times a bf16
// matrix product and an elementwise kernel, then runs the training part
// (training/cuda/gpucheck): a synthetic training beside the CPU, a
// checkpoint the CPU resumes, and GENIUS-329's training throughput and
// peak memory. It exits non-zero when anything differs beyond tolerance
// or fails. Build it with training/cuda/build.sh; run it through
// training/cuda/devicecheck.sh on the GPU machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda"
	"github.com/genius-nas/genius/training/cuda/gpucheck"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/devnet"
)

type options struct {
	GPU      int
	Seeds    int
	Bench    bool
	Training bool
	F32      bool
	Train    gpucheck.Options
}

func (o *options) AddFlags(f *flag.FlagSet) {
	f.IntVar(&o.GPU, "gpu", 0, "GPU ordinal")
	f.IntVar(&o.Seeds, "seeds", 3, "random shape sets to check")
	f.BoolVar(&o.Bench, "bench", true, "time a bf16 GEMM and an elementwise kernel")
	f.BoolVar(&o.Training, "training", true, "run the training part: synthetic training, checkpoint and CPU resume, throughput")
	f.BoolVar(&o.F32, "f32", false, "train with float32 activations instead of bf16")
	o.Train.AddFlags(f)
}

func main() {
	var o options
	f := flag.NewFlagSet("devicecheck", flag.ExitOnError)
	o.AddFlags(f)
	f.Parse(os.Args[1:])
	// timeout(1) stops the check with SIGTERM: training stops between steps.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCheck(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devicecheck:", err)
		os.Exit(1)
	}
}

func runCheck(ctx context.Context, o options, out io.Writer) error {
	d, err := cuda.Open(o.GPU)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintln(out, d.Info())
	failed, total := 0, 0
	for seed := 1; seed <= o.Seeds; seed++ {
		results, err := kernels.Check(d, uint64(seed))
		if err != nil {
			return fmt.Errorf("seed %d: %w", seed, err)
		}
		for _, r := range results {
			total++
			if !r.OK() {
				failed++
			}
			fmt.Fprintf(out, "seed %d  %s\n", seed, r)
		}
	}
	// Whole networks of each space, float32 and bf16 (training/devnet).
	nets, err := devnet.Check(d)
	if err != nil {
		return fmt.Errorf("networks: %w", err)
	}
	for _, r := range nets {
		total++
		if !r.OK() {
			failed++
		}
		fmt.Fprintf(out, "network %s\n", r)
	}
	// RetinaNet's outputs and gradients (COCO transfer on the device).
	for _, c := range devnet.DetectorCases {
		for _, dt := range []kernels.DType{kernels.F32, kernels.BF16} {
			rs, err := devnet.CheckDetector(d, dt, c)
			if err != nil {
				return fmt.Errorf("detector %v %s: %w", c, dt, err)
			}
			for _, r := range rs {
				total++
				if !r.OK() {
					failed++
				}
				fmt.Fprintf(out, "detector %s\n", r)
			}
		}
	}
	fmt.Fprintf(out, "ops: %d of %d comparisons within tolerance\n", total-failed, total)
	if err := checkOutOfMemory(d, out); err != nil {
		return err
	}
	if o.Bench {
		if err := bench(d, out); err != nil {
			return err
		}
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("%d comparisons out of tolerance", failed))
	}
	if o.Training {
		dt := kernels.BF16
		if o.F32 {
			dt = kernels.F32
		}
		dev := &training.Device{Kernels: d, DType: dt, Name: fmt.Sprintf("cuda:%d %s", d.Info().Ordinal, d.Info().Name)}
		rep, err := gpucheck.Run(ctx, dev, o.Train, out)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("training part: %w", err))
		case !rep.OK():
			errs = append(errs, errors.New("training part: the device does not train like the CPU or the CPU did not resume its checkpoint (see above)"))
		}
	}
	return errors.Join(errs...)
}

// checkOutOfMemory asks for more memory than the GPU has and expects the
// error that names the sizes.
func checkOutOfMemory(d *cuda.Device, out io.Writer) error {
	_, total, err := d.MemInfo()
	if err != nil {
		return err
	}
	p, err := d.Alloc(int(2 * total))
	var oom *cuda.OutOfMemoryError
	if !errors.As(err, &oom) {
		if err == nil {
			d.Free(p)
		}
		return fmt.Errorf("allocating twice the GPU's memory: want an out-of-memory error, got %v", err)
	}
	fmt.Fprintf(out, "out of memory: ok (%v)\n", err)
	return nil
}

func bench(d *cuda.Device, out io.Writer) error {
	const m, n, k = 4096, 4096, 4096
	a, err := d.Alloc(m * k * 2)
	if err != nil {
		return err
	}
	defer d.Free(a)
	b, err := d.Alloc(k * n * 2)
	if err != nil {
		return err
	}
	defer d.Free(b)
	c, err := d.Alloc(m * n * 4)
	if err != nil {
		return err
	}
	defer d.Free(c)
	run := func(reps int) (time.Duration, error) {
		start := time.Now()
		for range reps {
			if err := d.Gemm(false, false, m, n, k, a, k, b, n, c, n, false, kernels.BF16, kernels.F32); err != nil {
				return 0, err
			}
		}
		err := d.Sync()
		return time.Since(start), err
	}
	if _, err := run(3); err != nil { // warm-up
		return err
	}
	el, err := run(20)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "gemm bf16 %dx%dx%d: %.1f TFLOP/s\n", m, n, k, 20*2*float64(m*n*k)/el.Seconds()/1e12)

	const elems = 64 << 20
	x, err := d.Alloc(elems * 2)
	if err != nil {
		return err
	}
	defer d.Free(x)
	start := time.Now()
	for range 20 {
		if err := kernels.ActForward(d, kernels.BF16, kernels.ActHardSwish, elems, x, x, 1, 0); err != nil {
			return err
		}
	}
	if err := d.Sync(); err != nil {
		return err
	}
	el = time.Since(start)
	fmt.Fprintf(out, "hardswish bf16 in place, %d elements: %.0f GB/s\n", elems, 20*4*float64(elems)/el.Seconds()/1e9)
	// Dropout hashes its mask instead of reading one: it should run at
	// the same bandwidth as the activation.
	start = time.Now()
	for i := range 20 {
		if err := kernels.DropoutForward(d, kernels.BF16, elems, x, x, 0.2, uint64(i)); err != nil {
			return err
		}
	}
	if err := d.Sync(); err != nil {
		return err
	}
	el = time.Since(start)
	fmt.Fprintf(out, "dropout bf16 in place, %d elements: %.0f GB/s\n", elems, 20*4*float64(elems)/el.Seconds()/1e9)
	return nil
}
