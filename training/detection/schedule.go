package detection

import "fmt"

// Schedule is the 1× detection schedule: a base learning rate scaled
// linearly with the batch, a linear warm-up over the first iterations, and
// step decays at given epochs.
type Schedule struct {
	BaseLR        float64 // for a batch of BaseBatch images
	BaseBatch     int
	Batch         int // the batch actually used
	ItersPerEpoch int
	WarmupIters   int
	WarmupRatio   float64 // the warm-up starts at WarmupRatio × the rate
	Steps         []int   // epochs (0-based) from which the rate is multiplied by Gamma once more
	Gamma         float64
	Epochs        int
	// The SGD settings the schedule goes with.
	Momentum, WeightDecay float64
}

// Schedule1x is retinanet_r50_fpn_1x_coco's schedule for a batch size and
// epoch length: lr 0.01 for a batch of 16 scaled linearly, linear warm-up
// over 500 iterations from 0.001 of it, ×0.1 at epochs 8 and 11 of 12;
// SGD with momentum 0.9 and weight decay 1e-4.
func Schedule1x(batch, itersPerEpoch int) Schedule {
	return Schedule{
		BaseLR: 0.01, BaseBatch: 16, Batch: batch, ItersPerEpoch: itersPerEpoch,
		WarmupIters: 500, WarmupRatio: 0.001, Steps: []int{8, 11}, Gamma: 0.1, Epochs: 12,
		Momentum: 0.9, WeightDecay: 1e-4,
	}
}

// Validate reports a schedule that cannot be followed.
func (s Schedule) Validate() error {
	switch {
	case s.BaseLR <= 0 || s.BaseBatch <= 0 || s.Batch <= 0:
		return fmt.Errorf("detection: schedule needs a positive base rate, base batch and batch (got %v, %d, %d)", s.BaseLR, s.BaseBatch, s.Batch)
	case s.ItersPerEpoch <= 0:
		return fmt.Errorf("detection: schedule needs at least one iteration per epoch (got %d)", s.ItersPerEpoch)
	case s.WarmupIters < 0 || s.WarmupRatio <= 0 || s.WarmupRatio > 1:
		return fmt.Errorf("detection: warm-up of %d iterations from ratio %v: want iterations ≥ 0 and ratio in (0, 1]", s.WarmupIters, s.WarmupRatio)
	}
	return nil
}

// TotalIters is the number of iterations of the whole schedule.
func (s Schedule) TotalIters() int { return s.Epochs * s.ItersPerEpoch }

// LR is the learning rate at iteration iter (0-based, counted from the
// start of training).
func (s Schedule) LR(iter int) float64 {
	lr := s.BaseLR * float64(s.Batch) / float64(s.BaseBatch)
	epoch := iter / s.ItersPerEpoch
	for _, st := range s.Steps {
		if epoch >= st {
			lr *= s.Gamma
		}
	}
	if iter < s.WarmupIters {
		// mmcv's linear warm-up: from WarmupRatio×lr at iteration 0
		// towards lr, reached at WarmupIters.
		k := (1 - float64(iter)/float64(s.WarmupIters)) * (1 - s.WarmupRatio)
		lr *= 1 - k
	}
	return lr
}
