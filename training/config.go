package training

import (
	"fmt"

	"github.com/genius-nas/genius/training/data"
)

// Config is one training run. Zero values take the defaults given.
type Config struct {
	Space string `json:"space"`
	Arch  []int  `json:"arch"`
	// Classes is the number of outputs. Default: the dataset's classes.
	Classes int `json:"classes,omitempty"`
	// Input is the square input size in pixels. Default 32.
	Input int `json:"input,omitempty"`
	// Epochs to train. Default 1.
	Epochs int `json:"epochs,omitempty"`
	// Steps, when > 0, caps the optimiser steps (and sets the schedule's
	// length).
	Steps int `json:"steps,omitempty"`
	// Batch size: the samples of one optimiser step. Default 64.
	Batch int `json:"batch,omitempty"`
	// MicroBatch, when > 0 and below Batch, splits each batch into
	// micro-batches of this size whose gradients accumulate before the one
	// optimiser step (gradient accumulation): memory for activations and
	// loaded images scales with MicroBatch, the step is that of the whole
	// batch. Batch norm normalises each micro-batch with its own statistics,
	// as PyTorch does when accumulating. It must divide Batch. Default 0:
	// the whole batch at once.
	MicroBatch int `json:"micro_batch,omitempty"`
	// LR is the peak learning rate. Default 0.05.
	LR float64 `json:"lr,omitempty"`
	// Momentum. Default 0.9; negative means none.
	Momentum float64 `json:"momentum,omitempty"`
	// Nesterov selects Nesterov momentum.
	Nesterov bool `json:"nesterov,omitempty"`
	// WeightDecay on convolution and linear weights. Default 0.
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// LabelSmoothing of the cross-entropy. Default 0.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// WarmupEpochs of linear warm-up before the cosine decay. Default 0.
	WarmupEpochs float64 `json:"warmup_epochs,omitempty"`
	// EMADecay, when > 0, keeps an EMA of the weights, evaluated instead
	// of the live weights.
	EMADecay float64 `json:"ema_decay,omitempty"`
	// EMAInterval is the number of steps between EMA updates. Default 1.
	EMAInterval int `json:"ema_interval,omitempty"`
	// ClipNorm, when > 0, clips the global gradient norm.
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// Dropout before the ImageNet classifier. Default 0.2; negative none.
	Dropout float64 `json:"dropout,omitempty"`
	// MinScale of random-resized-crop. Default 0.08.
	MinScale float64 `json:"min_scale,omitempty"`
	// NoAugment trains on evaluation-style crops (no random crop or flip).
	NoAugment bool `json:"no_augment,omitempty"`
	// CropFraction of the evaluation centre crop. Default 0.875; set 1 for
	// CIFAR-size inputs.
	CropFraction float64 `json:"crop_fraction,omitempty"`
	// RandAugmentN is the number of RandAugment operations per training
	// image. Default 0: off.
	RandAugmentN int `json:"randaugment_n,omitempty"`
	// RandAugmentM is RandAugment's magnitude, out of RandAugmentMaxM.
	RandAugmentM int `json:"randaugment_m,omitempty"`
	// RandAugmentMaxM is the magnitude at full strength. Default 10 (timm;
	// the paper's m=9 is on this scale); 30 is torchvision's scale.
	RandAugmentMaxM int `json:"randaugment_max_m,omitempty"`
	// RandomErasing is the probability of erasing a rectangle of a
	// training image (torchvision's defaults otherwise). Default 0: off.
	RandomErasing float64 `json:"random_erasing,omitempty"`
	// Seed fixes initialisation, data order, augmentation and dropout.
	Seed uint64 `json:"seed,omitempty"`
	// Replicas is the number of data-parallel replicas on CPU: each
	// trains on its share of the (micro-)batch on its own core, with
	// synchronised batch norm. Default: one per CPU worker when the
	// (micro-)batch splits into
	// shares that are multiples of 16; 1 splits each operation instead.
	Replicas int `json:"replicas,omitempty"`
	// NB201Cells and NB201Channels size the NAS-Bench-201 network
	// (defaults 5 and 16).
	NB201Cells    int `json:"nb201_cells,omitempty"`
	NB201Channels int `json:"nb201_channels,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.Input <= 0 {
		c.Input = 32
	}
	if c.Epochs <= 0 {
		c.Epochs = 1
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.LR <= 0 {
		c.LR = 0.05
	}
	if c.Momentum == 0 {
		c.Momentum = 0.9
	}
	if c.Momentum < 0 {
		c.Momentum = 0
	}
	if c.EMAInterval <= 0 {
		c.EMAInterval = 1
	}
	return c
}

func (c Config) validate() error {
	if c.Space == "" {
		return fmt.Errorf("training: config has no space: set Space (for example nas-bench-macro)")
	}
	if c.LabelSmoothing < 0 || c.LabelSmoothing >= 1 {
		return fmt.Errorf("training: label smoothing %v must be in [0, 1)", c.LabelSmoothing)
	}
	if c.EMADecay < 0 || c.EMADecay >= 1 {
		return fmt.Errorf("training: EMA decay %v must be in [0, 1)", c.EMADecay)
	}
	if c.MicroBatch < 0 || (c.MicroBatch > 0 && c.Batch%c.MicroBatch != 0) {
		return settingError("MicroBatch", "micro-batch %d does not divide the batch of %d: use a divisor such as %d, or 0 for the whole batch",
			c.MicroBatch, c.Batch, divisorAtMost(c.Batch, c.MicroBatch))
	}
	if err := c.TrainTransform().Validate(); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}

// Micro is the number of samples that go through the network at once: the
// micro-batch, or the whole batch without one.
func (c Config) Micro() int {
	c = c.withDefaults()
	if c.MicroBatch > 0 && c.MicroBatch < c.Batch {
		return c.MicroBatch
	}
	return c.Batch
}

// divisorAtMost is the largest divisor of n that is at most m (1 when m < 1).
func divisorAtMost(n, m int) int {
	for d := min(m, n); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// TrainTransform is the training data transform the config asks for:
// random-resized-crop and flip (unless NoAugment), RandAugment and random
// erasing.
func (c Config) TrainTransform() data.Transform {
	return data.Transform{Size: c.withDefaults().Input, Train: !c.NoAugment, MinScale: c.MinScale, CropFraction: c.CropFraction,
		RandAugmentN: c.RandAugmentN, RandAugmentM: c.RandAugmentM, RandAugmentMaxM: c.RandAugmentMaxM, RandomErasing: c.RandomErasing}
}
