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
// transfer) or a detector (COCO transfer). training.Loop drives both; the
// chunk adds the recipe check, transfer and per-epoch evaluation.
type trainer interface {
	training.Trainee
	// config is the recipe as checkpoints record it: a resumed run must
	// have been written with the same.
	config() ([]byte, error)
	// loadBackbone starts a transfer from a classifier's weights.
	loadBackbone(*checkpoint.Checkpoint) (int, error)
	// evaluate measures the network on the validation split (the
	// metrics of an activities.RetrainEpoch; the caller fills the rest).
	evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error)
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
		return &classifier{Classifier: &training.Classifier{Run: run, Loader: loader}, val: val, workers: a.LoaderWorkers}, nil
	}, nil
}

// classifier trains a training.Run on an image dataset.
type classifier struct {
	*training.Classifier
	val     data.Dataset
	workers int
}

func (c *classifier) config() ([]byte, error) { return json.Marshal(c.Run.Config) }

func (c *classifier) loadBackbone(ck *checkpoint.Checkpoint) (int, error) {
	return c.Run.LoadBackbone(ck)
}

// evaluate measures the live and the EMA network.
func (c *classifier) evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error) {
	cfg := c.Run.Config
	vl := &data.Loader{Data: c.val, Batch: cfg.Micro(), Workers: c.workers,
		Transform: data.Transform{Size: cfg.Input, CropFraction: cfg.CropFraction}}
	ema := c.Run.EMA
	c.Run.EMA = nil // Evaluate uses the EMA weights when there are some
	live, err := c.Run.Evaluate(ctx, vl)
	c.Run.EMA = ema
	if err != nil {
		return activities.RetrainEpoch{}, fmt.Errorf("retrain: evaluating epoch %d: %w", epoch, err)
	}
	avg := live
	if ema != nil {
		if avg, err = c.Run.Evaluate(ctx, vl); err != nil {
			return activities.RetrainEpoch{}, fmt.Errorf("retrain: evaluating the EMA network at epoch %d: %w", epoch, err)
		}
	}
	return activities.RetrainEpoch{Top1: live.Top1, Top5: live.Top5, Loss: live.Loss, EMATop1: avg.Top1, EMATop5: avg.Top5, EMALoss: avg.Loss}, nil
}
