package trainact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// TrainingActivities are the GPU worker's activities (task queue
// genius-gpu): proxy training of a candidate and validation of stored
// weights. They run on the CPU backend when no GPU backend is built.
// Every exported method is registered as an activity.
type TrainingActivities struct {
	// CheckpointDir is the local folder holding checkpoints, one file per
	// key ("<key>.ckpt"). Required.
	CheckpointDir string
	// Backend runs the kernels. Default: tensor.NewCPU on every core.
	Backend tensor.Backend
	// CheckpointEvery is the number of steps between checkpoints during
	// ProxyTrain (a retried activity resumes from the newest). Default 200.
	CheckpointEvery int
	// LoaderWorkers decode images in parallel. Default 2.
	LoaderWorkers int
}

// TrainingHeartbeat is the progress ProxyTrain records as heartbeat
// details: how far it got and which checkpoint holds that state.
type TrainingHeartbeat struct {
	Step       int     `json:"step"`
	TotalSteps int     `json:"total_steps"`
	Epoch      int     `json:"epoch"`
	Loss       float64 `json:"loss"`
	ImagesPerS float64 `json:"images_per_s"`
	Checkpoint string  `json:"checkpoint,omitempty"`
	// CheckpointStep is the step the checkpoint holds.
	CheckpointStep int `json:"checkpoint_step,omitempty"`
}

// errStopping ends training early when the worker stops (or the activity
// is cancelled) right after a checkpoint was written.
var errStopping = errors.New("worker stopping")

// proxyDefaults fills the paper's proxy-training recipe.
func proxyDefaults(in activities.ProxyTrainInput) activities.ProxyTrainInput {
	if in.Input <= 0 {
		in.Input = 196
	}
	if in.Epochs <= 0 {
		in.Epochs = 20
	}
	if in.Batch <= 0 {
		in.Batch = 1024
	}
	if in.LR <= 0 {
		in.LR = 0.5
	}
	if in.Momentum <= 0 {
		in.Momentum = 0.9
	}
	if in.WeightDecay <= 0 {
		in.WeightDecay = 1e-4
	}
	if in.ValFraction <= 0 {
		in.ValFraction = 0.01
	}
	if in.Data.Format == "" {
		in.Data.Format = "imagefolder"
	}
	return in
}

// checkpointKey names a run's checkpoint after everything that determines
// it, so a retry of the same activity finds its own checkpoint.
func checkpointKey(in activities.ProxyTrainInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return "proxy-" + in.Space + "-" + hex.EncodeToString(sum[:8])
}

// openData opens a dataset: its training split (train) or its evaluation
// split. Without a directory it is random images (throughput runs).
func openData(d activities.DataSpec, train bool, classes, size, n int, seed uint64) (data.Dataset, error) {
	if d.Dir == "" {
		if classes <= 0 {
			classes = 1000
		}
		return &data.Random{N: n, NumClasses: classes, Size: size, Seed: seed}, nil
	}
	switch d.Format {
	case "cifar10", "cifar100":
		return data.OpenCIFAR(d.Dir, d.Format, train)
	case "imagefolder", "":
		dir := d.Dir
		sub := "val"
		if train {
			sub = "train"
		}
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			dir = filepath.Join(dir, sub)
		}
		return data.OpenImageFolder(dir)
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("data format %q is not known: set data.format to cifar10, cifar100 or imagefolder", d.Format), activities.ErrBadInput, nil)
}

func (a *TrainingActivities) checkpointPath(key string) (string, error) {
	if a.CheckpointDir == "" {
		return "", errors.New("training activities: CheckpointDir is not set: give the worker a checkpoint directory")
	}
	return filepath.Join(a.CheckpointDir, key+".ckpt"), nil
}

// writeCheckpoint writes atomically (temporary file, then rename) so a
// crash never leaves a half-written checkpoint under the key.
func (a *TrainingActivities) writeCheckpoint(key string, c *checkpoint.Checkpoint) error {
	path, err := a.checkpointPath(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+key)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := checkpoint.Write(tmp, c); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

func (a *TrainingActivities) readCheckpoint(key string) (*checkpoint.Checkpoint, error) {
	path, err := a.checkpointPath(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return checkpoint.Read(bytes.NewReader(b))
}

func (a *TrainingActivities) backend() tensor.Backend {
	if a.Backend != nil {
		return a.Backend
	}
	return tensor.NewCPU(tensor.CPUOptions{})
}

func heartbeat(ctx context.Context, hb TrainingHeartbeat) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, hb)
	}
}

// ProxyTrain trains one candidate with the paper's proxy recipe (defaults
// in ProxyTrainInput), holding out ValFraction of the training data, and
// reports top-1/top-5/loss on it. It heartbeats progress and checkpoints
// every CheckpointEvery steps; a retry resumes from the stored checkpoint.
// When the worker stops it checkpoints after the step in flight,
// heartbeats the key and fails with the retryable ErrWorkerStopping.
func (a *TrainingActivities) ProxyTrain(ctx context.Context, in activities.ProxyTrainInput) (activities.TrainResult, error) {
	in = proxyDefaults(in)
	key := checkpointKey(in)
	seed := uint64(in.Seed)
	n := in.Batch * max(in.Steps, 1) * 2
	ds, err := openData(in.Data, true, in.Classes, in.Input, n, seed)
	if err != nil {
		return activities.TrainResult{}, err
	}
	train, val, err := data.Split(ds, in.ValFraction, seed)
	if err != nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrBadInput, err)
	}
	cfg := training.Config{Space: in.Space, Arch: in.Arch, Classes: in.Classes, Input: in.Input, Epochs: in.Epochs, Steps: in.Steps,
		Batch: min(in.Batch, train.Len()), LR: in.LR, Momentum: in.Momentum, WeightDecay: in.WeightDecay, Seed: seed}
	if in.Input <= 64 {
		cfg.CropFraction = 1 // CIFAR-size inputs are used whole
	}
	every := a.CheckpointEvery
	if every <= 0 {
		every = 200
	}
	// Save is offered a checkpoint after every step (it shares memory with
	// the run, so that costs no copy) and writes every `every` steps, or at
	// once when the worker is stopping, so the retry loses no step.
	opts := training.Options{Backend: a.backend(), CheckpointEvery: 1, LoaderWorkers: a.LoaderWorkers}
	var stopCh <-chan struct{} // nil outside an activity: never ready
	if activity.IsActivity(ctx) {
		stopCh = activity.GetWorkerStopChannel(ctx)
	}
	stopping := func() bool {
		select {
		case <-stopCh:
			return true
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	// The store is the source of truth: resume from the newest checkpoint
	// under this run's key, whatever the heartbeat said.
	if c, err := a.readCheckpoint(key); err == nil {
		opts.Resume = c
	} else if !errors.Is(err, os.ErrNotExist) && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("ignoring unreadable checkpoint; training from scratch", "key", key, "error", err.Error())
	}
	var last TrainingHeartbeat
	if opts.Resume != nil {
		last.Checkpoint, last.CheckpointStep = key, opts.Resume.Header.Step
	}
	var stoppedAt int // step of the checkpoint written because of a stop
	opts.Save = func(ctx context.Context, c *checkpoint.Checkpoint) error {
		stop := stopping() && c.Header.Step < last.TotalSteps // the last step's save finishes the run
		if !stop && c.Header.Step%every != 0 && c.Header.Step < last.TotalSteps {
			return nil
		}
		if err := a.writeCheckpoint(key, c); err != nil {
			return err
		}
		last.Checkpoint, last.CheckpointStep = key, c.Header.Step
		heartbeat(ctx, last)
		if stop {
			stoppedAt = c.Header.Step
			return errStopping
		}
		return nil
	}
	lastBeat := time.Time{}
	opts.Progress = func(p training.Progress) {
		last.Step, last.TotalSteps, last.Epoch, last.Loss, last.ImagesPerS = p.Step, p.TotalSteps, p.Epoch, p.Loss, p.ImagesPerS
		if time.Since(lastBeat) >= time.Second || p.Step == p.TotalSteps {
			heartbeat(ctx, last)
			lastBeat = time.Now()
		}
	}
	res, err := training.Train(ctx, cfg, train, val, opts)
	if errors.Is(err, errStopping) {
		if ctx.Err() != nil {
			return activities.TrainResult{}, ctx.Err()
		}
		return activities.TrainResult{}, temporal.NewApplicationError(
			fmt.Sprintf("proxy training %s %v: the worker is stopping; checkpoint %s holds step %d and the retry resumes there", in.Space, in.Arch, key, stoppedAt),
			activities.ErrWorkerStopping)
	}
	if err != nil {
		return activities.TrainResult{}, fmt.Errorf("proxy training %s %v: %w", in.Space, in.Arch, err)
	}
	return activities.TrainResult{Top1: res.Top1, Top5: res.Top5, Loss: res.Loss, ImagesPerS: res.ImagesPerS, ParamsM: res.ParamsM,
		Steps: res.Steps, Epochs: res.Epochs, Checkpoint: key, PeakMemoryB: res.PeakMemoryB}, nil
}

// Validate evaluates the weights stored under in.Checkpoint (the EMA
// weights when the checkpoint has them) on the evaluation split of a
// dataset: the CIFAR test file, or an image folder's val/ sub-folder (the
// folder itself when it has none).
func (a *TrainingActivities) Validate(ctx context.Context, in activities.ValidateInput) (activities.TrainResult, error) {
	if in.Checkpoint == "" {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError("validate: no checkpoint key: set checkpoint to the key ProxyTrain returned", activities.ErrBadInput, nil)
	}
	c, err := a.readCheckpoint(in.Checkpoint)
	if err != nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("validate: checkpoint %s: %v", in.Checkpoint, err), activities.ErrBadCheckpoint, err)
	}
	classes := in.Classes
	if classes <= 0 {
		classes = c.Header.Classes
	}
	input := in.Input
	if input <= 0 {
		input = c.Header.Input
	}
	batch := in.Batch
	if batch <= 0 {
		batch = 256
	}
	ds, err := openData(in.Data, false, classes, input, batch, c.Header.Seed+1)
	if err != nil {
		return activities.TrainResult{}, err
	}
	cfg := training.Config{Space: in.Space, Arch: in.Arch, Classes: classes, Input: input, Batch: batch}
	if input <= 64 {
		cfg.CropFraction = 1
	}
	be := a.backend()
	run, err := training.NewRun(be, cfg, ds.Classes(), 1)
	if err != nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrBadInput, err)
	}
	if err := run.Restore(c, false); err != nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrBadCheckpoint, err)
	}
	start := time.Now()
	l := &data.Loader{Data: ds, Batch: batch, Transform: data.Transform{Size: input, CropFraction: cfg.CropFraction}, Workers: a.LoaderWorkers}
	m, err := run.Evaluate(ctx, l)
	if err != nil {
		return activities.TrainResult{}, fmt.Errorf("validate %s %v: %w", in.Space, in.Arch, err)
	}
	heartbeat(ctx, TrainingHeartbeat{Step: l.Batches(), TotalSteps: l.Batches(), Checkpoint: in.Checkpoint})
	return activities.TrainResult{Top1: m.Top1, Top5: m.Top5, Loss: m.Loss, ImagesPerS: float64(m.Samples) / time.Since(start).Seconds(),
		ParamsM: float64(run.Net.NumParams()) / 1e6, Steps: c.Header.Step, Epochs: c.Header.Epoch, Checkpoint: in.Checkpoint,
		PeakMemoryB: training.PeakRSS()}, nil
}
