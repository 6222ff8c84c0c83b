package gpucheck

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/tensor"
)

// Throughput is one training-throughput measurement on the device.
type Throughput struct {
	Arch                     string
	Input, Batch, MicroBatch int
	DType                    string
	ImagesPerS               float64
	// PeakBytes is the most device memory allocated at once while the run
	// was built and trained, BaseBytes what was allocated before it; both
	// 0 when the device does not count its memory (kernels.PeakMeter).
	PeakBytes, BaseBytes int64
}

// measure trains o.BenchArch at px pixels on a fixed random batch:
// o.BenchWarmup untimed steps, then o.BenchSteps timed ones. The batch
// goes from host memory to the device every step, as in training (the
// PyTorch reference in devicecheck.sh keeps its batch on the GPU).
func measure(ctx context.Context, dev *training.Device, o Options, px int, out io.Writer) (Throughput, error) {
	t := Throughput{Arch: o.BenchArch, Input: px, Batch: o.BenchBatch, MicroBatch: o.BenchMicroBatch, DType: dev.DType.String()}
	if t.Arch == Genius329 {
		t.Arch = "GENIUS-329"
	}
	arch, err := space.ParseList(o.BenchArch)
	if err != nil {
		return t, fmt.Errorf("gpucheck: -throughput-arch: %w", err)
	}
	cfg := training.Config{Space: space.ImageNetName, Arch: arch, Classes: o.BenchClasses, Input: px, Recipe: recipe.Recipe{Batch: o.BenchBatch,
		MicroBatch: o.BenchMicroBatch, LR: 0.05, WeightDecay: 4e-5, Dropout: 0.2, Seed: o.Seed}}
	meter, _ := dev.Kernels.(kernels.PeakMeter)
	if meter != nil {
		meter.ResetPeak()
		t.BaseBytes = meter.PeakBytes()
	}
	what := fmt.Sprintf("throughput of %s at %d px, batch %d", t.Arch, px, o.BenchBatch)
	r, err := deviceRun(dev, cfg, o.BenchClasses, o.BenchWarmup+o.BenchSteps, what)
	if err != nil {
		return t, err
	}
	defer r.Close()
	g := rand.New(rand.NewPCG(o.Seed, uint64(px)))
	x := tensor.New(3, o.BenchBatch, px, px)
	for i := range x.Data {
		x.Data[i] = float32(g.NormFloat64())
	}
	labels := make([]int, o.BenchBatch)
	for i := range labels {
		labels[i] = g.IntN(o.BenchClasses)
	}
	step := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := r.TrainStep(x, labels); err != nil {
			return fmt.Errorf("gpucheck: %s: step %d: %w", what, r.Step+1, err)
		}
		return nil
	}
	for range o.BenchWarmup {
		if err := step(); err != nil {
			return t, err
		}
	}
	start := time.Now()
	for range o.BenchSteps {
		if err := step(); err != nil {
			return t, err
		}
	}
	// TrainStep returns the step's loss, so the device has finished it.
	t.ImagesPerS = float64(o.BenchBatch*o.BenchSteps) / time.Since(start).Seconds()
	if meter != nil {
		t.PeakBytes = meter.PeakBytes()
	}
	fmt.Fprintln(out, t)
	return t, nil
}

// String is the line the check prints; devicecheck.sh reads its input=
// and images/s= fields.
func (t Throughput) String() string {
	mem := "peak memory not tracked by this device"
	if t.PeakBytes > 0 {
		mem = fmt.Sprintf("peak_bytes=%d (%.2f GiB; %.2f GiB allocated before)", t.PeakBytes, float64(t.PeakBytes)/(1<<30),
			float64(t.BaseBytes)/(1<<30))
	}
	return fmt.Sprintf("throughput %s input=%d batch=%d micro=%d dtype=%s images/s=%.1f %s",
		t.Arch, t.Input, t.Batch, t.MicroBatch, t.DType, t.ImagesPerS, mem)
}
