package training

import (
	"context"

	"github.com/genius-nas/genius/training/data"
)

// Loader hands out a run's training data micro-batch by micro-batch, so
// only a micro-batch of images is ever prepared at once. The micro-batches
// of a step are its batch cut in order: the same samples with the same
// augmentation as one whole batch (data.Loader's order and randomness
// depend on the epoch and the sample, not on the batch size).
type Loader struct {
	loader data.Loader // its Batch is the micro-batch
	batch  int
}

// NewLoader is the training loader of cfg (shuffled, augmented by
// cfg.TrainTransform, a final partial batch dropped) over ds with workers
// decoding goroutines (0: data.Loader's default).
func NewLoader(cfg Config, ds data.Dataset, workers int) *Loader {
	cfg = cfg.withDefaults()
	return &Loader{batch: cfg.Batch, loader: data.Loader{Data: ds, Batch: cfg.Micro(), Transform: cfg.TrainTransform(),
		Shuffle: true, DropLast: true, Seed: cfg.Seed, Workers: workers}}
}

// Batches is the number of whole batches, that is optimiser steps, in an
// epoch.
func (l *Loader) Batches() int { return l.loader.Data.Len() / l.batch }

// Start begins epoch (0-based) after its first `steps` batches (resuming
// mid-epoch).
func (l *Loader) Start(ctx context.Context, epoch, steps int) *Epoch {
	k := l.batch / l.loader.Batch
	return &Epoch{ep: l.loader.Start(ctx, epoch, steps*k), left: (l.Batches() - steps) * k}
}

// Epoch is one pass of a Loader; read it with Next and Close it.
type Epoch struct {
	ep   *data.Epoch
	left int // micro-batches of whole batches still to hand out
}

// Next returns the next micro-batch, or nil after the epoch's last whole
// batch. It stays valid until the following call to Next or Close.
func (e *Epoch) Next() (*data.Batch, error) {
	if e.left <= 0 {
		return nil, nil
	}
	e.left--
	return e.ep.Next()
}

// Close stops the background work and waits for it.
func (e *Epoch) Close() { e.ep.Close() }
