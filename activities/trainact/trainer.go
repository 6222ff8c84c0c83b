package trainact

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// trainer is what a chunk trains: a classifier (retraining, CIFAR
// transfer) or a detector (COCO transfer). The chunk's loop, checkpoints,
// resume and heartbeats are the same for both.
type trainer interface {
	position() position
	// nextEpoch starts the next epoch after the last batch of one.
	nextEpoch()
	stepsPerEpoch() int
	totalSteps() int
	// meanLoss is the current epoch's mean training loss so far.
	meanLoss() float64
	// config is the recipe as checkpoints record it: a resumed run must
	// have been written with the same.
	config() ([]byte, error)
	checkpoint() (*checkpoint.Checkpoint, error)
	// restore resumes from a checkpoint: weights, optimiser, position.
	restore(*checkpoint.Checkpoint) error
	// loadBackbone starts a transfer from a classifier's weights.
	loadBackbone(*checkpoint.Checkpoint) (int, error)
	// startEpoch iterates over the rest of the current epoch.
	startEpoch(ctx context.Context) epochSteps
	// evaluate measures the network on the validation split (the
	// metrics of an activities.RetrainEpoch; the caller fills the rest).
	evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error)
	// close releases device memory.
	close() error
}

// position is where a run stands: optimiser steps, completed epochs and
// the batches done in the current one.
type position struct{ Step, Epoch, StepInEpoch int }

// epochSteps trains one batch per Step: it returns the images trained on
// (0 at the epoch's end) and the batch's loss.
type epochSteps interface {
	Step() (images int, loss float64, err error)
	Close()
}

// diverged is the non-retryable error of a training step that failed on
// its data or numbers (a retry would fail the same way).
func diverged(err error) error {
	if de := deviceFailure("training step", err, specFields["MicroBatch"]); de != nil {
		return de
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRetrainDiverged, err)
}

// newTrainer opens the spec's data and returns how to build its run.
func (a *RetrainActivities) newTrainer(spec retrain.Spec, be tensor.Backend) (func() (trainer, error), error) {
	if spec.IsDetection() {
		if a.Device != nil {
			return nil, deviceFailure("retrain on "+a.Device.Name, fmt.Errorf("COCO detection: %w", training.ErrDeviceUnsupported), specFields["MicroBatch"])
		}
		return a.newDetectorTrainer(spec, be)
	}
	train, val, err := retrainData(spec)
	if err != nil {
		return nil, err
	}
	cfg := retrainConfig(spec)
	if train.Len() < cfg.Batch {
		return nil, badSpec(fmt.Errorf("%d training images are fewer than one batch of %d: lower batch", train.Len(), cfg.Batch))
	}
	loader := training.NewLoader(cfg, train, a.LoaderWorkers) // micro-batches
	perEpoch := loader.Batches()
	return func() (trainer, error) {
		var run *training.Run
		var err error
		if a.Device != nil {
			run, err = training.NewDeviceRun(a.Device, cfg, train.Classes(), perEpoch)
		} else {
			run, err = training.NewRun(be, cfg, train.Classes(), perEpoch)
		}
		if de := deviceFailure("retrain on "+backendName(a.Device, be), err, specFields["MicroBatch"]); de != nil {
			return nil, de
		}
		if err != nil {
			return nil, badSpec(training.NameSetting(err, specFields))
		}
		return &classifier{run: run, loader: loader, val: val, workers: a.LoaderWorkers, perEpoch: perEpoch}, nil
	}, nil
}

// classifier trains a training.Run on an image dataset.
type classifier struct {
	run      *training.Run
	loader   *training.Loader
	val      data.Dataset
	workers  int
	perEpoch int
}

func (c *classifier) position() position {
	return position{c.run.Step, c.run.Epoch, c.run.StepInEpoch}
}

func (c *classifier) nextEpoch() { c.run.Epoch, c.run.StepInEpoch = c.run.Epoch+1, 0 }

func (c *classifier) stepsPerEpoch() int { return c.perEpoch }

func (c *classifier) totalSteps() int { return c.run.Sched.TotalSteps }

func (c *classifier) meanLoss() float64 { return c.run.Sums.MeanLoss() }

func (c *classifier) config() ([]byte, error) { return json.Marshal(c.run.Config) }

func (c *classifier) checkpoint() (*checkpoint.Checkpoint, error) { return c.run.Checkpoint() }

func (c *classifier) close() error { return c.run.Close() }

func (c *classifier) restore(ck *checkpoint.Checkpoint) error { return c.run.Restore(ck, true) }

func (c *classifier) loadBackbone(ck *checkpoint.Checkpoint) (int, error) {
	return c.run.LoadBackbone(ck)
}

func (c *classifier) startEpoch(ctx context.Context) epochSteps {
	return &classifierEpoch{run: c.run, ep: c.loader.Start(ctx, c.run.Epoch, c.run.StepInEpoch)}
}

type classifierEpoch struct {
	run *training.Run
	ep  *training.Epoch
}

// Step trains the micro-batches of one batch, up to its optimiser step.
func (e *classifierEpoch) Step() (int, float64, error) {
	images := 0
	for {
		b, err := e.ep.Next()
		if err != nil || b == nil {
			return 0, 0, err // the loader hands out whole batches only
		}
		stepped, loss, err := e.run.TrainMicro(b.X, b.Labels)
		if err != nil {
			return 0, loss, diverged(err)
		}
		images += len(b.Labels)
		if stepped {
			return images, loss, nil
		}
	}
}

func (e *classifierEpoch) Close() { e.ep.Close() }

// evaluate measures the live and the EMA network.
func (c *classifier) evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error) {
	cfg := c.run.Config
	vl := &data.Loader{Data: c.val, Batch: cfg.Micro(), Workers: c.workers,
		Transform: data.Transform{Size: cfg.Input, CropFraction: cfg.CropFraction}}
	ema := c.run.EMA
	c.run.EMA = nil // Evaluate uses the EMA weights when there are some
	live, err := c.run.Evaluate(ctx, vl)
	c.run.EMA = ema
	if err != nil {
		return activities.RetrainEpoch{}, fmt.Errorf("retrain: evaluating epoch %d: %w", epoch, err)
	}
	avg := live
	if ema != nil {
		if avg, err = c.run.Evaluate(ctx, vl); err != nil {
			return activities.RetrainEpoch{}, fmt.Errorf("retrain: evaluating the EMA network at epoch %d: %w", epoch, err)
		}
	}
	return activities.RetrainEpoch{Top1: live.Top1, Top5: live.Top5, Loss: live.Loss, EMATop1: avg.Top1, EMATop5: avg.Top5, EMALoss: avg.Loss}, nil
}
