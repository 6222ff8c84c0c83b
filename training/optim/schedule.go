package optim

import "math"

// Schedule is a linear warm-up from 0 to BaseLR over WarmupSteps, then a
// cosine decay to MinLR at TotalSteps. Steps are 0-based.
type Schedule struct {
	BaseLR      float64
	MinLR       float64
	WarmupSteps int
	TotalSteps  int
}

// LR is the learning rate for step.
func (s Schedule) LR(step int) float64 {
	if step < s.WarmupSteps {
		return s.BaseLR * float64(step+1) / float64(s.WarmupSteps)
	}
	span := s.TotalSteps - s.WarmupSteps
	if span <= 0 {
		return s.BaseLR
	}
	t := math.Min(float64(step-s.WarmupSteps)/float64(span), 1)
	return s.MinLR + (s.BaseLR-s.MinLR)*0.5*(1+math.Cos(math.Pi*t))
}
