package training

import (
	"context"
	"fmt"
	"time"

	"github.com/genius-nas/genius/training/checkpoint"
)

// Position is where a run stands: optimiser steps taken, completed epochs
// and the batches done in the current epoch.
type Position struct{ Step, Epoch, StepInEpoch int }

// Trainee is what a Loop trains: a classifier (Classifier: proxy training,
// retraining, CIFAR transfer) or a detector (training/detector: COCO
// transfer).
type Trainee interface {
	Position() Position
	// NextEpoch moves the position to the next epoch after the last batch
	// of one.
	NextEpoch()
	StepsPerEpoch() int
	TotalSteps() int
	// MeanLoss is the current epoch's mean training loss so far, steps
	// before a resume included.
	MeanLoss() float64
	// StartEpoch iterates over the rest of the current epoch.
	StartEpoch(ctx context.Context) EpochSteps
	// Checkpoint captures the full state, sharing memory with the run:
	// write it before the next step.
	Checkpoint() (*checkpoint.Checkpoint, error)
	// Resume restores a checkpoint written by Checkpoint: weights,
	// optimiser state and position.
	Resume(*checkpoint.Checkpoint) error
	// Close releases what the trainee holds on a device.
	Close() error
}

// EpochSteps trains one batch per Step, up to and including its optimiser
// step: it returns the images trained on (0 after the epoch's last batch)
// and the batch's loss. A failure of the step itself (its data or its
// numbers, as opposed to loading the batch) is a *StepError.
type EpochSteps interface {
	Step() (images int, loss float64, err error)
	// Close stops the epoch's background loading and waits for it.
	Close()
}

// StepError is a training step that failed on its data or its numbers (a
// label out of range, a loss that is not finite, a device fault) rather
// than on loading its batch: from the same state it fails the same way.
type StepError struct{ Err error }

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// EpochSummary is what a Loop reports when an epoch ends.
type EpochSummary struct {
	// Epoch is the number (1-based) of the epoch that ended.
	Epoch int
	// Partial: the schedule ended before the epoch's last batch.
	Partial bool
	// TrainLoss is the mean loss of all the epoch's steps (those before a
	// resume too).
	TrainLoss float64
	// ImagesPerS is the throughput of the epoch's steps in this Run.
	ImagesPerS float64
}

// Loop trains a Trainee from its position. Its hooks are what differ
// between proxy training (Train) and a retraining chunk; nil hooks are
// skipped.
type Loop struct {
	// Until is the step to stop at (the end of a chunk); 0 or more than
	// the trainee's TotalSteps: the end of the schedule.
	Until int
	// Progress is called after every optimiser step.
	Progress func(Progress)
	// SaveNow says whether to checkpoint (Save) at a position: after a
	// step (epochEnd false; the position may be at the epoch's last
	// batch), and at an epoch's end or the schedule's (epochEnd true; the
	// position has moved to the next epoch unless the schedule ended
	// mid-epoch).
	SaveNow func(p Position, epochEnd bool) bool
	// Save writes a checkpoint; it shares memory with the run.
	Save func(ctx context.Context, c *checkpoint.Checkpoint) error
	// EpochEnd is called after each epoch's end (and its save), and after
	// a partial final epoch when the schedule ends mid-epoch.
	EpochEnd func(ctx context.Context, e EpochSummary) error
}

// Throughput is how much a Loop's Run trained.
type Throughput struct {
	Images  int
	Elapsed time.Duration
}

// ImagesPerS is the training images per second.
func (t Throughput) ImagesPerS() float64 { return float64(t.Images) / t.Elapsed.Seconds() }

// Run trains t until l.Until (or the schedule's end) or until ctx is done,
// returning ctx's error then. It does not close t.
func (l *Loop) Run(ctx context.Context, t Trainee) (Throughput, error) {
	total, perEpoch := t.TotalSteps(), t.StepsPerEpoch()
	until := total
	if l.Until > 0 && l.Until < total {
		until = l.Until
	}
	start := time.Now()
	var images int
	pos := t.Position()
	for pos.Step < until {
		ep := t.StartEpoch(ctx)
		epochImages, epochStart := 0, time.Now()
		for pos.Step < until {
			if err := ctx.Err(); err != nil {
				ep.Close()
				return Throughput{images, time.Since(start)}, err
			}
			n, loss, err := ep.Step()
			if err != nil {
				ep.Close()
				return Throughput{images, time.Since(start)}, err
			}
			if n == 0 {
				break
			}
			images += n
			epochImages += n
			pos = t.Position()
			if l.Progress != nil {
				el := time.Since(start)
				l.Progress(Progress{Epoch: pos.Epoch, Step: pos.Step, TotalSteps: total, Loss: loss,
					ImagesPerS: float64(images) / el.Seconds(), Elapsed: el, PeakMemoryB: PeakRSS(), DevicePeakB: devicePeak(t)})
			}
			if err := l.maybeSave(ctx, t, pos, false); err != nil {
				ep.Close()
				return Throughput{images, time.Since(start)}, err
			}
		}
		ep.Close()
		ended := pos.StepInEpoch >= perEpoch
		if ended {
			t.NextEpoch()
			pos = t.Position()
		} else if pos.Step < until {
			if err := ctx.Err(); err != nil {
				return Throughput{images, time.Since(start)}, err // a background loader stopped early
			}
			return Throughput{images, time.Since(start)}, fmt.Errorf("training: epoch %d ran out of batches after %d of %d steps", pos.Epoch+1, pos.StepInEpoch, perEpoch)
		}
		if !ended && pos.Step < total {
			continue // stopped mid-epoch at Until: the epoch goes on later
		}
		if err := l.maybeSave(ctx, t, pos, true); err != nil {
			return Throughput{images, time.Since(start)}, err
		}
		if l.EpochEnd != nil {
			e := EpochSummary{Epoch: pos.Epoch, Partial: !ended, TrainLoss: t.MeanLoss()}
			if !ended {
				e.Epoch++ // the schedule ended a partial epoch
			}
			if el := time.Since(epochStart).Seconds(); el > 0 {
				e.ImagesPerS = float64(epochImages) / el
			}
			if err := l.EpochEnd(ctx, e); err != nil {
				return Throughput{images, time.Since(start)}, err
			}
		}
	}
	return Throughput{images, time.Since(start)}, nil
}

// maybeSave checkpoints at pos when the policy asks for it.
func (l *Loop) maybeSave(ctx context.Context, t Trainee, pos Position, epochEnd bool) error {
	if l.Save == nil || l.SaveNow == nil || !l.SaveNow(pos, epochEnd) {
		return nil
	}
	c, err := t.Checkpoint()
	if err != nil {
		return fmt.Errorf("training: saving checkpoint at step %d: %w", pos.Step, err)
	}
	return l.Save(ctx, c)
}

// devicePeak is the trainee's peak device memory, 0 when it trains on the
// CPU.
func devicePeak(t Trainee) int64 {
	if d, ok := t.(interface{ DevicePeakBytes() int64 }); ok {
		return d.DevicePeakBytes()
	}
	return 0
}
