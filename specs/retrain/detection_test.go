package retrain

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/recipe"
)

func TestDetectionSpecValidation(t *testing.T) {
	base := func() Spec {
		return Spec{Space: "mobilenetv2-imagenet", Arch: make([]int, 30), Task: TaskDetection, Recipe: recipe.Recipe{Epochs: 12, Batch: 16, LR: 0.01},
			Data: Data{Dir: "/data/coco", Format: FormatCOCO}, Detector: &Detector{MaxSize: [2]int{1333, 800}}}
	}
	if err := base().WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	minus2 := -2
	for _, c := range []struct {
		name  string
		edit  func(*Spec)
		field string
	}{
		{"unknown task", func(s *Spec) { s.Task = "segmentation" }, "task"},
		{"cifar data", func(s *Spec) { s.Data.Format = "cifar10" }, "data.format"},
		{"no dir", func(s *Spec) { s.Data.Dir = "" }, "data.dir"},
		{"coco for a classifier", func(s *Spec) { s.Task, s.Detector = "", nil }, "set task to detection"},
		{"detector for a classifier", func(s *Spec) { s.Task, s.Data.Format = TaskClassification, "imagefolder" }, "drop detector"},
		{"tiny size", func(s *Spec) { s.Detector.MaxSize = [2]int{16, 16} }, "detector.max_size"},
		{"frozen stages", func(s *Spec) { s.Detector.FrozenStages = &minus2 }, "detector.frozen_stages"},
		{"step after the end", func(s *Spec) { s.Detector.StepEpochs = []int{8, 13} }, "detector.step_epochs"},
		{"negative clip", func(s *Spec) { s.Detector.ClipNorm = -1 }, "detector.clip_norm"},
		{"ema", func(s *Spec) { s.EMADecay = 0.999 }, "ema_decay"},
		{"recipe clipping", func(s *Spec) { s.ClipNorm = 35 }, "detector.clip_norm the clipping"},
		{"ema interval", func(s *Spec) { s.EMAInterval = 4 }, "ema_interval"},
		{"steps", func(s *Spec) { s.Steps = 10 }, "steps"},
	} {
		s := base()
		c.edit(&s)
		err := s.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.field)
		}
	}
}
