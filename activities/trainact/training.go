package trainact

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// TrainingActivities are the GPU worker's proxy training of candidates
// (task queue genius-gpu), on the CPU backend when no GPU backend is
// built. Every exported method is registered as an activity.
type TrainingActivities struct {
	// Store holds the checkpoints (required), one object per candidate
	// under proxy/: the source of truth a retry resumes from, on this
	// worker or another. Use a storage.WriteBack in front of S3 so training
	// never waits for uploads.
	Store storage.Store
	// Backend runs the kernels. Default: tensor.NewCPU on every core.
	Backend tensor.Backend
	// Device, when set, is the GPU candidates train on (Backend then only
	// prepares batches); nil trains on the CPU.
	Device *training.Device
	// MicroBatch, when > 0, is the micro-batch of candidates whose input
	// sets none: the largest divisor of their batch up to it. It becomes
	// part of the input the checkpoints are named after, so a worker set
	// otherwise never resumes a candidate trained with another.
	MicroBatch int
	// CheckpointEvery is the number of steps between checkpoints during
	// ProxyTrain (a retried activity resumes from the newest). Default 200.
	CheckpointEvery int
	// LoaderWorkers decode images in parallel. Default 2.
	LoaderWorkers int
	// FlushTimeout bounds the wait for a write-back store's uploads when
	// the worker stops and when a candidate is done. Default 2 minutes.
	FlushTimeout time.Duration

	// afterStep, when set, runs after every optimiser step (tests).
	afterStep func(step int)
}

// TrainingHeartbeat is the progress ProxyTrain records as heartbeat
// details: how far it got and which checkpoint holds that state.
type TrainingHeartbeat struct {
	// Phase is "loading" while the data is opened and the checkpoint
	// read, "training", then "validating".
	Phase      string  `json:"phase"`
	Step       int     `json:"step"`
	TotalSteps int     `json:"total_steps"`
	Epoch      int     `json:"epoch"`
	Loss       float64 `json:"loss"`
	ImagesPerS float64 `json:"images_per_s"`
	// PeakMemoryB is the worker process's peak resident memory so far.
	PeakMemoryB int64 `json:"peak_memory_bytes,omitempty"`
	// DevicePeakB is the GPU's peak memory (0 on the CPU).
	DevicePeakB int64  `json:"peak_device_memory_bytes,omitempty"`
	Checkpoint  string `json:"checkpoint,omitempty"`
	// CheckpointStep is the step the checkpoint holds.
	CheckpointStep int `json:"checkpoint_step,omitempty"`
	// Backend is what the candidate trains on ("cpu-avx512", "cuda:0 ...").
	Backend string `json:"backend,omitempty"`
}

// proxyFields name the search spec field of each training setting.
var proxyFields = recipeFields("evaluator.train.", map[string]string{"Arch": "the candidate's arch", "Classes": "evaluator.train.classes"})

// recipeFields adds to names the spec field, under prefix, of each recipe
// setting: its JSON name.
func recipeFields(prefix string, names map[string]string) map[string]string {
	for _, f := range reflect.VisibleFields(reflect.TypeFor[recipe.Recipe]()) {
		names[f.Name] = prefix + recipe.JSONName(f.Name)
	}
	return names
}

// errStopping ends training early when the worker stops (or the activity
// is cancelled) right after a checkpoint was written.
var errStopping = errors.New("worker stopping")

// proxyDropout is proxy training's dropout, as the engine's default was
// before a zero recipe dropout meant none. It is filled into the engine's
// configuration, not the input, whose JSON names the checkpoints.
const proxyDropout = 0.2

// proxyDefaults fills the paper's proxy-training recipe into the input
// whose JSON names the checkpoints (so momentum's default is written out,
// as it always was). Weight decay keeps its old reading of negative values
// (1e-4).
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
	if in.Momentum == 0 {
		in.Momentum = recipe.DefaultMomentum
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

// checkpointPrefix names a candidate's checkpoints after everything that
// determines them, so a retry of the same activity, on any worker, finds
// them.
func checkpointPrefix(in activities.ProxyTrainInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return "proxy/" + in.Space + "-" + hex.EncodeToString(sum[:8]) + "/"
}

// proxyKey is the key of a candidate's checkpoint at a step. Every step
// gets its own key: a write-back store uploads whole objects in the
// background, and a key rewritten during its upload could keep the older
// content remotely.
func proxyKey(prefix string, step int) string { return fmt.Sprintf("%sstep-%09d.ckpt", prefix, step) }

// heldOutDigest names a held-out split: its size and a hash of its indices.
func heldOutDigest(val *data.Subset) string {
	h := sha256.New()
	var b [8]byte
	for _, i := range val.Indices {
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		h.Write(b[:])
	}
	noun := "images"
	if len(val.Indices) == 1 {
		noun = "image"
	}
	return fmt.Sprintf("%d %s, sha256 %s", len(val.Indices), noun, hex.EncodeToString(h.Sum(nil)[:8]))
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

func (a *TrainingActivities) backend() tensor.Backend {
	if a.Backend != nil {
		return a.Backend
	}
	return tensor.NewCPU(tensor.CPUOptions{})
}

func (a *TrainingActivities) flushTimeout() time.Duration {
	if a.FlushTimeout > 0 {
		return a.FlushTimeout
	}
	return 2 * time.Minute
}

// flush waits, at most FlushTimeout, until a write-back store has uploaded
// everything, so another worker can read what this one wrote.
func (a *TrainingActivities) flush(ctx context.Context) error {
	f, ok := a.Store.(flusher)
	if !ok {
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, a.flushTimeout())
	defer cancel()
	return f.Flush(fctx)
}

// listCheckpoints returns the keys under prefix, newest first. With the
// remote store unreachable a write-back store's local copies still count.
func (a *TrainingActivities) listCheckpoints(ctx context.Context, prefix string) ([]string, error) {
	objs, err := a.Store.List(ctx, prefix)
	if err != nil {
		l, ok := a.Store.(interface{ Local() *storage.Dir })
		if !ok {
			return nil, err
		}
		if objs, err = l.Local().List(ctx, prefix); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".ckpt") {
			keys = append(keys, o.Key)
		}
	}
	slices.Sort(keys) // zero-padded steps sort in training order
	slices.Reverse(keys)
	return keys, nil
}

// resume loads the candidate's newest checkpoint that verifies, skipping
// damaged ones; nil when there is none (training starts over). A store
// that cannot be read is an error: the retry had better wait than redo
// hours of training.
func (a *TrainingActivities) resume(ctx context.Context, prefix string) (*checkpoint.Checkpoint, error) {
	keys, err := a.listCheckpoints(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints %s in %s: %w", prefix, a.Store, err)
	}
	for _, key := range keys {
		c, err := loadCheckpoint(ctx, a.Store, key)
		var sumErr *storage.ChecksumError
		switch {
		case err == nil:
			return c, nil
		case errors.As(err, &sumErr) || errors.Is(err, checkpoint.ErrCorrupt) || errors.Is(err, fs.ErrNotExist):
			if activity.IsActivity(ctx) {
				activity.GetLogger(ctx).Warn("skipping damaged checkpoint", "key", key, "error", err.Error())
			}
		default:
			return nil, fmt.Errorf("reading checkpoint %s from %s: %w", key, a.Store, err)
		}
	}
	return nil, nil
}

// prune deletes a candidate's checkpoints older than its newest one that
// is durable (uploaded, with a write-back store).
func (a *TrainingActivities) prune(ctx context.Context, prefix string) {
	keys, err := a.listCheckpoints(ctx, prefix)
	if err != nil {
		return
	}
	pending := map[string]bool{}
	if f, ok := a.Store.(flusher); ok {
		for _, k := range f.Status().Pending {
			pending[k] = true
		}
	}
	durable := false
	for _, k := range keys { // newest first
		if durable {
			if err := a.Store.Delete(ctx, k); err != nil && activity.IsActivity(ctx) {
				activity.GetLogger(ctx).Warn("pruning checkpoint", "key", k, "error", err.Error())
			}
			continue
		}
		durable = !pending[k]
	}
}

// ProxyTrain trains one candidate with the paper's proxy recipe (defaults
// in ProxyTrainInput), holding out ValFraction of the training data
// (picked by SplitSeed), and reports top-1/top-5/loss on it. It heartbeats
// from the start, checkpoints to the store every CheckpointEvery steps and
// at the end; a retry, on this worker or another, resumes from the
// store's checkpoint (and only validates when training had finished).
// When the worker stops it checkpoints after the step in flight, waits for
// the upload, heartbeats the key and fails with the retryable
// ErrWorkerStopping.
func (a *TrainingActivities) ProxyTrain(ctx context.Context, in activities.ProxyTrainInput) (activities.TrainResult, error) {
	if a.Store == nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(
			"proxy training: the worker has no checkpoint store: start it with --checkpoint-store (GENIUS_CHECKPOINT_STORE)", activities.ErrNoCheckpointStore, nil)
	}
	in = proxyDefaults(in)
	workerMicro := in.MicroBatch == 0 && a.MicroBatch > 0
	if workerMicro {
		in.MicroBatch = divisorUpTo(in.Batch, a.MicroBatch)
	}
	prefix := checkpointPrefix(in)
	// Loading an image folder and reading a checkpoint can take minutes:
	// heartbeat all along.
	last := TrainingHeartbeat{Phase: "loading"}
	heartbeat(ctx, last)
	beats := &heartbeater[TrainingHeartbeat]{busy: 1, hb: last}
	defer beats.start(ctx)()

	seed := uint64(in.Seed)
	splitSeed := seed
	if in.SplitSeed != nil {
		splitSeed = uint64(*in.SplitSeed)
	}
	n := in.Batch * max(in.Steps, 1) * 2
	ds, err := openData(in.Data, true, in.Classes, in.Input, n, splitSeed)
	if err != nil {
		return activities.TrainResult{}, err
	}
	train, val, err := data.Split(ds, in.ValFraction, splitSeed)
	if err != nil {
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrBadInput, err)
	}
	cfg := training.Config{Space: in.Space, Arch: in.Arch, Classes: in.Classes, Input: in.Input, Recipe: in.Recipe}
	cfg.Batch, cfg.Seed = min(in.Batch, train.Len()), seed
	if cfg.Dropout == 0 {
		cfg.Dropout = proxyDropout
	}
	if in.Input <= 64 && cfg.CropFraction == 0 {
		cfg.CropFraction = 1 // CIFAR-size inputs are used whole
	}
	if workerMicro {
		cfg.MicroBatch = divisorUpTo(cfg.Batch, a.MicroBatch) // the batch may have shrunk to the data
	}
	every := a.CheckpointEvery
	if every <= 0 {
		every = 200
	}
	// Save is offered a checkpoint after every step (it shares memory with
	// the run, so that costs no copy) and writes every `every` steps, or at
	// once when the worker is stopping, so the retry loses no step.
	opts := training.Options{Backend: a.backend(), Device: a.Device, CheckpointEvery: 1, LoaderWorkers: a.LoaderWorkers}
	last.Backend = backendName(a.Device, opts.Backend)
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
	if opts.Resume, err = a.resume(ctx, prefix); err != nil {
		return activities.TrainResult{}, err
	}
	if opts.Resume != nil {
		last.Checkpoint, last.CheckpointStep = proxyKey(prefix, opts.Resume.Header.Step), opts.Resume.Header.Step
	}
	last.Phase = "training"
	beats.publish(last)
	beats.done()            // setup over: from now on silence means a hung loop
	var stoppedAt int       // step of the checkpoint written because of a stop
	validating := func() {} // ends the heartbeats during the final validation
	defer func() { validating() }()
	opts.Save = func(ctx context.Context, c *checkpoint.Checkpoint) error {
		stop := stopping() && c.Header.Step < last.TotalSteps // the last step's save finishes the run
		if !stop && c.Header.Step%every != 0 && c.Header.Step < last.TotalSteps {
			return nil
		}
		key := proxyKey(prefix, c.Header.Step)
		// A resumed run that had finished saves its final state again:
		// the store has it already.
		if opts.Resume == nil || c.Header.Step != opts.Resume.Header.Step {
			pctx := ctx
			if stop {
				pctx = context.WithoutCancel(ctx) // a cancelled attempt keeps its progress too
			}
			done := beats.keepAlive()
			err := putCheckpoint(pctx, a.Store, key, c)
			if err == nil {
				a.prune(pctx, prefix)
			}
			done()
			if err != nil {
				return err
			}
		}
		last.Checkpoint, last.CheckpointStep = key, c.Header.Step
		if c.Header.Step >= last.TotalSteps && last.Phase != "validating" {
			// Validation reports no progress: keep heartbeating through it.
			last.Phase = "validating"
			validating = beats.keepAlive()
		}
		beats.publish(last)
		if stop {
			stoppedAt = c.Header.Step
			return errStopping
		}
		return nil
	}
	opts.Progress = func(p training.Progress) {
		last.Step, last.TotalSteps, last.Epoch, last.Loss, last.ImagesPerS = p.Step, p.TotalSteps, p.Epoch, p.Loss, p.ImagesPerS
		last.PeakMemoryB, last.DevicePeakB = p.PeakMemoryB, p.DevicePeakB
		beats.publish(last)
		if a.afterStep != nil {
			a.afterStep(p.Step)
		}
	}
	res, err := training.Train(ctx, cfg, train, val, opts)
	if errors.Is(err, errStopping) {
		// The retry may run on another worker: wait for the upload first.
		done := beats.keepAlive()
		ferr := a.flush(context.WithoutCancel(ctx))
		done()
		if ctx.Err() != nil {
			return activities.TrainResult{}, ctx.Err()
		}
		heartbeat(ctx, last)
		msg := fmt.Sprintf("proxy training %s %v: the worker is stopping; checkpoint %s holds step %d and the retry resumes there", in.Space, in.Arch, last.Checkpoint, stoppedAt)
		if ferr != nil {
			msg += " (on this worker: its upload did not finish: " + ferr.Error() + ")"
		}
		return activities.TrainResult{}, temporal.NewApplicationError(msg, activities.ErrWorkerStopping)
	}
	if de := deviceFailure(fmt.Sprintf("proxy training %s %v on %s", in.Space, in.Arch, last.Backend), err,
		proxyFields["MicroBatch"]+" (or, for specs that set none, the gpu worker's --micro-batch, GENIUS_MICRO_BATCH)"); de != nil {
		return activities.TrainResult{}, de
	}
	if se := (*training.SettingError)(nil); errors.As(err, &se) {
		// A setting that does not fit (a memory limit too) fails every retry.
		err = training.NameSetting(err, proxyFields)
		return activities.TrainResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("proxy training %s %v: %v", in.Space, in.Arch, err), activities.ErrBadInput, err)
	}
	if err != nil {
		return activities.TrainResult{}, fmt.Errorf("proxy training %s %v: %w", in.Space, in.Arch, err)
	}
	final := proxyKey(prefix, res.Steps)
	done := beats.keepAlive()
	if err := a.flush(ctx); err != nil && activity.IsActivity(ctx) {
		// The result stands; the upload goes on in the background.
		activity.GetLogger(ctx).Warn("candidate checkpoint not yet uploaded", "key", final, "error", err.Error())
	} else if err == nil {
		a.prune(ctx, prefix)
	}
	done()
	return activities.TrainResult{Top1: res.Top1, Top5: res.Top5, Loss: res.Loss, ImagesPerS: res.ImagesPerS, ParamsM: res.ParamsM,
		Steps: res.Steps, Epochs: res.Epochs, Checkpoint: final, PeakMemoryB: res.PeakMemoryB, DevicePeakB: res.DevicePeakB, HeldOut: heldOutDigest(val), Backend: cmp.Or(res.Backend, last.Backend)}, nil
}

// divisorUpTo is the largest divisor of batch that is at most micro; 0
// (whole batches) when that is the batch itself.
func divisorUpTo(batch, micro int) int {
	for m := min(micro, batch); m > 1; m-- {
		if batch%m == 0 {
			if m == batch {
				return 0
			}
			return m
		}
	}
	if batch > 1 {
		return 1
	}
	return 0
}

func heartbeat(ctx context.Context, hb TrainingHeartbeat) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, hb)
	}
}
