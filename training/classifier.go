package training

import (
	"context"

	"github.com/genius-nas/genius/training/checkpoint"
)

// Classifier is a Run with its training data: the Trainee of image
// classification (proxy training, retraining, CIFAR transfer).
type Classifier struct {
	Run    *Run
	Loader *Loader
}

func (c *Classifier) Position() Position {
	return Position{Step: c.Run.Step, Epoch: c.Run.Epoch, StepInEpoch: c.Run.StepInEpoch}
}

func (c *Classifier) NextEpoch() { c.Run.Epoch, c.Run.StepInEpoch = c.Run.Epoch+1, 0 }

func (c *Classifier) StepsPerEpoch() int { return c.Loader.Batches() }

func (c *Classifier) TotalSteps() int { return c.Run.Sched.TotalSteps }

func (c *Classifier) MeanLoss() float64 { return c.Run.Sums.MeanLoss() }

func (c *Classifier) Checkpoint() (*checkpoint.Checkpoint, error) { return c.Run.Checkpoint() }

func (c *Classifier) Resume(ck *checkpoint.Checkpoint) error { return c.Run.Restore(ck, true) }

func (c *Classifier) Close() error { return c.Run.Close() }

// DevicePeakBytes is the run's device's peak memory (0 on the CPU).
func (c *Classifier) DevicePeakBytes() int64 { return c.Run.DevicePeakBytes() }

// StartEpoch reads the rest of the current epoch micro-batch by
// micro-batch.
func (c *Classifier) StartEpoch(ctx context.Context) EpochSteps {
	return &classifierEpoch{ctx: ctx, run: c.Run, ep: c.Loader.Start(ctx, c.Run.Epoch, c.Run.StepInEpoch)}
}

type classifierEpoch struct {
	ctx context.Context
	run *Run
	ep  *Epoch
}

// Step trains the micro-batches of one batch, up to its optimiser step;
// it stops between micro-batches when the context is done.
func (e *classifierEpoch) Step() (int, float64, error) {
	images := 0
	for {
		if images > 0 {
			if err := e.ctx.Err(); err != nil {
				return 0, 0, err
			}
		}
		b, err := e.ep.Next()
		if err != nil || b == nil {
			return 0, 0, err // the loader hands out whole batches only
		}
		stepped, loss, err := e.run.TrainMicro(b.X, b.Labels)
		if err != nil {
			return 0, loss, &StepError{Err: err}
		}
		images += len(b.Labels)
		if stepped {
			return images, loss, nil
		}
	}
}

func (e *classifierEpoch) Close() { e.ep.Close() }
