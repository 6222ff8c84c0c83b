package training

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// Options are Train's connections to its caller. Zero values are fine.
type Options struct {
	// Backend runs the kernels. Default tensor.NewCPU with every core.
	Backend tensor.Backend
	// Device, when set, trains on it instead (NewDeviceRun); Backend then
	// only decodes and prepares batches.
	Device *Device
	// Progress, when set, is called after every step.
	Progress func(Progress)
	// Save, when set, receives a checkpoint every CheckpointEvery steps
	// (0: only at the end). The checkpoint shares memory with the run:
	// write it out before returning.
	Save            func(ctx context.Context, c *checkpoint.Checkpoint) error
	CheckpointEvery int
	// Resume continues from this checkpoint (same config and data).
	Resume *checkpoint.Checkpoint
	// LoaderWorkers decode images in parallel. Default 2.
	LoaderWorkers int
	// MemoryLimit, when > 0, is the memory in bytes training may use;
	// default the process's limit (GOMEMLIMIT). A batch whose estimated
	// need exceeds it fails before training with a *MemoryError naming a
	// micro-batch that fits.
	MemoryLimit int64
}

// Progress is reported after each step.
type Progress struct {
	Epoch, Step, TotalSteps int
	Loss                    float64 // this step's training loss
	ImagesPerS              float64 // training throughput so far
	Elapsed                 time.Duration
	// PeakMemoryB is the process's peak resident memory so far (PeakRSS).
	PeakMemoryB int64
	// DevicePeakB is the device's peak memory so far (0 on the CPU).
	DevicePeakB int64
}

// Result is what a training run measured.
type Result struct {
	Metrics            // on the validation data (zero without it)
	TrainLoss  float64 // mean over the last epoch's steps, resumed ones included
	ImagesPerS float64 // training images per second (evaluation excluded)
	ParamsM    float64
	Steps      int
	Epochs     int
	// PeakMemoryB is the process's peak resident memory (VmHWM).
	PeakMemoryB int64
	// DevicePeakB is the device's peak memory (0 on the CPU).
	DevicePeakB int64
	Backend     string
}

// Train trains cfg's network on train and evaluates it on val (when not
// nil) at the end.
func Train(ctx context.Context, cfg Config, train, val data.Dataset, o Options) (Result, error) {
	cfg = cfg.withDefaults()
	be := o.Backend
	if be == nil {
		be = tensor.NewCPU(tensor.CPUOptions{})
	}
	if train.Len() < cfg.Batch {
		return Result{}, settingError("Batch", "%d training images are fewer than one batch of %d", train.Len(), cfg.Batch)
	}
	loader := NewLoader(cfg, train, o.LoaderWorkers)
	perEpoch := loader.Batches()
	var run *Run
	var err error
	if o.Device != nil {
		run, err = NewDeviceRun(o.Device, cfg, train.Classes(), perEpoch)
	} else {
		run, err = newRun(be, cfg, train.Classes(), perEpoch, o.MemoryLimit)
	}
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = run.Close() }()
	if o.Resume != nil {
		if err := run.Restore(o.Resume, true); err != nil {
			return Result{}, err
		}
	}
	total := run.Sched.TotalSteps
	res := Result{ParamsM: float64(run.Net.NumParams()) / 1e6, Backend: run.BackendName()}
	loop := Loop{Progress: o.Progress}
	if o.Save != nil {
		loop.Save = func(ctx context.Context, c *checkpoint.Checkpoint) error {
			if err := o.Save(ctx, c); err != nil {
				return fmt.Errorf("training: saving checkpoint at step %d: %w", c.Header.Step, err)
			}
			return nil
		}
		if every := o.CheckpointEvery; every > 0 {
			loop.SaveNow = func(p Position, epochEnd bool) bool { return !epochEnd && p.Step%every == 0 && p.Step < total }
		}
	}
	done, err := loop.Run(ctx, &Classifier{Run: run, Loader: loader})
	if err != nil {
		return res, err
	}
	res.ImagesPerS = done.ImagesPerS()
	res.TrainLoss = run.Sums.MeanLoss()
	res.Steps, res.Epochs = run.Step, run.Epoch
	if o.Save != nil {
		c, err := run.Checkpoint()
		if err == nil {
			err = o.Save(ctx, c)
		}
		if err != nil {
			return res, fmt.Errorf("training: saving the final checkpoint: %w", err)
		}
	}
	if val != nil && val.Len() > 0 {
		vl := &data.Loader{Data: val, Batch: cfg.Micro(), Transform: data.Transform{Size: cfg.Input, CropFraction: cfg.CropFraction}, Seed: cfg.Seed, Workers: o.LoaderWorkers}
		m, err := run.Evaluate(ctx, vl)
		if err != nil {
			return res, err
		}
		res.Metrics = m
	}
	res.PeakMemoryB = PeakRSS()
	res.DevicePeakB = run.DevicePeakBytes()
	return res, nil
}

// PeakRSS is the process's peak resident set size in bytes (VmHWM from
// /proc/self/status), or 0 where that is not available.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
