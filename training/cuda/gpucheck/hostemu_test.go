//go:build cgo

package gpucheck

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/tensor"
)

// TestRunOnHostEmulator runs the whole check, as devicecheck does on a GPU,
// on the host emulator in float32 at tiny sizes.
func TestRunOnHostEmulator(t *testing.T) {
	d := hostemu.New()
	defer d.Close()
	dev := &training.Device{Kernels: d, DType: kernels.F32, Name: "hostemu"}
	o := Defaults()
	o.Steps, o.ResumeSteps, o.Batch, o.Input, o.TrainImages, o.TestImages, o.CPUWorkers = 6, 2, 4, 16, 32, 8, 1
	o.BenchInputs, o.BenchBatch, o.BenchClasses, o.BenchWarmup, o.BenchSteps = []int{32}, 4, 10, 0, 1
	// The synchronous copies' run would double the emulator's slowest
	// part; training's tests compare the two paths.
	o.BenchSyncWrites = false
	o.Checkpoint = filepath.Join(t.TempDir(), "hostemu.ckpt")
	cfg, err := o.TrainConfig()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := Run(context.Background(), dev, o, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Convergence
	if len(c.CPU) != o.Steps || len(c.Device) != o.Steps {
		t.Fatalf("%d CPU and %d device losses, want %d", len(c.CPU), len(c.Device), o.Steps)
	}
	// Same weights, same batch, float32: the first step's losses agree to
	// the order of sums, and the few steps after stay close.
	for i := range c.CPU {
		tol := 1e-2
		if i == 0 {
			tol = 1e-4
		}
		if d := math.Abs(c.Device[i] - c.CPU[i]); !(d <= tol*c.CPU[i]) {
			t.Errorf("step %d: device loss %v, CPU %v: differ by more than %g of it", i+1, c.Device[i], c.CPU[i], tol)
		}
	}
	if d := math.Abs(c.DeviceEval.Loss - c.CPUEval.Loss); !(d <= 1e-2*c.CPUEval.Loss) {
		t.Errorf("test loss: device %v, CPU %v", c.DeviceEval.Loss, c.CPUEval.Loss)
	}
	ck, err := readCheckpoint(rep.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Header.Step != o.Steps || ck.Header.Space != cfg.Space {
		t.Errorf("checkpoint at step %d of %s, want %d of %s", ck.Header.Step, ck.Header.Space, o.Steps, cfg.Space)
	}
	if r := rep.Resume; r == nil || !r.Matches || len(r.Losses) != o.ResumeSteps {
		t.Errorf("resume on the CPU: %+v", r)
	}
	if len(rep.Throughput) != 1 {
		t.Fatalf("%d throughput measurements, want 1", len(rep.Throughput))
	}
	tp := rep.Throughput[0]
	net, err := networks.Build(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), space.ImageNetName, mustArch(t, Genius329), networks.Options{Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Weights, gradients and velocity are float32 on the device at least.
	if least := 12 * int64(net.NumParams()); !(tp.ImagesPerS > 0) || tp.PeakBytes-tp.BaseBytes < least {
		t.Errorf("throughput %+v: want images/s > 0 and a peak at least %d bytes above the base", tp, least)
	}
	if !(tp.UploadMS > 0) || !(tp.WaitMS > 0) {
		t.Errorf("throughput %+v: want the host's upload and wait times", tp)
	}
	for _, want := range []string{"converges like the CPU:", "checkpoint of the device-trained run", "resumed on the CPU:",
		"throughput GENIUS-329 input=32 batch=4 micro=0 dtype=f32 images/s="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func mustArch(t *testing.T, s string) []int {
	a, err := space.ParseList(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
