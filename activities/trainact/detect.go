package trainact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/detector"
	"github.com/genius-nas/genius/training/tensor"
)

// detectorConfig maps a detection spec onto the detector's configuration.
func detectorConfig(s retrain.Spec, classes int) detector.Config {
	cfg := detector.Config{Space: s.Space, Arch: s.Arch, Classes: classes, Epochs: s.Epochs, Batch: s.Batch, LR: s.LR,
		Momentum: s.Momentum, WeightDecay: s.WeightDecay, Seed: s.Seed}
	if d := s.Detector; d != nil {
		cfg.MaxLong, cfg.MaxShort = d.MaxSize[0], d.MaxSize[1]
		cfg.Channels, cfg.StackedConvs, cfg.FrozenStages = d.Channels, d.StackedConvs, d.FrozenStages
		cfg.WarmupIters, cfg.StepEpochs, cfg.ClipNorm = d.WarmupIters, d.StepEpochs, d.ClipNorm
	}
	return cfg.WithDefaults()
}

// newDetectorTrainer opens a COCO folder (train2017 to train on, val2017
// to evaluate on).
func (a *RetrainActivities) newDetectorTrainer(spec retrain.Spec, be tensor.Backend) (func() (trainer, error), error) {
	open := func(split string) (*coco.Dataset, error) {
		ds, err := coco.Open(coco.AnnotationPath(spec.Data.Dir, split), coco.ImageDir(spec.Data.Dir, split))
		if err != nil {
			return nil, badSpec(fmt.Errorf("data.dir %s: %w (a COCO folder holds annotations/instances_%s.json and %s/)", spec.Data.Dir, err, split, split))
		}
		return ds, nil
	}
	train, err := open(coco.TrainSplit)
	if err != nil {
		return nil, err
	}
	val, err := open(coco.ValSplit)
	if err != nil {
		return nil, err
	}
	classes := len(train.Classes)
	if spec.Classes != 0 && spec.Classes != classes {
		return nil, badSpec(fmt.Errorf("classes %d: the training set has %d categories (drop classes or set it to %d)", spec.Classes, classes, classes))
	}
	cfg := detectorConfig(spec, classes)
	return func() (trainer, error) {
		var run *detector.Run
		var err error
		if a.Device != nil {
			run, err = detector.NewDeviceRun(a.Device, cfg, train)
		} else {
			run, err = detector.NewRun(be, cfg, train)
		}
		if a.Device != nil && errors.Is(err, kernels.ErrOutOfMemory) {
			// Detection has no micro-batches: the batch or the image size
			// must shrink.
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("retrain on %s: %v: lower batch or detector.max_size", a.Device.Name, err),
				activities.ErrDeviceOutOfMemory, err)
		}
		if de := deviceFailure("retrain on "+backendName(a.Device, be), err, specFields["Batch"]); de != nil {
			return nil, de
		}
		if err != nil {
			return nil, badSpec(err)
		}
		return &detectorRun{Run: run, val: val}, nil
	}, nil
}

// detectorRun trains a RetinaNet (task detection).
type detectorRun struct {
	*detector.Run
	val *coco.Dataset
}

func (d *detectorRun) config() ([]byte, error) { return json.Marshal(d.Run.Config) }

func (d *detectorRun) loadBackbone(ck *checkpoint.Checkpoint) (int, error) {
	return d.Run.LoadBackbone(ck)
}

// evaluate runs the detector over the validation split and scores it with
// COCO's bbox evaluation.
func (d *detectorRun) evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error) {
	res, err := d.Run.Evaluate(ctx, d.val, d.Run.Config.Batch)
	if err != nil {
		return activities.RetrainEpoch{}, fmt.Errorf("detector: evaluating epoch %d: %w", epoch, err)
	}
	return activities.RetrainEpoch{COCO: &res.Stats}, nil
}
