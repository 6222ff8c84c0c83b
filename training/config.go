package training

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training/data"
)

// Config is one training run: the network, its input and the recipe.
// Zero values take the defaults given.
type Config struct {
	Space string `json:"space"`
	Arch  []int  `json:"arch"`
	// Classes is the number of outputs. Default: the dataset's classes.
	Classes int `json:"classes,omitempty"`
	// Input is the square input size in pixels. Default 32.
	Input int `json:"input,omitempty"`
	// Recipe is how to train; zero Epochs, Batch and LR take
	// DefaultEpochs, DefaultBatch and DefaultLR.
	recipe.Recipe
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

// Defaults of the engine's settings that the recipe leaves to its trainer.
const (
	DefaultInput  = 32
	DefaultEpochs = 1
	DefaultBatch  = 64
	DefaultLR     = 0.05
)

// WithDefaults is the configuration a run trains with, and whose JSON its
// checkpoints store.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Input <= 0 {
		c.Input = DefaultInput
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
	c.Recipe = c.Recipe.WithDefaults()
	return c
}

func (c Config) validate() error {
	if c.Space == "" {
		return fmt.Errorf("training: config has no space: set Space (for example nas-bench-macro)")
	}
	if err := c.Recipe.Validate(); err != nil {
		// The first problem, as a SettingError naming its field.
		var fe *recipe.FieldError
		if errors.As(err, &fe) {
			return &SettingError{Setting: fe.Field, Err: err}
		}
		return fmt.Errorf("training: %w", err)
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

// TrainTransform is the training data transform the config asks for:
// random-resized-crop and flip (unless NoAugment), RandAugment and random
// erasing.
func (c Config) TrainTransform() data.Transform {
	return data.Transform{Size: c.withDefaults().Input, Train: !c.NoAugment, MinScale: c.MinScale, CropFraction: c.CropFraction,
		RandAugmentN: c.RandAugmentN, RandAugmentM: c.RandAugmentM, RandAugmentMaxM: c.RandAugmentMaxM, RandomErasing: c.RandomErasing}
}
