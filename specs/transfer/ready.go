package transfer

import (
	"embed"
	"errors"
	"os"

	"github.com/genius-nas/genius/specs/retrain"
)

//go:embed *.json
var files embed.FS

var shelf = retrain.Shelf{Files: files, Kind: "transfer"}

// Names lists the ready specs (file names without .json), sorted.
func Names() []string { return shelf.Names() }

// Ready returns the ready spec with that name, defaulted and checked like
// a retrain spec (its from_checkpoint is still to be set).
func Ready(name string) (retrain.Spec, error) { return shelf.Ready(name) }

// Load reads a ready spec by name or a spec file.
func Load(nameOrPath string) (retrain.Spec, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return retrain.Load(nameOrPath)
	}
	return Ready(nameOrPath)
}

// Validate checks a transfer spec as GeniusTransfer runs it: a valid
// retrain spec that names the weights to start from and chains nothing.
func Validate(s retrain.Spec) error {
	var errs []error
	if err := s.WithDefaults().Validate(); err != nil {
		errs = append(errs, err)
	}
	if s.FromCheckpoint == "" {
		errs = append(errs, errors.New("from_checkpoint is empty: set it (or --checkpoint) to the store key of the weights to fine-tune, e.g. a GeniusRetrain result's best_checkpoint"))
	}
	if len(s.Transfer) > 0 {
		errs = append(errs, errors.New("transfer: a transfer run cannot chain transfers: list them in the retraining spec"))
	}
	return errors.Join(errs...)
}
