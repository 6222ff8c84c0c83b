package detector

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/tensor"
)

var genius329 = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}

// tiny is a small synthetic COCO set and a detector configuration that
// trains on it in seconds.
func tiny(t *testing.T, train, val int) (*coco.Dataset, *coco.Dataset, Config) {
	t.Helper()
	dir := t.TempDir()
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: train, Val: val, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	open := func(split string) *coco.Dataset {
		ds, err := coco.Open(coco.AnnotationPath(dir, split), coco.ImageDir(dir, split))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	cfg := Config{Space: "mobilenetv2-imagenet", Arch: genius329, MaxLong: 128, MaxShort: 96, Channels: 16, StackedConvs: 1,
		Epochs: 4, Batch: 2, LR: 4, WarmupIters: -1, Seed: 5}
	return open(coco.TrainSplit), open(coco.ValSplit), cfg
}

func TestTrainingReducesLoss(t *testing.T) {
	train, _, cfg := tiny(t, 4, 1)
	r, err := NewRun(tensor.NewCPU(tensor.CPUOptions{}), cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.NextBatch()
	if err != nil {
		t.Fatal(err)
	}
	var first, last Losses
	for i := range 8 {
		l, err := r.TrainStep(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = l
		}
		last = l
	}
	t.Logf("loss %v (cls %v, box %v) -> %v (cls %v, box %v)", first.Total(), first.Cls, first.Box, last.Total(), last.Cls, last.Box)
	if !(last.Total() < 0.9*first.Total()) || !(last.Cls < first.Cls) || !(last.Box < first.Box) {
		t.Errorf("8 steps on one batch: loss %+v -> %+v, want both parts lower and the total below 90%%", first, last)
	}
	if r.Step != 8 || r.Epoch != 3 || r.StepInEpoch != 2 {
		t.Errorf("position step %d epoch %d step in epoch %d after 8 steps of 2 per epoch", r.Step, r.Epoch, r.StepInEpoch)
	}
}

// A run checkpointed and restored into a new one continues exactly as the
// uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	train, _, cfg := tiny(t, 4, 1)
	be := tensor.NewCPU(tensor.CPUOptions{})
	steps := func(r *Run, n int) {
		for range n {
			if r.StepInEpoch >= r.StepsPerEpoch() {
				r.Epoch, r.StepInEpoch = r.Epoch+1, 0
			}
			b, err := r.NextBatch()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.TrainStep(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, err := NewRun(be, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	steps(a, 3)
	b, err := NewRun(be, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	steps(b, 1)
	ck, err := b.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ck); err != nil {
		t.Fatal(err)
	}
	read, err := checkpoint.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 99 // a fresh run's different initialisation is all overwritten
	c, err := NewRun(be, cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	c.Config.Seed = a.Config.Seed
	if err := c.Restore(read, true); err != nil {
		t.Fatal(err)
	}
	steps(c, 2)
	if c.Step != a.Step || c.Epoch != a.Epoch || c.StepInEpoch != a.StepInEpoch || c.Sums != a.Sums {
		t.Errorf("resumed position %d/%d/%d sums %+v, uninterrupted %d/%d/%d %+v", c.Step, c.Epoch, c.StepInEpoch, c.Sums, a.Step, a.Epoch, a.StepInEpoch, a.Sums)
	}
	for i, p := range a.Net.Params() {
		if !slices.Equal(p.W, c.Net.Params()[i].W) {
			t.Fatalf("parameter %s differs after resuming", p.Name)
		}
	}
}

func TestEvaluateUntrained(t *testing.T) {
	_, val, cfg := tiny(t, 1, 3)
	if _, err := NewRun(tensor.NewCPU(tensor.CPUOptions{}), cfg, nil); err == nil {
		t.Fatal("a run without classes or data accepted")
	}
	cfg.Classes = len(val.Classes)
	r, err := NewRun(tensor.NewCPU(tensor.CPUOptions{}), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Evaluate(context.Background(), val, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 3 || res.Annotations == 0 {
		t.Errorf("evaluated %d images, %d annotations", res.Images, res.Annotations)
	}
	t.Logf("untrained: %+v (%d detections)", res.Stats, res.Detections)
}
