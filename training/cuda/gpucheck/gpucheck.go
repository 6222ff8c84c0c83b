// Package gpucheck is the training part of the GPU check
// (training/cuda/devicecheck): on a training.Device it
//
//   - trains a small network on synthetic images beside the CPU engine,
//     same seed and same batches, and compares the loss curves;
//   - writes the device-trained run's checkpoint and resumes it on the
//     CPU (Resume, which a test also runs on a checkpoint brought back
//     from a GPU machine);
//   - measures GENIUS-329's training throughput and peak device memory.
//
// It has no build tag: the cuda-tagged devicecheck only opens the GPU and
// calls Run, and the tests run the same code on the host emulator at small
// sizes.
package gpucheck

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training"
)

// Genius329 is the paper's GENIUS-329 in mobilenetv2-imagenet, the network
// whose throughput the check measures.
const Genius329 = "1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0"

// Options size the check. Defaults gives the GPU machine's sizes; tests
// shrink them.
type Options struct {
	// The convergence run: Steps on the device (and the CPU), then
	// ResumeSteps more of the same schedule on the CPU from the device's
	// checkpoint.
	Steps, ResumeSteps int
	Space, Arch        string
	Input, Batch       int
	Seed               uint64
	// TrainImages and TestImages size the synthetic dataset.
	TrainImages, TestImages int
	// Tolerance: the device's and the CPU's mean losses may differ by this
	// fraction of the CPU's starting loss, at every printed step.
	Tolerance float64
	// CPUWorkers for the CPU engine (0: every core).
	CPUWorkers int
	// Checkpoint is the file the device-trained run is written to.
	Checkpoint string

	// Throughput: BenchArch (mobilenetv2-imagenet) at each of BenchInputs,
	// BenchBatch images a step in micro-batches of BenchMicroBatch (0:
	// whole), BenchClasses outputs; BenchSteps timed steps after
	// BenchWarmup. Empty BenchInputs skips it.
	BenchArch                             string
	BenchInputs                           []int
	BenchBatch, BenchMicroBatch           int
	BenchClasses, BenchWarmup, BenchSteps int
	// BenchSyncWrites measures each size again with synchronous input
	// copies, for the gain of overlapping them with compute.
	BenchSyncWrites bool
}

// Defaults are the sizes the GPU machine runs.
func Defaults() Options {
	return Options{Steps: 300, ResumeSteps: 20, Space: space.NASBenchMacroName, Arch: "1,0,1,0,0,1,0,0", Input: 32, Batch: 64,
		Seed: 1, TrainImages: 6400, TestImages: 1000, Tolerance: 0.1, Checkpoint: "dist/gpucheck.ckpt",
		BenchArch: Genius329, BenchInputs: []int{224, 196}, BenchBatch: 256, BenchClasses: 1000, BenchWarmup: 3, BenchSteps: 10,
		BenchSyncWrites: true}
}

// AddFlags binds the options to flags, with Defaults' values.
func (o *Options) AddFlags(f *flag.FlagSet) {
	d := Defaults()
	f.IntVar(&o.Steps, "train-steps", d.Steps, "steps of the synthetic training on the device and on the CPU")
	f.IntVar(&o.ResumeSteps, "train-resume-steps", d.ResumeSteps, "further steps of the same schedule the CPU trains after resuming the device's checkpoint")
	f.StringVar(&o.Space, "train-space", d.Space, "search space of the synthetic training's network")
	f.StringVar(&o.Arch, "train-arch", d.Arch, "architecture of the synthetic training's network (comma-separated)")
	f.IntVar(&o.Input, "train-input", d.Input, "input size in pixels of the synthetic training")
	f.IntVar(&o.Batch, "train-batch", d.Batch, "batch size of the synthetic training")
	f.Uint64Var(&o.Seed, "train-seed", d.Seed, "seed of the synthetic data and of both runs")
	f.IntVar(&o.TrainImages, "train-images", d.TrainImages, "synthetic training images")
	f.IntVar(&o.TestImages, "test-images", d.TestImages, "synthetic test images")
	f.Float64Var(&o.Tolerance, "train-tolerance", d.Tolerance, "largest difference of the device's and the CPU's mean losses at the printed steps, as a fraction of the starting loss")
	f.IntVar(&o.CPUWorkers, "cpu-workers", d.CPUWorkers, "CPU engine workers (0: every core)")
	f.StringVar(&o.Checkpoint, "checkpoint", d.Checkpoint, "file the device-trained run's checkpoint is written to")
	f.StringVar(&o.BenchArch, "throughput-arch", d.BenchArch, "mobilenetv2-imagenet architecture whose training throughput is measured")
	o.BenchInputs = d.BenchInputs
	f.Var((*intList)(&o.BenchInputs), "throughput-inputs", "input sizes of the throughput measurement (comma-separated; empty: skip it)")
	f.IntVar(&o.BenchBatch, "throughput-batch", d.BenchBatch, "batch of the throughput measurement")
	f.IntVar(&o.BenchMicroBatch, "throughput-micro-batch", d.BenchMicroBatch, "micro-batch of the throughput measurement (0: the whole batch)")
	f.IntVar(&o.BenchClasses, "throughput-classes", d.BenchClasses, "classes of the throughput measurement's network")
	f.IntVar(&o.BenchWarmup, "throughput-warmup", d.BenchWarmup, "untimed steps before the throughput is measured")
	f.IntVar(&o.BenchSteps, "throughput-steps", d.BenchSteps, "timed steps of the throughput measurement")
	f.BoolVar(&o.BenchSyncWrites, "throughput-sync-writes", d.BenchSyncWrites, "also measure with synchronous input copies, for the gain of overlapping them with compute")
}

// intList is a flag of comma-separated integers.
type intList []int

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(s string) error {
	*l = nil
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		*l = append(*l, v)
	}
	return nil
}

func (o Options) validate() error {
	switch {
	case o.Steps < 2:
		return fmt.Errorf("gpucheck: %d training steps: need at least 2 to compare a start with an end", o.Steps)
	case o.ResumeSteps < 1:
		return fmt.Errorf("gpucheck: %d resume steps: the CPU needs at least 1 to show the resumed run trains", o.ResumeSteps)
	case o.Batch < 1 || o.TrainImages < o.Batch:
		return fmt.Errorf("gpucheck: %d training images for a batch of %d", o.TrainImages, o.Batch)
	case o.TestImages < 1:
		return fmt.Errorf("gpucheck: %d test images: need at least 1", o.TestImages)
	case o.Tolerance <= 0:
		return fmt.Errorf("gpucheck: tolerance %v must be positive", o.Tolerance)
	case o.Checkpoint == "":
		return fmt.Errorf("gpucheck: no checkpoint file given")
	case len(o.BenchInputs) > 0 && (o.BenchBatch < 1 || o.BenchSteps < 1 || o.BenchWarmup < 0 || o.BenchClasses < 1):
		return fmt.Errorf("gpucheck: throughput needs a batch, classes and timed steps (got batch %d, classes %d, %d steps, %d warm-up)",
			o.BenchBatch, o.BenchClasses, o.BenchSteps, o.BenchWarmup)
	}
	return nil
}

// Report is what Run measured.
type Report struct {
	Convergence Convergence
	// Checkpoint is the file the device-trained run was written to, and
	// Resume what the CPU made of it.
	Checkpoint string
	Resume     *ResumeReport
	Throughput []Throughput
}

// OK reports whether the device trained like the CPU and the CPU resumed
// its checkpoint.
func (r *Report) OK() bool {
	return r.Convergence.Converged && r.Resume != nil && r.Resume.OK()
}

// Run runs the check on dev and prints what it finds to out as it goes.
// An error means the check could not run (the device engine failed or
// is missing); a run that trains badly is a Report that is not OK.
func Run(ctx context.Context, dev *training.Device, o Options, out io.Writer) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	rep := &Report{}
	syn := Synthetic{Train: o.TrainImages, Test: o.TestImages, Seed: o.Seed}
	ds, err := syn.open()
	if err != nil {
		return rep, err
	}
	defer ds.Close()
	dr, err := converge(ctx, dev, o, ds, &rep.Convergence, out)
	if err != nil {
		return rep, err
	}
	err = writeCheckpoint(o.Checkpoint, dr, Meta{Device: dev.Name, DType: dev.DType.String(), Data: syn,
		EvalLoss: rep.Convergence.DeviceEval.Loss, EvalTop1: rep.Convergence.DeviceEval.Top1,
		FinalLoss: rep.Convergence.DeviceFinal})
	dr.Close() // its memory goes back before the throughput runs
	if err != nil {
		return rep, err
	}
	rep.Checkpoint = o.Checkpoint
	shown := o.Checkpoint
	if abs, err := filepath.Abs(shown); err == nil {
		shown = abs
	}
	fmt.Fprintf(out, "checkpoint of the device-trained run (step %d of %d): %s (and %s)\n", o.Steps, o.Steps+o.ResumeSteps,
		shown, filepath.Base(MetaPath(shown)))
	if rep.Resume, err = Resume(ctx, o.Checkpoint, ResumeOptions{CPUWorkers: o.CPUWorkers}, out); err != nil {
		return rep, err
	}
	for _, px := range o.BenchInputs {
		t, err := measure(ctx, dev, o, px, out)
		if err != nil {
			return rep, err
		}
		rep.Throughput = append(rep.Throughput, t)
	}
	return rep, nil
}

// deviceRun is training.NewDeviceRun, its error saying which run it was.
func deviceRun(dev *training.Device, cfg training.Config, classes, perEpoch int, what string) (*training.Run, error) {
	r, err := training.NewDeviceRun(dev, cfg, classes, perEpoch)
	if err != nil {
		return nil, fmt.Errorf("gpucheck: %s on %s: %w", what, dev.Name, err)
	}
	return r, nil
}
