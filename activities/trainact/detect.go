package trainact

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
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
		run, err := detector.NewRun(be, cfg, train)
		if err != nil {
			return nil, badSpec(err)
		}
		return &detectorRun{run: run, val: val}, nil
	}, nil
}

// detectorRun trains a RetinaNet (task detection).
type detectorRun struct {
	run *detector.Run
	val *coco.Dataset
}

func (d *detectorRun) position() position {
	return position{d.run.Step, d.run.Epoch, d.run.StepInEpoch}
}

func (d *detectorRun) nextEpoch() { d.run.Epoch, d.run.StepInEpoch = d.run.Epoch+1, 0 }

func (d *detectorRun) stepsPerEpoch() int { return d.run.StepsPerEpoch() }

func (d *detectorRun) totalSteps() int { return d.run.TotalSteps() }

func (d *detectorRun) meanLoss() float64 { return d.run.Sums.MeanLoss() }

func (d *detectorRun) config() ([]byte, error) { return json.Marshal(d.run.Config) }

func (d *detectorRun) checkpoint() (*checkpoint.Checkpoint, error) { return d.run.Checkpoint() }

func (d *detectorRun) restore(ck *checkpoint.Checkpoint) error { return d.run.Restore(ck, true) }

func (d *detectorRun) loadBackbone(ck *checkpoint.Checkpoint) (int, error) {
	return d.run.LoadBackbone(ck)
}

// startEpoch decodes the epoch's remaining batches in the background, a
// couple ahead of training.
func (d *detectorRun) startEpoch(ctx context.Context) epochSteps {
	ctx, cancel := context.WithCancel(ctx)
	e := &detectorEpoch{run: d.run, batches: make(chan loaded, 2), cancel: cancel, done: make(chan struct{})}
	epoch, from := d.run.Epoch, d.run.StepInEpoch
	go func() {
		defer close(e.done)
		defer close(e.batches)
		for k := from; k < d.run.StepsPerEpoch(); k++ {
			b, err := d.run.Batch(epoch, k)
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

type detectorEpoch struct {
	run     *detector.Run
	batches chan loaded
	cancel  func()
	done    chan struct{}
}

func (e *detectorEpoch) Step() (int, float64, error) {
	next, ok := <-e.batches
	if !ok {
		return 0, 0, nil
	}
	if next.err != nil {
		return 0, 0, next.err
	}
	l, err := e.run.TrainStep(next.b)
	if err != nil {
		return 0, l.Total(), diverged(err)
	}
	return next.b.N, l.Total(), nil
}

// Close stops the loader and waits for it.
func (e *detectorEpoch) Close() {
	e.cancel()
	<-e.done
}

// evaluate runs the detector over the validation split and scores it with
// COCO's bbox evaluation.
func (d *detectorRun) evaluate(ctx context.Context, epoch int) (activities.RetrainEpoch, error) {
	res, err := d.run.Evaluate(ctx, d.val, d.run.Config.Batch)
	if err != nil {
		return activities.RetrainEpoch{}, fmt.Errorf("detector: evaluating epoch %d: %w", epoch, err)
	}
	return activities.RetrainEpoch{COCO: &res.Stats}, nil
}

func (d *detectorRun) close() error { return nil }
