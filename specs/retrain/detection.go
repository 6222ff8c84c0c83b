package retrain

import (
	"fmt"

	"github.com/genius-nas/genius/specs/recipe"
)

// The tasks a spec trains for.
const (
	TaskClassification = "classification"
	TaskDetection      = "detection"
	// FormatCOCO is the detection data format.
	FormatCOCO = "coco"
)

// Detector sizes a detection run: the RetinaNet and its input. Zero values
// take mmdetection's retinanet_r50_fpn_1x settings.
type Detector struct {
	// MaxSize is the long and the short side images are resized to fit
	// ([1333, 800]); smaller for CPU demos.
	MaxSize [2]int `json:"max_size,omitempty"`
	// Channels of the pyramid and subnets (256) and the subnets' stacked
	// 3×3 convolutions (4).
	Channels     int `json:"channels,omitempty"`
	StackedConvs int `json:"stacked_convs,omitempty"`
	// FrozenStages of the backbone, as mmdetection's frozen_stages (1);
	// -1 trains them all.
	FrozenStages *int `json:"frozen_stages,omitempty"`
	// WarmupIters of linear warm-up from 0.001 of the rate (500); -1:
	// none.
	WarmupIters int `json:"warmup_iters,omitempty"`
	// ClipNorm, when > 0, clips the global gradient norm (0: off, as the
	// reference; its mixed-precision variant uses 35).
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// StepEpochs are the epochs from which the rate drops ×0.1 ([8, 11]
	// for 12 epochs, at the same fractions of other lengths).
	StepEpochs []int `json:"step_epochs,omitempty"`
}

// IsDetection reports whether the spec trains a detector.
func (s Spec) IsDetection() bool { return s.Task == TaskDetection }

// validateTask checks the task and the fields that go with it.
func (s Spec) validateTask() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch s.Task {
	case "", TaskClassification:
		if s.Data.Format == FormatCOCO {
			bad("data.format coco is detection data: set task to detection")
		}
		if s.Detector != nil {
			bad("detector is set but task is not detection: set task to detection or drop detector")
		}
		return errs
	case TaskDetection:
	default:
		return append(errs, fmt.Errorf("task %q: use classification or detection", s.Task))
	}
	if s.Data.Format != FormatCOCO {
		bad("data.format %q: task detection trains on coco data (set data.format to coco)", s.Data.Format)
	}
	if s.Data.Dir == "" {
		bad("data.dir is empty: task detection needs a COCO folder (annotations/ with train2017/ and val2017/); genius data coco --synthetic DIR writes a small one")
	}
	if s.Steps != 0 {
		bad("steps %d: task detection runs whole epochs (use epochs)", s.Steps)
	}
	// The detector takes epochs, batch, lr, momentum, weight_decay and seed
	// of the recipe (micro_batch is ignored, as it always was).
	cls := s.Recipe
	cls.Epochs, cls.Steps, cls.Batch, cls.MicroBatch, cls.LR, cls.Momentum, cls.WeightDecay, cls.Seed = 0, 0, 0, 0, 0, 0, 0, 0
	if cls.EMAInterval == recipe.DefaultEMAInterval {
		cls.EMAInterval = 0 // WithDefaults sets it
	}
	if cls != (recipe.Recipe{}) {
		bad("ema_decay, ema_interval, label_smoothing, randaugment_*, random_erasing, dropout, nesterov, warmup_epochs, clip_norm, min_scale, " +
			"no_augment and crop_fraction are classification settings: drop them for task detection (detector.warmup_iters sets the warm-up, detector.clip_norm the clipping)")
	}
	if d := s.Detector; d != nil {
		if d.MaxSize != [2]int{} && (d.MaxSize[0] < 32 || d.MaxSize[1] < 32) {
			bad("detector.max_size %v: give [long, short] sides of at least 32 (the reference: [1333, 800])", d.MaxSize)
		}
		if d.ClipNorm < 0 {
			bad("detector.clip_norm %v must not be negative (0 is off)", d.ClipNorm)
		}
		if d.Channels < 0 || d.StackedConvs < 0 {
			bad("detector.channels %d and detector.stacked_convs %d must not be negative", d.Channels, d.StackedConvs)
		}
		if d.FrozenStages != nil && (*d.FrozenStages < -1 || *d.FrozenStages > 5) {
			bad("detector.frozen_stages %d: use -1 (train all) to 5", *d.FrozenStages)
		}
		for _, e := range d.StepEpochs {
			if e < 1 || (s.Epochs > 0 && e > s.Epochs) {
				bad("detector.step_epochs %v: each must be in 1..epochs", d.StepEpochs)
				break
			}
		}
	}
	return errs
}
