package detector

import (
	"context"
	"fmt"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
)

// A Run is a training.Trainee: training.Loop drives a COCO transfer as it
// drives a classifier.
var _ training.Trainee = (*Run)(nil)

// Position is where the run stands.
func (r *Run) Position() training.Position {
	return training.Position{Step: r.Step, Epoch: r.Epoch, StepInEpoch: r.StepInEpoch}
}

// NextEpoch moves to the next epoch after the last batch of one.
func (r *Run) NextEpoch() { r.Epoch, r.StepInEpoch = r.Epoch+1, 0 }

// MeanLoss is the current epoch's mean total loss so far.
func (r *Run) MeanLoss() float64 { return r.Sums.MeanLoss() }

// Resume restores a checkpoint's weights, optimiser state and position.
func (r *Run) Resume(c *checkpoint.Checkpoint) error { return r.Restore(c, true) }

// Close releases the device's memory (nothing for a run on the host).
func (r *Run) Close() error {
	if r.dev == nil {
		return nil
	}
	err := r.dev.close()
	r.dev = nil
	return err
}

// StartEpoch decodes the current epoch's remaining batches in the
// background, a couple ahead of training.
func (r *Run) StartEpoch(ctx context.Context) training.EpochSteps {
	ctx, cancel := context.WithCancel(ctx)
	e := &epochSteps{run: r, batches: make(chan loaded, 2), cancel: cancel, done: make(chan struct{})}
	epoch, from := r.Epoch, r.StepInEpoch
	go func() {
		defer close(e.done)
		defer close(e.batches)
		for k := from; k < r.StepsPerEpoch(); k++ {
			b, err := r.Batch(epoch, k)
			if err != nil {
				err = fmt.Errorf("detector: loading batch %d of epoch %d: %w", k+1, epoch+1, err)
			}
			select {
			case e.batches <- loaded{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return e
}

type loaded struct {
	b   coco.Batch
	err error
}

type epochSteps struct {
	run     *Run
	batches chan loaded
	cancel  func()
	done    chan struct{}
}

func (e *epochSteps) Step() (int, float64, error) {
	next, ok := <-e.batches
	if !ok {
		return 0, 0, nil
	}
	if next.err != nil {
		return 0, 0, next.err
	}
	l, err := e.run.TrainStep(next.b)
	if err != nil {
		return 0, l.Total(), &training.StepError{Err: err}
	}
	return next.b.N, l.Total(), nil
}

// Close stops the loader and waits for it.
func (e *epochSteps) Close() {
	e.cancel()
	<-e.done
}
