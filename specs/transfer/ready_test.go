package transfer

import (
	"strings"
	"testing"
)

func TestReadySpecs(t *testing.T) {
	if got := strings.Join(Names(), " "); got != "cifar10 cifar100 coco coco-cpu-demo cpu-demo" {
		t.Fatalf("Names() = %q", got)
	}
	for name, want := range map[string]struct {
		format string
		input  int
	}{"cifar10": {"cifar10", 224}, "cifar100": {"cifar100", 224}, "cpu-demo": {"cifar10", 32}, "coco": {"coco", 224}, "coco-cpu-demo": {"coco", 224}} {
		s, err := Ready(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Data.Format != want.format || s.Input != want.input || s.Classes != 0 {
			t.Errorf("%s: format %s input %d classes %d, want %s at %d with the dataset's classes", name, s.Data.Format, s.Input, s.Classes, want.format, want.input)
		}
		if err := Validate(s); err == nil || !strings.Contains(err.Error(), "from_checkpoint") {
			t.Errorf("%s without from_checkpoint: %v", name, err)
		}
		s.FromCheckpoint = "retrain/r/step-000000001.ckpt"
		if err := Validate(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The paper's RetinaNet recipe: mmdetection's 1x schedule at 1333x800.
	c, err := Ready("coco")
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Detector; !c.IsDetection() || d == nil || d.MaxSize != [2]int{1333, 800} || c.Epochs != 12 || c.Batch != 16 || c.LR != 0.01 ||
		c.WeightDecay != 1e-4 || c.Momentum != 0.9 || d.Channels != 256 || d.StackedConvs != 4 || d.WarmupIters != 500 || len(d.StepEpochs) != 2 {
		t.Errorf("coco spec %+v detector %+v", c, c.Detector)
	}
	if _, err := Ready("svhn"); err == nil || !strings.Contains(err.Error(), "cifar10, cifar100, coco, coco-cpu-demo, cpu-demo") {
		t.Errorf("unknown spec: %v", err)
	}
}
