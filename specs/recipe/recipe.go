// Package recipe holds the training recipe (optimiser, schedule,
// regularisation, augmentation and batching settings) that proxy training,
// retraining, transfer and the training engine share. It is a leaf: specs
// and workflow inputs embed it without reaching the engine.
package recipe

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// Recipe is how to train. Types embed it anonymously, so encoding/json
// inlines its fields: specs, workflow inputs and checkpoints keep their
// flat JSON. The field order is that of the engine's configuration from
// before the recipe was shared: checkpoints store that configuration as
// JSON and retraining resumes only from byte-equal ones.
//
// The comment on each field says what its zero value means. Epochs, Batch
// and LR are the exception: their zero takes the default of whoever
// trains (the engine: 1 epoch, batch 64, lr 0.05; proxy training: the
// paper's 20 epochs, batch 1024, lr 0.5; a retrain spec must set them).
type Recipe struct {
	// Epochs to train. Zero: the trainer's default (see above).
	Epochs int `json:"epochs,omitempty"`
	// Steps, when > 0, caps the optimiser steps and sets the schedule's
	// length (demos and tests). Zero: the epochs decide.
	Steps int `json:"steps,omitempty"`
	// Batch is the number of samples of one optimiser step. Zero: the
	// trainer's default (see above).
	Batch int `json:"batch,omitempty"`
	// MicroBatch, when > 0 and below Batch, splits each batch into
	// micro-batches of this size whose gradients accumulate before the one
	// optimiser step: activation and image memory scale with it, the step
	// is that of the whole batch (batch norm uses each micro-batch's
	// statistics, as PyTorch does when accumulating). It must divide
	// Batch. Zero: the whole batch at once.
	MicroBatch int `json:"micro_batch,omitempty"`
	// LR is the peak learning rate (linear warm-up, then cosine to 0).
	// Zero: the trainer's default (see above).
	LR float64 `json:"lr,omitempty"`
	// Momentum of SGD. Zero: 0.9 (DefaultMomentum); negative: none.
	Momentum float64 `json:"momentum,omitempty"`
	// Nesterov selects Nesterov momentum. False: classical momentum.
	Nesterov bool `json:"nesterov,omitempty"`
	// WeightDecay on convolution and linear weights, never on batch norm.
	// Zero: none (proxy training: the paper's 1e-4).
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// LabelSmoothing of the cross-entropy, in [0, 1). Zero: none.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// WarmupEpochs of linear learning-rate warm-up before the cosine decay.
	// Zero: none.
	WarmupEpochs float64 `json:"warmup_epochs,omitempty"`
	// EMADecay, when > 0, keeps an exponential moving average of the
	// weights (and batch-norm statistics), evaluated and reported instead
	// of the live weights. Zero: no EMA.
	EMADecay float64 `json:"ema_decay,omitempty"`
	// EMAInterval is the number of steps between EMA updates. Zero: 1.
	EMAInterval int `json:"ema_interval,omitempty"`
	// ClipNorm, when > 0, clips the global gradient norm. Zero: no clipping.
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// Dropout is the drop probability before mobilenetv2-imagenet's
	// classifier, in [0, 1). Zero (or negative, as older configurations
	// wrote it): none (proxy training: 0.2, as it always had).
	Dropout float64 `json:"dropout,omitempty"`
	// MinScale is the smallest area share of random-resized-crop. Zero:
	// 0.08 (ImageNet's; about 0.35 suits CIFAR).
	MinScale float64 `json:"min_scale,omitempty"`
	// NoAugment trains on evaluation-style crops (no random crop or flip).
	// False: random-resized-crop and flip.
	NoAugment bool `json:"no_augment,omitempty"`
	// CropFraction of the evaluation centre crop. Zero: 0.875, except that
	// trainers use inputs of 64 pixels or less (CIFAR) whole, as 1.
	CropFraction float64 `json:"crop_fraction,omitempty"`
	// RandAugmentN is the number of RandAugment operations per training
	// image. Zero: no RandAugment.
	RandAugmentN int `json:"randaugment_n,omitempty"`
	// RandAugmentM is RandAugment's magnitude, out of RandAugmentMaxM.
	// Zero: the weakest.
	RandAugmentM int `json:"randaugment_m,omitempty"`
	// RandAugmentMaxM is the magnitude at full strength. Zero: 10 (timm's
	// scale, on which the paper's m=9 is given); 30 is torchvision's.
	RandAugmentMaxM int `json:"randaugment_max_m,omitempty"`
	// RandomErasing is the probability of erasing a rectangle of a
	// training image (torchvision's shape and value otherwise). Zero: off.
	RandomErasing float64 `json:"random_erasing,omitempty"`
	// Seed fixes initialisation, data order, augmentation and dropout.
	// Zero is a seed like any other.
	Seed uint64 `json:"seed,omitempty"`
}

// Defaults of the recipe's own fields; the trainers' defaults of Epochs,
// Batch and LR are theirs.
const (
	DefaultMomentum    = 0.9
	DefaultEMAInterval = 1
	// MaxRandAugmentM is the largest RandAugment scale in use
	// (torchvision's).
	MaxRandAugmentM = 30
)

// WithDefaults fills Momentum and EMAInterval. It leaves every other field,
// negative momentum included, as it is, so applying it twice changes
// nothing and the JSON of a configuration stays that of its settings.
func (r Recipe) WithDefaults() Recipe {
	if r.Momentum == 0 {
		r.Momentum = DefaultMomentum
	}
	if r.EMAInterval <= 0 {
		r.EMAInterval = DefaultEMAInterval
	}
	return r
}

// MomentumRate is the momentum the optimiser uses: 0 for a negative
// Momentum (none).
func (r Recipe) MomentumRate() float64 { return max(r.Momentum, 0) }

// DropoutRate is the dropout probability the network uses: 0 for zero or
// negative Dropout (none).
func (r Recipe) DropoutRate() float64 { return max(r.Dropout, 0) }

// Validate checks the recipe on its own terms; zero Epochs, Batch and LR
// pass (the trainer fills or requires them). Each problem is a
// *FieldError, joined.
func (r Recipe) Validate() error {
	var errs []error
	bad := func(field string, value any, problem, fix string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Problem: problem, Fix: fix})
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Epochs", r.Epochs}, {"Steps", r.Steps}, {"Batch", r.Batch}, {"EMAInterval", r.EMAInterval},
		{"RandAugmentN", r.RandAugmentN}, {"RandAugmentMaxM", r.RandAugmentMaxM}} {
		if f.v < 0 {
			bad(f.name, f.v, "is negative", "use a positive number")
		}
	}
	if r.MicroBatch < 0 || (r.MicroBatch > 0 && r.Batch > 0 && r.Batch%r.MicroBatch != 0) {
		problem, fix := "is negative", "use 0 for the whole batch at once or a divisor of the batch"
		if r.MicroBatch > 0 {
			problem = fmt.Sprintf("does not divide batch %d", r.Batch)
		}
		if r.Batch > 0 {
			fix = fmt.Sprintf("use a divisor of batch %d such as %d, or 0 for the whole batch at once", r.Batch, DivisorAtMost(r.Batch, max(r.MicroBatch, r.Batch/8)))
		}
		bad("MicroBatch", r.MicroBatch, problem, fix)
	}
	if r.LR < 0 || !finite(r.LR) {
		bad("LR", r.LR, "is not a positive learning rate", "use a positive peak rate")
	}
	if r.Momentum >= 1 || math.IsNaN(r.Momentum) {
		bad("Momentum", r.Momentum, "must be below 1", "use 0 for the default 0.9, a value in (0, 1), or a negative one for none")
	}
	if r.WeightDecay < 0 || !finite(r.WeightDecay) {
		bad("WeightDecay", r.WeightDecay, "must not be negative", "use 0 for none or a small positive decay such as 4e-5")
	}
	if r.LabelSmoothing < 0 || r.LabelSmoothing >= 1 || math.IsNaN(r.LabelSmoothing) {
		bad("LabelSmoothing", r.LabelSmoothing, "must be in [0, 1)", "use 0 for none (the paper's retraining uses 0.1)")
	}
	if r.WarmupEpochs < 0 || !finite(r.WarmupEpochs) || (r.Epochs > 0 && r.WarmupEpochs > float64(r.Epochs)) {
		bad("WarmupEpochs", r.WarmupEpochs, "must be in [0, epochs]", "use 0 for none or fewer epochs than the run trains")
	}
	if r.EMADecay < 0 || r.EMADecay >= 1 || math.IsNaN(r.EMADecay) {
		bad("EMADecay", r.EMADecay, "must be in [0, 1)", "use 0 for no EMA or a decay such as 0.9999")
	}
	if r.ClipNorm < 0 || !finite(r.ClipNorm) {
		bad("ClipNorm", r.ClipNorm, "must not be negative", "use 0 for no clipping or a positive norm")
	}
	if r.Dropout >= 1 || math.IsNaN(r.Dropout) {
		bad("Dropout", r.Dropout, "must be below 1", "use 0 for none or a probability such as 0.2")
	}
	if r.MinScale < 0 || r.MinScale > 1 || math.IsNaN(r.MinScale) {
		bad("MinScale", r.MinScale, "must be in [0, 1]", "use 0 for 0.08, or an area share such as 0.35")
	}
	if r.CropFraction < 0 || r.CropFraction > 1 || math.IsNaN(r.CropFraction) {
		bad("CropFraction", r.CropFraction, "must be in [0, 1]", "use 0 for the default or a share such as 0.875")
	}
	if r.RandAugmentM < 0 || r.RandAugmentM > MaxRandAugmentM {
		bad("RandAugmentM", r.RandAugmentM, fmt.Sprintf("must be in [0, %d]", MaxRandAugmentM), "the paper's recipe: randaugment_n 2, randaugment_m 9")
	}
	if r.RandomErasing < 0 || r.RandomErasing > 1 || math.IsNaN(r.RandomErasing) {
		bad("RandomErasing", r.RandomErasing, "is a probability in [0, 1]", "use 0 for off (the paper's recipe: 0.2)")
	}
	return errors.Join(errs...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// DivisorAtMost is the largest divisor of n that is at most m (1 when m < 1).
func DivisorAtMost(n, m int) int {
	for d := min(m, n); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// FieldError is a recipe setting out of range. Field is the Go field name
// (as training's setting errors name it); JSON gives the name in specs.
type FieldError struct {
	Field   string
	Value   any
	Problem string
	Fix     string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %v %s: %s", e.JSON(), e.Value, e.Problem, e.Fix)
}

// JSON is the field's name in JSON specs ("micro_batch").
func (e *FieldError) JSON() string { return JSONName(e.Field) }

// JSONName is the JSON name of the Recipe field named goName, or goName
// when there is none.
func JSONName(goName string) string {
	if f, ok := reflect.TypeFor[Recipe]().FieldByName(goName); ok {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
			return name
		}
	}
	return goName
}
