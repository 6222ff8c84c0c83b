package detector

import (
	"fmt"
	"math"

	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/detection"
)

// Config is one detector training run. Zero values take the defaults of
// the 1× recipe.
type Config struct {
	Space string `json:"space"`
	Arch  []int  `json:"arch"`
	// Classes is the number of object categories (the dataset's).
	Classes int `json:"classes"`
	// MaxLong and MaxShort bound the resized images (1333 and 800).
	MaxLong  int `json:"max_long,omitempty"`
	MaxShort int `json:"max_short,omitempty"`
	// Channels of the pyramid and subnets (256) and the subnets' stacked
	// convolutions (4); smaller for CPU demos.
	Channels     int `json:"channels,omitempty"`
	StackedConvs int `json:"stacked_convs,omitempty"`
	// FrozenStages of the backbone as mmdetection's frozen_stages (1); -1
	// trains every stage.
	FrozenStages *int `json:"frozen_stages,omitempty"`
	// Epochs (12) and Batch (16).
	Epochs int `json:"epochs,omitempty"`
	Batch  int `json:"batch,omitempty"`
	// LR is the rate for a batch of 16 (0.01), scaled linearly to Batch.
	LR          float64 `json:"lr,omitempty"`
	Momentum    float64 `json:"momentum,omitempty"`     // 0.9
	WeightDecay float64 `json:"weight_decay,omitempty"` // 1e-4
	// WarmupIters of linear warm-up from 0.001 of the rate (500;
	// negative: none).
	WarmupIters int `json:"warmup_iters,omitempty"`
	// ClipNorm, when > 0, clips the global gradient norm (off in the
	// reference; its mixed-precision variant uses 35).
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// StepEpochs are the epochs from which the rate drops ×0.1 ([8, 11]
	// for 12 epochs; scaled to other lengths).
	StepEpochs []int `json:"step_epochs,omitempty"`
	// Seed fixes the head's initialisation, the data order and the flips.
	Seed uint64 `json:"seed,omitempty"`
}

// Defaults of the 1× recipe.
const (
	DefaultMaxLong  = 1333
	DefaultMaxShort = 800
	DefaultEpochs   = 12
	DefaultBatch    = 16
	DefaultLR       = 0.01
)

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	ref := detection.Schedule1x(DefaultBatch, 1)
	if c.MaxLong <= 0 {
		c.MaxLong = DefaultMaxLong
	}
	if c.MaxShort <= 0 {
		c.MaxShort = DefaultMaxShort
	}
	if c.Channels <= 0 {
		c.Channels = 256
	}
	if c.StackedConvs <= 0 {
		c.StackedConvs = 4
	}
	if c.FrozenStages == nil {
		one := 1
		c.FrozenStages = &one
	}
	if c.Epochs <= 0 {
		c.Epochs = DefaultEpochs
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.LR <= 0 {
		c.LR = DefaultLR
	}
	if c.Momentum == 0 {
		c.Momentum = ref.Momentum
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = ref.WeightDecay
	}
	if c.WarmupIters == 0 {
		c.WarmupIters = ref.WarmupIters
	}
	if c.StepEpochs == nil {
		// 8 and 11 of 12 epochs; a shorter or longer run drops at the
		// same fractions of its length.
		for _, s := range ref.Steps {
			c.StepEpochs = append(c.StepEpochs, int(math.Round(float64(s)*float64(c.Epochs)/float64(ref.Epochs))))
		}
	}
	return c
}

// Validate reports the first setting out of range (after WithDefaults).
func (c Config) Validate() error {
	switch {
	case c.Space == "" || len(c.Arch) == 0:
		return fmt.Errorf("detector: config needs the backbone's space and arch")
	case c.Classes < 1:
		return fmt.Errorf("detector: %d classes, need at least 1", c.Classes)
	case c.MaxLong < 32 || c.MaxShort < 32:
		return fmt.Errorf("detector: image size %d×%d: both sides must be at least 32", c.MaxLong, c.MaxShort)
	case c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("detector: momentum %v must be in [0, 1)", c.Momentum)
	case c.ClipNorm < 0:
		return fmt.Errorf("detector: clip norm %v must not be negative", c.ClipNorm)
	case c.WeightDecay < 0:
		return fmt.Errorf("detector: weight decay %v must not be negative", c.WeightDecay)
	}
	return nil
}

// Transform is the input pipeline: resize to fit MaxLong×MaxShort, pad to
// a multiple of 32, ImageNet normalisation.
func (c Config) Transform() coco.Transform {
	t := coco.RetinaNetTransform()
	t.MaxLong, t.MaxShort = c.MaxLong, c.MaxShort
	return t
}

// Schedule is the 1× schedule for this run's batch and epoch length.
func (c Config) Schedule(itersPerEpoch int) detection.Schedule {
	s := detection.Schedule1x(c.Batch, itersPerEpoch)
	s.BaseLR, s.Momentum, s.WeightDecay = c.LR, c.Momentum, c.WeightDecay
	s.WarmupIters, s.Steps, s.Epochs = max(c.WarmupIters, 0), c.StepEpochs, c.Epochs
	return s
}
