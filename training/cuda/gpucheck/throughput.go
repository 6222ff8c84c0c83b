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
	// UploadMS and WaitMS split a timed step's host time: encoding and
	// queuing the inputs, and blocking on the device for the loss. A wait
	// near zero means the GPU waits for the host.
	UploadMS, WaitMS float64
	// SyncImagesPerS is the throughput with synchronous input copies
	// (training.Device.SyncWrites), 0 when not measured; ImagesPerS over
	// it is what overlapping copies with compute gains.
	SyncImagesPerS float64
	// PeakBytes is the most device memory allocated at once while the run
	// was built and trained, BaseBytes what was allocated before it; both
	// 0 when the device does not count its memory (kernels.PeakMeter).
	PeakBytes, BaseBytes int64
}

// measure trains o.BenchArch at px pixels on a fixed random batch:
// o.BenchWarmup untimed steps, then o.BenchSteps timed ones, and the same
// again with synchronous copies when o.BenchSyncWrites. The batch goes
// from host memory to the device every step, as in training (the PyTorch
// reference in devicecheck.sh keeps its batch on the GPU).
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
	g := rand.New(rand.NewPCG(o.Seed, uint64(px)))
	x := tensor.New(3, o.BenchBatch, px, px)
	for i := range x.Data {
		x.Data[i] = float32(g.NormFloat64())
	}
	labels := make([]int, o.BenchBatch)
	for i := range labels {
		labels[i] = g.IntN(o.BenchClasses)
	}
	what := fmt.Sprintf("throughput of %s at %d px, batch %d", t.Arch, px, o.BenchBatch)
	times, err := timeSteps(ctx, dev, o, cfg, x, labels, what, &t.ImagesPerS)
	if err != nil {
		return t, err
	}
	if meter != nil {
		t.PeakBytes = meter.PeakBytes()
	}
	steps := float64(o.BenchSteps)
	t.UploadMS = float64(times.Upload) / float64(time.Millisecond) / steps
	t.WaitMS = float64(times.Wait) / float64(time.Millisecond) / steps
	if o.BenchSyncWrites {
		sd := *dev
		sd.SyncWrites = true
		if _, err := timeSteps(ctx, &sd, o, cfg, x, labels, what+" with synchronous copies", &t.SyncImagesPerS); err != nil {
			return t, err
		}
	}
	fmt.Fprintln(out, t)
	return t, nil
}

// timeSteps builds a run of cfg on dev, trains o.BenchWarmup steps on x,
// then o.BenchSteps timed ones, and sets *imagesPerS. It returns the host
// time the timed steps spent uploading and waiting.
func timeSteps(ctx context.Context, dev *training.Device, o Options, cfg training.Config, x *tensor.Tensor, labels []int, what string, imagesPerS *float64) (training.DeviceTimes, error) {
	r, err := deviceRun(dev, cfg, o.BenchClasses, o.BenchWarmup+o.BenchSteps, what)
	if err != nil {
		return training.DeviceTimes{}, err
	}
	defer r.Close()
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
			return training.DeviceTimes{}, err
		}
	}
	before := r.DeviceTimes()
	start := time.Now()
	for range o.BenchSteps {
		if err := step(); err != nil {
			return training.DeviceTimes{}, err
		}
	}
	// TrainStep returns the step's loss, so the device has finished it.
	*imagesPerS = float64(o.BenchBatch*o.BenchSteps) / time.Since(start).Seconds()
	after := r.DeviceTimes()
	return training.DeviceTimes{Upload: after.Upload - before.Upload, Wait: after.Wait - before.Wait}, nil
}

// String is the line the check prints; devicecheck.sh reads its input=
// and images/s= fields (so no other field ends in images/s=).
func (t Throughput) String() string {
	mem := "peak memory not tracked by this device"
	if t.PeakBytes > 0 {
		mem = fmt.Sprintf("peak_bytes=%d (%.2f GiB; %.2f GiB allocated before)", t.PeakBytes, float64(t.PeakBytes)/(1<<30),
			float64(t.BaseBytes)/(1<<30))
	}
	split := fmt.Sprintf("upload_ms/step=%.2f wait_ms/step=%.2f", t.UploadMS, t.WaitMS)
	if t.SyncImagesPerS > 0 {
		split += fmt.Sprintf(" with_sync_copies=%.1f/s (overlap gains x%.2f)", t.SyncImagesPerS, t.ImagesPerS/t.SyncImagesPerS)
	}
	return fmt.Sprintf("throughput %s input=%d batch=%d micro=%d dtype=%s images/s=%.1f %s %s",
		t.Arch, t.Input, t.Batch, t.MicroBatch, t.DType, t.ImagesPerS, split, mem)
}
