package gpucheck

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

// small are sizes at which the CPU learns the synthetic data in seconds.
func small(t *testing.T) Options {
	o := Defaults()
	o.Steps, o.ResumeSteps, o.Batch, o.Input = 60, 5, 16, 16
	o.TrainImages, o.TestImages, o.Arch, o.CPUWorkers = 640, 200, "1,0,0,0,0,0,0,0", 1
	o.Checkpoint = filepath.Join(t.TempDir(), "run.ckpt")
	return o
}

func curve(from, to float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = from + (to-from)*float64(i)/float64(n-1)
	}
	return v
}

func TestJudge(t *testing.T) {
	nan := curve(2.3, 0.3, 100)
	nan[50] = math.NaN()
	for _, c := range []struct {
		name        string
		cpu, device []float64
		ok          bool
		why         string
	}{
		{"same curve", curve(2.3, 0.3, 100), curve(2.3, 0.3, 100), true, ""},
		{"device a little worse", curve(2.3, 0.3, 100), curve(2.3, 0.45, 100), true, ""},
		{"device stuck", curve(2.3, 0.3, 100), curve(2.3, 2.2, 100), false, "device's loss"},
		{"device ends well above the CPU", curve(2.3, 0.3, 100), curve(2.3, 0.9, 100), false, "at step 100 the losses differ"},
		{"device learns late", curve(2.3, 0.3, 100), slices.Concat(curve(2.3, 2.3, 50), curve(2.3, 0.3, 50)), false, "at step 50 the losses differ"},
		{"device NaN", curve(2.3, 0.3, 100), nan, false, "NaN"},
		{"CPU does not learn", curve(2.3, 2.0, 100), curve(2.3, 0.3, 100), false, "too short"},
		{"one step", []float64{2.3}, []float64{2.3}, false, "fewer than 2"},
	} {
		conv := Convergence{CPU: c.cpu, Device: c.device}
		conv.judge(0.1)
		if conv.Converged != c.ok || !strings.Contains(conv.Why, c.why) {
			t.Errorf("%s: converged %v (%q), want %v (%q)", c.name, conv.Converged, conv.Why, c.ok, c.why)
		}
	}
	if got, want := curvePoints(300), []int{1, 30, 75, 150, 225, 300}; !slices.Equal(got, want) {
		t.Errorf("curvePoints(300) = %v, want %v", got, want)
	}
	if got, want := curvePoints(3), []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("curvePoints(3) = %v, want %v", got, want)
	}
}

func TestFlags(t *testing.T) {
	var o Options
	f := flag.NewFlagSet("t", flag.ContinueOnError)
	o.AddFlags(f)
	if err := f.Parse([]string{"-train-steps=7", "-throughput-inputs=64, 32"}); err != nil {
		t.Fatal(err)
	}
	if o.Steps != 7 || !slices.Equal(o.BenchInputs, []int{64, 32}) || o.BenchBatch != 256 || o.Checkpoint != "dist/gpucheck.ckpt" {
		t.Errorf("parsed %+v", o)
	}
	if err := f.Parse([]string{"-throughput-inputs="}); err != nil || len(o.BenchInputs) != 0 {
		t.Errorf("empty -throughput-inputs: %v, %v; want no sizes", o.BenchInputs, err)
	}
	f.SetOutput(new(bytes.Buffer))
	if err := f.Parse([]string{"-throughput-inputs=224,0"}); err == nil {
		t.Error("-throughput-inputs=224,0: no error")
	}
	o = Defaults()
	o.Steps = 1
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("1 step: %v", err)
	}
}

// TestCompareAndResumeOnCPU runs the convergence comparison with a second
// CPU engine (2 workers) in the device's place, writes its checkpoint and
// resumes it through Resume: the harness on real training, before a
// device engine exists. A description whose figures do not match the
// checkpoint makes Resume fail.
func TestCompareAndResumeOnCPU(t *testing.T) {
	o := small(t)
	ctx := context.Background()
	syn := Synthetic{Train: o.TrainImages, Test: o.TestImages, Seed: o.Seed}
	ds, err := syn.open()
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	cfg, err := o.TrainConfig()
	if err != nil {
		t.Fatal(err)
	}
	per := training.NewLoader(cfg, ds.train, 0).Batches()
	cr, err := training.NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, ds.train.Classes(), per)
	if err != nil {
		t.Fatal(err)
	}
	dr, err := training.NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 2}), cfg, ds.train.Classes(), per)
	if err != nil {
		t.Fatal(err)
	}
	var c Convergence
	var out bytes.Buffer
	if err := compare(ctx, o, cfg, ds, cr, dr, "CPU, 2 workers", &c, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if len(c.CPU) != o.Steps || len(c.Device) != o.Steps || dr.Step != o.Steps {
		t.Fatalf("%d and %d losses, run at step %d; want %d", len(c.CPU), len(c.Device), dr.Step, o.Steps)
	}
	if !c.Converged {
		t.Errorf("the CPU against itself does not converge: %s", c.Why)
	}
	for _, s := range curvePoints(o.Steps) {
		if want := fmt.Sprintf("step %5d  cpu", s); !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	meta := Meta{Device: "CPU, 2 workers", DType: "f32", Data: syn, EvalLoss: c.DeviceEval.Loss, EvalTop1: c.DeviceEval.Top1,
		FinalLoss: c.DeviceFinal}
	if err := writeCheckpoint(o.Checkpoint, dr, meta); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	rep, err := Resume(ctx, o.Checkpoint, ResumeOptions{CPUWorkers: 1}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if !rep.OK() || rep.Step != o.Steps || rep.Total != o.Steps+o.ResumeSteps || len(rep.Losses) != o.ResumeSteps {
		t.Errorf("resume: %+v", rep)
	}
	if d := math.Abs(rep.EvalLoss - c.DeviceEval.Loss); d > 1e-4 {
		t.Errorf("restored weights evaluate to %v, the run to %v", rep.EvalLoss, c.DeviceEval.Loss)
	}

	meta.EvalLoss += 0.5
	if err := writeFile(MetaPath(o.Checkpoint), func(w io.Writer) error { return json.NewEncoder(w).Encode(meta) }); err != nil {
		t.Fatal(err)
	}
	if rep, err := Resume(ctx, o.Checkpoint, ResumeOptions{CPUWorkers: 1}, io.Discard); err != nil || rep.Matches || rep.OK() {
		t.Errorf("a description 0.5 off the checkpoint's test loss: matches %v, err %v; want a mismatch", rep != nil && rep.Matches, err)
	}
}

// TestResumeGPUCheckpoint resumes on the CPU a checkpoint written by the
// GPU check (devicecheck.sh) on a GPU machine, when GENIUS_GPU_CHECKPOINT
// names it (its description, the same path + ".json", beside it).
func TestResumeGPUCheckpoint(t *testing.T) {
	path := os.Getenv("GENIUS_GPU_CHECKPOINT")
	if path == "" {
		t.Skip("GENIUS_GPU_CHECKPOINT is not set: no checkpoint from a GPU machine to resume")
	}
	var out bytes.Buffer
	rep, err := Resume(context.Background(), path, ResumeOptions{}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("GENIUS_GPU_CHECKPOINT=%s: %v", path, err)
	}
	if !rep.OK() {
		t.Errorf("the CPU did not resume the GPU's run: matches %v, continues %v", rep.Matches, rep.Continues)
	}
}

// The throughput line keeps one images/s= field, ours, which
// devicecheck.sh reads (the last match of a greedy sed) to set beside
// PyTorch's, with the upload/wait split and the synchronous copies'
// figure in fields of their own.
func TestThroughputLine(t *testing.T) {
	tp := Throughput{Arch: "GENIUS-329", Input: 224, Batch: 256, DType: "bf16", ImagesPerS: 2000.04, UploadMS: 30.5,
		WaitMS: 90.25, SyncImagesPerS: 1600}
	line := tp.String()
	m := regexp.MustCompile(`^throughput .* input=224 batch=256 .*images/s=([0-9.]*)`).FindStringSubmatch(line)
	if m == nil || m[1] != "2000.0" {
		t.Errorf("devicecheck.sh would read %q as our images/s from %q", m, line)
	}
	for _, want := range []string{"upload_ms/step=30.50 wait_ms/step=90.25", "with_sync_copies=1600.0/s (overlap gains x1.25)"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	tp.SyncImagesPerS = 0
	if line := tp.String(); strings.Contains(line, "sync") {
		t.Errorf("%q shows a synchronous measurement that was not made", line)
	}
}
