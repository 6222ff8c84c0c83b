//go:build cgo

package training

import (
	"context"

	"math"
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// deviceCase is a small NAS-Bench-201 network (devnet's tests compare
// every space's layers; this one is about the run around them) with every
// optimiser feature on: micro-batches, Nesterov momentum, weight decay,
// clipping, label smoothing and an EMA.
func deviceCase() Config {
	c := smallConfig()
	c.Batch, c.MicroBatch, c.LR, c.Nesterov, c.WeightDecay, c.ClipNorm = 16, 8, 0.05, true, 1e-3, 0.5
	c.LabelSmoothing, c.EMADecay, c.Steps, c.Classes = 0.1, 0.9, 3, 4
	return c
}

func randomBatch(r *rand.Rand, cfg Config) (*tensor.Tensor, []int) {
	x := tensor.New(3, cfg.Batch, cfg.Input, cfg.Input)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := make([]int, cfg.Batch)
	for i := range labels {
		labels[i] = r.IntN(cfg.Classes)
	}
	return x, labels
}

// closeTo reports whether got is within tol of want, relative to the
// tensor's largest magnitude or 0.1, whichever is larger: biases start at
// zero, and a few steps leave them too small to measure rounding against.
func closeTo(got, want []float32, tol float64) (float64, bool) {
	var scale, worst float64
	scale = 0.1
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	return worst / scale, worst <= tol*scale
}

func compareCheckpoints(t *testing.T, what string, got, want *checkpoint.Checkpoint, tol float64) {
	t.Helper()
	if len(got.Values) != len(want.Values) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got.Values), len(want.Values))
	}
	bad := 0
	for i, ti := range want.Header.Tensors {
		g, ok := got.Lookup(ti.Name)
		if !ok {
			t.Errorf("%s: no tensor %s", what, ti.Name)
			continue
		}
		if rel, ok := closeTo(g, want.Values[i], tol); !ok {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s differs by %.2g of its scale (tolerance %.2g)", what, ti.Name, rel, tol)
			}
		}
	}
	if got.Header.Step != want.Header.Step {
		t.Errorf("%s: step %d, want %d", what, got.Header.Step, want.Header.Step)
	}
}

func newEmulated(t *testing.T, dt kernels.DType) *Device {
	d := hostemu.New()
	t.Cleanup(d.Close)
	return &Device{Kernels: d, DType: dt, Name: "hostemu-" + dt.String()}
}

// runPair builds the same run of cfg on the CPU (one worker, no replicas)
// and on the emulated device.
func runPair(t *testing.T, cfg Config, dt kernels.DType) (cpu, dev *Run) {
	t.Helper()
	cpu, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), withReplicas(cfg, 1), cfg.Classes, cfg.Steps)
	if err != nil {
		t.Fatal(err)
	}
	dev, err = NewDeviceRun(newEmulated(t, dt), cfg, cfg.Classes, cfg.Steps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Close() })
	return cpu, dev
}

// stepBoth takes cfg.Steps steps of random batches on both runs and fails
// where their losses differ by more than tol (relative to 1 + |loss|).
func stepBoth(t *testing.T, cfg Config, r *rand.Rand, cpu, dev *Run, tol float64) {
	t.Helper()
	for step := 0; step < cfg.Steps; step++ {
		x, labels := randomBatch(r, cfg)
		want, err := cpu.TrainStep(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dev.TrainStep(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > tol*(1+math.Abs(want)) {
			t.Errorf("step %d: loss %.6f on the device (%s), %.6f on the CPU", step, got, dev.BackendName(), want)
		}
	}
}

// A run on the device (the host emulator of the GPU kernels) takes the
// same steps as the CPU run in float32: losses, weights, velocity, EMA and
// evaluation agree, and either backend resumes the other's checkpoint.
func TestDeviceRunMatchesCPU(t *testing.T) {
	for _, cfg := range []Config{deviceCase()} {
		t.Run(cfg.Space, func(t *testing.T) {
			cpu, dev := runPair(t, cfg, kernels.F32)
			r := rand.New(rand.NewPCG(1, 2))
			stepBoth(t, cfg, r, cpu, dev, 1e-3)
			wantC, err := cpu.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			gotC, err := dev.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			compareCheckpoints(t, "after training", gotC, wantC, 2e-3)

			ds := quadrants{n: 8, seed: 9}
			loader := func() *data.Loader {
				return &data.Loader{Data: ds, Batch: 4, Transform: data.Transform{Size: cfg.Input, CropFraction: 1}, Workers: 1}
			}
			wantM, err := cpu.Evaluate(context.Background(), loader())
			if err != nil {
				t.Fatal(err)
			}
			gotM, err := dev.Evaluate(context.Background(), loader())
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(gotM.Loss-wantM.Loss) > 1e-3*(1+wantM.Loss) || gotM.Samples != wantM.Samples {
				t.Errorf("evaluation on the device %+v, on the CPU %+v", gotM, wantM)
			}

			// Cross-backend resume: the device's checkpoint and the CPU's
			// each continue on both backends, one more step, to the same
			// weights.
			cfg2 := cfg
			cfg2.Steps++
			x, labels := randomBatch(r, cfg)
			for _, ck := range []struct {
				from string
				c    *checkpoint.Checkpoint
			}{{"device", gotC}, {"CPU", wantC}} {
				cpu2, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), withReplicas(cfg2, 1), cfg.Classes, cfg.Steps)
				if err != nil {
					t.Fatal(err)
				}
				dev2, err := NewDeviceRun(newEmulated(t, kernels.F32), cfg2, cfg.Classes, cfg.Steps)
				if err != nil {
					t.Fatal(err)
				}
				defer dev2.Close()
				for _, run := range []*Run{cpu2, dev2} {
					if err := run.Restore(ck.c, true); err != nil {
						t.Fatal(err)
					}
					if _, err := run.TrainStep(x, labels); err != nil {
						t.Fatal(err)
					}
				}
				a, err := cpu2.Checkpoint()
				if err != nil {
					t.Fatal(err)
				}
				b, err := dev2.Checkpoint()
				if err != nil {
					t.Fatal(err)
				}
				compareCheckpoints(t, "resumed from the "+ck.from+"'s checkpoint", b, a, 2e-3)
			}
		})
	}
}

// In bf16 the device's losses stay close to the CPU's float32 ones.
func TestDeviceRunBF16(t *testing.T) {
	cfg := deviceCase()
	cpu, dev := runPair(t, cfg, kernels.BF16)
	stepBoth(t, cfg, rand.New(rand.NewPCG(3, 4)), cpu, dev, 0.03)
}

// Train on a device learns the separable task as on the CPU and reports
// the device as its backend.
func TestTrainOnDevice(t *testing.T) {
	cfg := smallConfig()
	dev := newEmulated(t, kernels.F32)
	res, err := Train(context.Background(), cfg, quadrants{n: 256, seed: 1}, quadrants{n: 64, seed: 2}, Options{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device: top-1 %.3f loss %.3f after %d steps", res.Top1, res.Loss, res.Steps)
	if res.Backend != dev.Name {
		t.Errorf("backend %q, want %q", res.Backend, dev.Name)
	}
	if res.DevicePeakB <= 0 {
		t.Errorf("device peak memory %d, want the emulator's high-water mark", res.DevicePeakB)
	}
	if res.Top1 < 0.9 {
		t.Errorf("top-1 %.3f on a separable task, want >= 0.9", res.Top1)
	}
}

func withReplicas(c Config, n int) Config {
	c.Replicas = n
	return c
}
