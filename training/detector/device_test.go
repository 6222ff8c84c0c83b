//go:build cgo

package detector

import (
	"math"
	"testing"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/devnet"
	"github.com/genius-nas/genius/training/tensor"
)

// deviceSteps trains r for n steps from its position, as the loop does.
func deviceSteps(t *testing.T, r *Run, n int) []Losses {
	t.Helper()
	var ls []Losses
	for range n {
		if r.StepInEpoch >= r.StepsPerEpoch() {
			r.NextEpoch()
		}
		b, err := r.NextBatch()
		if err != nil {
			t.Fatal(err)
		}
		l, err := r.TrainStep(b)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return ls
}

func closeTo(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

// TestDeviceRunMatchesCPU trains the same detector on the CPU and on the
// host emulator of the GPU kernels (float32): the losses of every step
// and the weights after them agree, the device's checkpoint resumes on
// the CPU as the device run continues, and a bf16 run's losses stay
// close.
func TestDeviceRunMatchesCPU(t *testing.T) {
	train, _, cfg := tiny(t, 4, 1)
	// A backbone with few large depthwise kernels (whose filter gradient
	// the emulator computes slowly), small images: a second a step.
	cfg.Arch = devnet.DetectorCases[0].Arch
	cfg.MaxLong, cfg.MaxShort, cfg.Channels = 64, 48, 8
	cfg.LR = 0.5 // a few steps that move the weights without diverging
	cfg.ClipNorm = 10
	emu := hostemu.New()
	defer emu.Close()
	dev := &training.Device{Kernels: emu, DType: kernels.F32, Name: "hostemu"}
	cpu, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := NewDeviceRun(dev, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := gpu.Close(); err != nil {
			t.Error(err)
		}
	}()
	const steps = 3
	lc, lg := deviceSteps(t, cpu, steps), deviceSteps(t, gpu, steps)
	for i := range lc {
		t.Logf("step %d: cpu %+v, device %+v", i+1, lc[i], lg[i])
		if !closeTo(lc[i].Cls, lg[i].Cls, 1e-3) || !closeTo(lc[i].Box, lg[i].Box, 1e-3) {
			t.Errorf("step %d: losses %+v on the CPU, %+v on the device", i+1, lc[i], lg[i])
		}
	}
	if i := len(lc) - 1; lc[i].Total() == lc[0].Total() {
		t.Errorf("the loss did not move in %d steps: the weights are not being updated", steps)
	}
	ck, err := gpu.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	worst, name := 0.0, ""
	for i, p := range cpu.Net.Params() {
		q := gpu.Net.Params()[i]
		var scale float64
		for _, v := range p.W {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for j := range p.W {
			if d := math.Abs(float64(p.W[j]-q.W[j])) / (1e-3*scale + 1e-6); d > worst {
				worst, name = d, p.Name
			}
		}
	}
	if worst > 1 {
		t.Errorf("weights after %d steps: %s differs by %.2f of the tolerance", steps, name, worst)
	}

	// The device's checkpoint resumes on the CPU.
	resumed, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Restore(ck, true); err != nil {
		t.Fatal(err)
	}
	lr, lg2 := deviceSteps(t, resumed, 1), deviceSteps(t, gpu, 1)
	if !closeTo(lr[0].Total(), lg2[0].Total(), 1e-3) {
		t.Errorf("step %d: %v on the CPU from the device's checkpoint, %v on the device", steps+1, lr[0].Total(), lg2[0].Total())
	}

	// bf16: the same run's losses within a few percent.
	dev.DType = kernels.BF16
	half, err := NewDeviceRun(dev, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	for i, l := range deviceSteps(t, half, steps) {
		if !closeTo(l.Total(), lc[i].Total(), 0.05) {
			t.Errorf("bf16 step %d: loss %v, float32 CPU %v", i+1, l.Total(), lc[i].Total())
		}
	}
}
