package retrain

import "fmt"

// TransferSpecs returns the chained transfer specs, defaulted, each
// starting from the checkpoint best (this run's best EMA checkpoint) unless
// it names its own, with this run's space and arch where it names none.
func (s Spec) TransferSpecs(best string) []Spec {
	var out []Spec
	for _, t := range s.Transfer {
		if t.Space == "" {
			t.Space = s.Space
		}
		if len(t.Arch) == 0 {
			t.Arch = append([]int(nil), s.Arch...)
		}
		if t.FromCheckpoint == "" {
			t.FromCheckpoint = best
		}
		out = append(out, t.WithDefaults())
	}
	return out
}

// validateTransfer checks the chained transfer specs as they will run.
func (s Spec) validateTransfer() []error {
	var errs []error
	for i, t := range s.TransferSpecs("chained") {
		if len(t.Transfer) > 0 {
			errs = append(errs, fmt.Errorf("transfer[%d].transfer: a transfer run cannot chain further transfers: list them all in the retraining spec", i))
			continue
		}
		if err := t.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("transfer[%d]: %w", i, err))
		}
	}
	return errs
}
