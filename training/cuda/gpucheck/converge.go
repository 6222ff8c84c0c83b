package gpucheck

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// Synthetic is the check's dataset: data.SyntheticCIFAR in the cifar10
// format (10 classes, 32x32), the same images for the same sizes and seed.
type Synthetic struct {
	Train int    `json:"train"`
	Test  int    `json:"test"`
	Seed  uint64 `json:"seed"`
}

// datasets are a Synthetic written out and opened; Close removes them.
type datasets struct {
	dir         string
	train, test data.Dataset
}

func (s Synthetic) open() (*datasets, error) {
	dir, err := os.MkdirTemp("", "gpucheck-data-")
	if err != nil {
		return nil, fmt.Errorf("gpucheck: %w", err)
	}
	d := &datasets{dir: dir}
	if _, err := (data.SyntheticCIFAR{Format: "cifar10", Train: s.Train, Test: s.Test, Seed: s.Seed}).Write(dir); err != nil {
		d.Close()
		return nil, fmt.Errorf("gpucheck: synthetic data: %w", err)
	}
	for _, split := range []struct {
		ds    *data.Dataset
		train bool
	}{{&d.train, true}, {&d.test, false}} {
		c, err := data.OpenCIFAR(dir, "cifar10", split.train)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("gpucheck: synthetic data: %w", err)
		}
		*split.ds = c
	}
	return d, nil
}

func (d *datasets) Close() error { return os.RemoveAll(d.dir) }

// TrainConfig is the synthetic training's configuration: Steps+ResumeSteps
// in the schedule, of which the device trains Steps.
func (o Options) TrainConfig() (training.Config, error) {
	arch, err := space.ParseList(o.Arch)
	if err != nil {
		return training.Config{}, fmt.Errorf("gpucheck: -train-arch: %w", err)
	}
	return training.Config{Space: o.Space, Arch: arch, Input: o.Input, Recipe: recipe.Recipe{Batch: o.Batch, Steps: o.Steps + o.ResumeSteps,
		LR: 0.05, Nesterov: true, WeightDecay: 5e-4, LabelSmoothing: 0.1, Dropout: 0.2, NoAugment: true, CropFraction: 1, Seed: o.Seed}}, nil
}

// Convergence compares the device's synthetic training with the CPU's.
type Convergence struct {
	Config training.Config
	// CPU and Device are each step's training loss.
	CPU, Device []float64
	// CPUTime and DeviceTime are the time spent in training steps.
	CPUTime, DeviceTime time.Duration
	// Window is the number of steps averaged for a final loss or a point
	// of the curve. A start is the first step's loss: the same weights on
	// the same batch.
	Window                                       int
	CPUStart, CPUFinal, DeviceStart, DeviceFinal float64
	// Evaluations on the test images after the last step.
	CPUEval, DeviceEval training.Metrics
	// Converged: both final losses are below half their start, and at
	// every printed step (curvePoints) the device's mean loss is within
	// Tolerance times the CPU's start of the CPU's, MaxDiff at worst (at
	// MaxDiffStep). Why says what failed otherwise.
	Converged   bool
	Tolerance   float64
	MaxDiff     float64
	MaxDiffStep int
	Why         string
}

// window is the number of steps averaged for a start or final loss.
func window(steps int) int { return max(1, steps/20) }

// curvePoints are the steps at which the loss curves are printed.
func curvePoints(steps int) []int {
	pts := []int{1}
	for _, f := range []float64{0.1, 0.25, 0.5, 0.75, 1} {
		if s := int(math.Round(f * float64(steps))); s > pts[len(pts)-1] {
			pts = append(pts, s)
		}
	}
	return pts
}

// meanTo is the mean of the up to w losses ending at step (1-based).
func meanTo(losses []float64, step, w int) float64 {
	lo := max(0, step-w)
	var s float64
	for _, l := range losses[lo:step] {
		s += l
	}
	return s / float64(step-lo)
}

// judge fills in the start and final losses and the verdict.
func (c *Convergence) judge(tol float64) {
	n := min(len(c.CPU), len(c.Device))
	c.Tolerance, c.Window = tol, window(n)
	c.Converged, c.Why = false, ""
	if n < 2 {
		c.Why = "fewer than 2 steps"
		return
	}
	c.CPUStart, c.DeviceStart = c.CPU[0], c.Device[0]
	c.CPUFinal, c.DeviceFinal = meanTo(c.CPU, n, c.Window), meanTo(c.Device, n, c.Window)
	for _, l := range slices.Concat(c.CPU[:n], c.Device[:n]) {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			c.Why = fmt.Sprintf("a loss is %v", l)
			return
		}
	}
	c.MaxDiff, c.MaxDiffStep = 0, 0
	for _, p := range curvePoints(n) {
		w := min(p, c.Window)
		if d := math.Abs(meanTo(c.Device, p, w) - meanTo(c.CPU, p, w)); d > c.MaxDiff || c.MaxDiffStep == 0 {
			c.MaxDiff, c.MaxDiffStep = d, p
		}
	}
	switch {
	case !(c.DeviceFinal < c.DeviceStart/2):
		c.Why = fmt.Sprintf("the device's loss went from %.4f to %.4f, not below half", c.DeviceStart, c.DeviceFinal)
	case !(c.CPUFinal < c.CPUStart/2):
		c.Why = fmt.Sprintf("the CPU's loss went from %.4f to %.4f, not below half: the run is too short to judge", c.CPUStart, c.CPUFinal)
	case !(c.MaxDiff <= tol*c.CPUStart):
		c.Why = fmt.Sprintf("at step %d the losses differ by %.4f, more than %.4f (%.0f%% of the CPU's starting %.4f)",
			c.MaxDiffStep, c.MaxDiff, tol*c.CPUStart, 100*tol, c.CPUStart)
	default:
		c.Converged = true
	}
}

// converge trains the synthetic network on the CPU and on dev in step,
// batch by batch, and returns the device's run (at step o.Steps).
func converge(ctx context.Context, dev *training.Device, o Options, ds *datasets, c *Convergence, out io.Writer) (*training.Run, error) {
	cfg, err := o.TrainConfig()
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	classes := ds.train.Classes()
	perEpoch := training.NewLoader(cfg, ds.train, 0).Batches()
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: o.CPUWorkers})
	cr, err := training.NewRun(cpu, cfg, classes, perEpoch)
	if err != nil {
		return nil, fmt.Errorf("gpucheck: synthetic training on the CPU: %w", err)
	}
	dr, err := deviceRun(dev, cfg, classes, perEpoch, "synthetic training")
	if err != nil {
		return nil, err
	}
	if err := compare(ctx, o, cfg, ds, cr, dr, fmt.Sprintf("%s (%s)", dev.Name, dev.DType), c, out); err != nil {
		dr.Close()
		return nil, err
	}
	return dr, nil
}

// compare trains cr (on the CPU) and dr (on the device) in step, batch by
// batch, to o.Steps, evaluates both and judges the device's curve.
func compare(ctx context.Context, o Options, cfg training.Config, ds *datasets, cr, dr *training.Run, device string,
	c *Convergence, out io.Writer) error {
	loader := training.NewLoader(cfg, ds.train, 0)
	perEpoch := loader.Batches()
	fmt.Fprintf(out, "synthetic training: %s %s at %d px, batch %d, %d steps of a %d-step schedule, seed %d, %d classes\n",
		cfg.Space, o.Arch, cfg.Input, cfg.Batch, o.Steps, cfg.Steps, cfg.Seed, ds.train.Classes())
	fmt.Fprintf(out, "  device %s against the CPU engine, the same batches; mean loss over the %d steps up to each:\n",
		device, window(o.Steps))
	points := curvePoints(o.Steps)
	for dr.Step < o.Steps {
		ep := loader.Start(ctx, dr.Epoch, dr.StepInEpoch)
		for dr.Step < o.Steps {
			if err := ctx.Err(); err != nil {
				ep.Close()
				return err
			}
			b, err := ep.Next()
			if err != nil {
				ep.Close()
				return fmt.Errorf("gpucheck: synthetic data: %w", err)
			}
			if b == nil {
				break
			}
			t := time.Now()
			lc, err := cr.TrainStep(b.X, b.Labels)
			if err != nil {
				ep.Close()
				return fmt.Errorf("gpucheck: CPU step %d: %w", cr.Step+1, err)
			}
			c.CPUTime += time.Since(t)
			t = time.Now()
			ld, err := dr.TrainStep(b.X, b.Labels)
			if err != nil {
				ep.Close()
				return fmt.Errorf("gpucheck: device step %d: %w", dr.Step+1, err)
			}
			c.DeviceTime += time.Since(t)
			c.CPU, c.Device = append(c.CPU, lc), append(c.Device, ld)
			if s := len(c.CPU); slices.Contains(points, s) {
				w := min(s, window(o.Steps))
				cl, dl := meanTo(c.CPU, s, w), meanTo(c.Device, s, w)
				fmt.Fprintf(out, "  step %5d  cpu %.4f  device %.4f  diff %+.4f\n", s, cl, dl, dl-cl)
			}
		}
		ep.Close()
		// Epochs advance as training.Train advances them, so that the
		// checkpoint's position resumes in the right place.
		for _, r := range []*training.Run{cr, dr} {
			if r.StepInEpoch >= perEpoch {
				r.Epoch++
				r.StepInEpoch = 0
			}
		}
	}
	fmt.Fprintf(out, "  time in training steps: CPU %.1f s, device %.1f s\n", c.CPUTime.Seconds(), c.DeviceTime.Seconds())
	var err error
	if c.CPUEval, err = cr.Evaluate(ctx, evalLoader(cfg, ds.test)); err != nil {
		return fmt.Errorf("gpucheck: evaluating the CPU run: %w", err)
	}
	if c.DeviceEval, err = dr.Evaluate(ctx, evalLoader(cfg, ds.test)); err != nil {
		return fmt.Errorf("gpucheck: evaluating the device run: %w", err)
	}
	fmt.Fprintf(out, "  test images: CPU loss %.4f top-1 %.3f, device loss %.4f top-1 %.3f\n",
		c.CPUEval.Loss, c.CPUEval.Top1, c.DeviceEval.Loss, c.DeviceEval.Top1)
	c.judge(o.Tolerance)
	if c.Converged {
		fmt.Fprintf(out, "  converges like the CPU: yes (final %.4f on the device, %.4f on the CPU, from %.4f; largest difference %.4f at step %d, tolerance %.4f = %.0f%% of the start)\n",
			c.DeviceFinal, c.CPUFinal, c.CPUStart, c.MaxDiff, c.MaxDiffStep, o.Tolerance*c.CPUStart, 100*o.Tolerance)
	} else {
		fmt.Fprintf(out, "  converges like the CPU: NO: %s\n", c.Why)
	}
	return nil
}

// evalLoader is training.Train's evaluation loader for cfg.
func evalLoader(cfg training.Config, ds data.Dataset) *data.Loader {
	return &data.Loader{Data: ds, Batch: cfg.Micro(), Transform: data.Transform{Size: cfg.Input, CropFraction: cfg.CropFraction}, Seed: cfg.Seed}
}
