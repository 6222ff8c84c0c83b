package trainact

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// RetrainActivities run the final retraining (workflow GeniusRetrain) on
// the GPU workers' queue. Every exported method is registered as an
// activity.
type RetrainActivities struct {
	// Store holds the checkpoints and epoch results (required): the source of
	// truth a retried chunk resumes from, on this worker or another. Use a
	// storage.WriteBack in front of S3 so training never waits for uploads.
	Store storage.Store
	// Backend runs the kernels. Default: tensor.NewCPU on every core.
	Backend tensor.Backend
	// Device, when set, is the GPU runs train on (training.NewDeviceRun;
	// Backend then only prepares batches); nil trains on the CPU.
	Device *training.Device
	// LoaderWorkers decode images in parallel. Default 2.
	LoaderWorkers int
	// FlushTimeout bounds the wait at a chunk's end for a write-back store's
	// pending uploads (old checkpoints are pruned only once the newest is
	// uploaded). Default 2 minutes.
	FlushTimeout time.Duration

	// afterStep, when set, runs after every optimiser step (tests).
	afterStep func(step int)
}

// CheckpointKey is the store key of a run's checkpoint at a step.
func CheckpointKey(run string, step int) string {
	return fmt.Sprintf("retrain/%s/step-%09d.ckpt", run, step)
}

func epochKey(run string, epoch int) string {
	return fmt.Sprintf("retrain/%s/epochs/epoch-%05d.json", run, epoch)
}

// checkpointStep parses the step out of a CheckpointKey (-1 if it is not one).
func checkpointStep(key string) int {
	var step int
	if _, err := fmt.Sscanf(path.Base(key), "step-%09d.ckpt", &step); err != nil {
		return -1
	}
	return step
}

// retrainConfig maps a spec onto the training engine's configuration.
func retrainConfig(s retrain.Spec) training.Config {
	cfg := training.Config{Space: s.Space, Arch: s.Arch, Classes: s.Classes, Input: s.Input, Recipe: s.Recipe}
	if cfg.Dropout == 0 {
		// None, written as older workers wrote it: a checkpoint resumes
		// only under a byte-equal configuration.
		cfg.Dropout = -1
	}
	if cfg.CropFraction == 0 && (s.Input <= 64 || strings.HasPrefix(s.Data.Format, "cifar")) {
		cfg.CropFraction = 1 // CIFAR-size inputs, and CIFAR images upsampled for transfer, are used whole
	}
	return cfg
}

// specFields name the retrain spec field of each training setting.
var specFields = recipeFields("", map[string]string{"Arch": "arch", "Classes": "classes"})

func badSpec(err error) error {
	return temporal.NewNonRetryableApplicationError("retrain spec: "+err.Error(), activities.ErrRetrainBadSpec, nil)
}

// retrainData opens the training and validation sets.
func retrainData(s retrain.Spec) (train, val data.Dataset, err error) {
	d := activities.DataSpec{Dir: s.Data.Dir, Format: s.Data.Format}
	train, err = openData(d, true, s.Classes, s.Input, s.Data.TrainSamples, s.Seed)
	if err != nil {
		return nil, nil, err
	}
	val, err = openData(d, false, s.Classes, s.Input, s.Data.ValSamples, s.Seed+1)
	if err != nil {
		return nil, nil, err
	}
	return train, val, nil
}

// chunkRun is one attempt at a chunk.
type chunkRun struct {
	a        *RetrainActivities
	in       activities.RetrainChunkInput
	spec     retrain.Spec
	run      trainer
	newRun   func() (trainer, error)
	perEpoch int
	total    int
	hb       activities.RetrainHeartbeat
	beats    *heartbeater[activities.RetrainHeartbeat]
	lastSave time.Time
	best     *activities.RetrainBest
}

// RetrainChunk trains the epochs (FromEpoch, UntilEpoch] of a retraining
// run. It writes a checkpoint every CheckpointEverySteps steps or
// CheckpointEveryMinutes minutes and at each epoch's end, then heartbeats the
// key; each epoch's evaluation (live and EMA network) goes to the store too.
// A retried attempt resumes from the newest checkpoint that verifies.
func (a *RetrainActivities) RetrainChunk(ctx context.Context, in activities.RetrainChunkInput) (activities.RetrainChunkResult, error) {
	if a.Store == nil {
		return activities.RetrainChunkResult{}, temporal.NewNonRetryableApplicationError(
			"retrain: the worker has no checkpoint store: start it with --checkpoint-store (GENIUS_CHECKPOINT_STORE)", activities.ErrRetrainNoStore, nil)
	}
	spec := in.Spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return activities.RetrainChunkResult{}, badSpec(err)
	}
	if !retrain.ValidCheckpointRun(in.CheckpointRun) {
		return activities.RetrainChunkResult{}, badSpec(fmt.Errorf("run %q is not a valid run name", in.CheckpointRun))
	}
	if in.UntilEpoch <= in.FromEpoch || in.UntilEpoch > spec.Epochs {
		return activities.RetrainChunkResult{}, badSpec(fmt.Errorf("chunk (%d, %d] is not within 1..%d epochs", in.FromEpoch, in.UntilEpoch, spec.Epochs))
	}
	// Heartbeat from the start: opening a large image folder and building
	// the network can outlast the heartbeat timeout.
	beats := &heartbeater[activities.RetrainHeartbeat]{busy: 1}
	defer beats.start(ctx)()
	be := a.Backend
	if be == nil {
		be = tensor.NewCPU(tensor.CPUOptions{})
	}
	newRun, err := a.newTrainer(spec, be)
	if err != nil {
		return activities.RetrainChunkResult{}, err
	}
	run, err := newRun()
	if err != nil {
		return activities.RetrainChunkResult{}, err
	}
	c := &chunkRun{a: a, in: in, spec: spec, run: run, newRun: newRun, perEpoch: run.StepsPerEpoch(), total: run.TotalSteps(),
		best: in.Best, beats: beats}
	defer func() { _ = c.run.Close() }() // c.run may be replaced by a fresh run
	res := activities.RetrainChunkResult{TotalSteps: c.total, Backend: backendName(a.Device, be)}
	c.hb.Backend = res.Backend
	resumed, err := c.resume(ctx)
	if err == nil && resumed == nil && spec.FromCheckpoint != "" {
		err = c.loadBackbone(ctx, spec.FromCheckpoint) // transfer: a fresh run starts from those weights
	}
	beats.done() // setup over: from now on silence means a hung loop
	if err != nil {
		return res, err
	}
	if resumed != nil && (resumed.Step > in.FromEpoch*c.perEpoch || len(resumed.Skipped) > 0) {
		res.Resumed = resumed
	}
	untilStep := min(c.total, in.UntilEpoch*c.perEpoch)
	if err := c.trainUntil(ctx, untilStep); err != nil {
		if de := deviceFailure("retrain on "+res.Backend, err, specFields["MicroBatch"]); de != nil {
			return res, de
		}
		return res, err
	}
	pos := c.run.Position()
	res.Checkpoint, res.Step, res.Epoch = c.hb.Checkpoint, pos.Step, pos.Epoch
	res.Done = pos.Step >= c.total
	if res.Checkpoint == "" || checkpointStep(res.Checkpoint) != pos.Step {
		// Resumed at the chunk's end already: make sure the end state is named.
		res.Checkpoint = CheckpointKey(in.CheckpointRun, pos.Step)
	}
	last := pos.Epoch
	if res.Done && pos.StepInEpoch > 0 {
		last++ // the partial final epoch was evaluated too
	}
	for e := in.FromEpoch + 1; e <= last; e++ {
		stop := c.keepAlive()
		ep, err := a.readEpoch(ctx, in.CheckpointRun, e)
		stop()
		if err != nil {
			return res, fmt.Errorf("retrain: epoch %d result: %w", e, err)
		}
		res.Epochs = append(res.Epochs, ep)
		c.consider(ep)
	}
	res.Best = c.best
	stop := c.keepAlive()
	res.PendingUploads = a.prune(ctx, c)
	stop()
	return res, nil
}

// resume restores the newest checkpoint that verifies among the heartbeat's,
// the input's and the store's.
func (c *chunkRun) resume(ctx context.Context) (*activities.RetrainResume, error) {
	type cand struct {
		key, source string
	}
	var cands []cand
	var reached int
	attempt := 1
	if activity.IsActivity(ctx) {
		attempt = int(activity.GetInfo(ctx).Attempt)
		var hb activities.RetrainHeartbeat
		if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &hb) == nil {
			reached = hb.Step
			if hb.Checkpoint != "" {
				cands = append(cands, cand{hb.Checkpoint, "heartbeat"})
			}
		}
	}
	if c.in.Resume != "" {
		cands = append(cands, cand{c.in.Resume, "input"})
	}
	stop := c.keepAlive()
	objs, err := c.a.Store.List(ctx, "retrain/"+c.in.CheckpointRun+"/step-")
	stop()
	if err != nil {
		if ctx.Err() != nil || len(cands) == 0 {
			return nil, fmt.Errorf("retrain: listing checkpoints: %w", err)
		}
		// S3 down: the input's and the heartbeat's keys may still be on this
		// worker's disk (write-back store); training need not wait.
		if activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("cannot list checkpoints; resuming from the known keys", "error", err.Error())
		}
	}
	for _, o := range objs {
		cands = append(cands, cand{o.Key, "store"})
	}
	// Newest first; on a tie the first named source wins.
	sort.SliceStable(cands, func(i, j int) bool { return checkpointStep(cands[i].key) > checkpointStep(cands[j].key) })
	wantConfig, err := c.run.config()
	if err != nil {
		return nil, err
	}
	var skipped []string
	seen := map[string]bool{}
	for _, cd := range cands {
		if seen[cd.key] || checkpointStep(cd.key) < 0 {
			continue
		}
		seen[cd.key] = true
		start := time.Now()
		stop := c.keepAlive()
		ck, err := c.a.load(ctx, cd.key)
		stop()
		if err == nil && !bytes.Equal(ck.Header.Config, wantConfig) {
			err = fmt.Errorf("it was written with another recipe (%s): a run name is reused; give the spec a new run", ck.Header.Config)
		}
		if err == nil {
			err = c.run.Resume(ck)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A checkpoint the heartbeat named may never have reached the
			// store (its worker died before the upload): try an older one.
			skipped = append(skipped, cd.key+": "+err.Error())
			if activity.IsActivity(ctx) {
				activity.GetLogger(ctx).Warn("skipping checkpoint", "key", cd.key, "error", err.Error())
			}
			continue
		}
		if c.run.Position().StepInEpoch >= c.perEpoch {
			c.run.NextEpoch()
		}
		pos := c.run.Position()
		r := &activities.RetrainResume{Attempt: attempt, Checkpoint: cd.key, Step: pos.Step, Source: cd.source, ReachedStep: reached,
			Skipped: skipped, LoadSeconds: time.Since(start).Seconds()}
		if reached > r.Step {
			r.RedoneSteps = reached - r.Step
		}
		c.hb.Checkpoint, c.hb.CheckpointStep = cd.key, pos.Step
		// A crash between an epoch's checkpoint and its evaluation leaves the
		// epoch without a result: evaluate it now, from exactly that state.
		if pos.StepInEpoch == 0 && pos.Epoch > 0 {
			stop := c.keepAlive()
			_, err := c.a.Store.Stat(ctx, epochKey(c.in.CheckpointRun, pos.Epoch))
			stop()
			if errors.Is(err, fs.ErrNotExist) {
				if err := c.evaluate(ctx, pos.Epoch, false, c.run.MeanLoss(), 0); err != nil {
					return nil, err
				}
			} else if err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	if len(skipped) > 0 && c.in.FromEpoch > 0 {
		return nil, fmt.Errorf("retrain: no checkpoint of run %s verifies (%s): the chunk cannot resume", c.in.CheckpointRun, strings.Join(skipped, "; "))
	}
	if c.in.FromEpoch > 0 {
		return nil, fmt.Errorf("retrain: run %s has no checkpoint to resume epoch %d from in %s", c.in.CheckpointRun, c.in.FromEpoch+1, c.a.Store)
	}
	if len(skipped) > 0 {
		// A failed restore may have overwritten part of the weights.
		run, err := c.newRun()
		if err != nil {
			return nil, err
		}
		_ = c.run.Close()
		c.run = run
	}
	return nil, nil
}

// trainUntil trains until untilStep: a checkpoint every
// CheckpointEverySteps steps or CheckpointEveryMinutes minutes within an
// epoch and one at each epoch's end, then the epoch's evaluation.
func (c *chunkRun) trainUntil(ctx context.Context, untilStep int) error {
	every := c.spec.CheckpointEverySteps
	interval := time.Duration(c.spec.CheckpointEveryMinutes * float64(time.Minute))
	c.lastSave = time.Now()
	c.hb.TotalSteps = c.total
	loop := training.Loop{Until: untilStep,
		Progress: func(p training.Progress) {
			c.hb.Step, c.hb.Epoch, c.hb.Loss, c.hb.PeakMemoryB, c.hb.DevicePeakB = p.Step, p.Epoch, p.Loss, p.PeakMemoryB, p.DevicePeakB
			if c.a.afterStep != nil {
				c.a.afterStep(p.Step)
			}
			c.publish()
		},
		SaveNow: func(p training.Position, epochEnd bool) bool {
			if epochEnd {
				return true
			}
			// An epoch's last step is saved once the epoch ends.
			return p.StepInEpoch < c.perEpoch && p.Step < c.total && (p.Step%every == 0 || time.Since(c.lastSave) >= interval)
		},
		Save: c.save,
		EpochEnd: func(ctx context.Context, e training.EpochSummary) error {
			return c.evaluate(ctx, e.Epoch, e.Partial, e.TrainLoss, e.ImagesPerS)
		},
	}
	_, err := loop.Run(ctx, c.run)
	if se := (*training.StepError)(nil); errors.As(err, &se) {
		return diverged(se.Err)
	}
	return err
}

// save writes a checkpoint of the run to the store, then heartbeats its
// key.
func (c *chunkRun) save(ctx context.Context, ck *checkpoint.Checkpoint) error {
	step := ck.Header.Step
	key := CheckpointKey(c.in.CheckpointRun, step)
	stop := c.keepAlive()
	err := c.a.put(ctx, key, ck)
	stop()
	if err != nil {
		return fmt.Errorf("retrain: saving checkpoint at step %d: %w", step, err)
	}
	c.lastSave = time.Now()
	c.hb.Checkpoint, c.hb.CheckpointStep = key, step
	c.publish()
	return nil
}

// heartbeater sends heartbeats from its own goroutine: RecordHeartbeat can
// block while the Temporal server is unreachable, and training must go on
// meanwhile. It sends the newest progress once a second when it changed, or
// while a store call is in flight (S3 retrying, a flush waiting for
// uploads), so a slow store is not mistaken for a dead worker while a hung
// training loop still is.
type heartbeater[T any] struct {
	mu      sync.Mutex
	hb      T
	changed bool
	busy    int
}

// start runs the heartbeater in an activity (outside one it does nothing)
// until the returned stop is called.
func (h *heartbeater[T]) start(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	hctx, cancel := context.WithCancel(ctx)
	beating := make(chan struct{})
	go func() { defer close(beating); h.run(hctx) }()
	return func() { cancel(); <-beating }
}

func (h *heartbeater[T]) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		h.mu.Lock()
		send, hb := h.changed || h.busy > 0, h.hb
		h.changed = false
		h.mu.Unlock()
		if send {
			activity.RecordHeartbeat(ctx, hb)
		}
	}
}

// done ends the setup phase, during which heartbeats are sent regardless.
func (h *heartbeater[T]) done() {
	h.mu.Lock()
	h.busy--
	h.mu.Unlock()
}

// keepAlive marks a store call in flight; call the returned stop after it.
func (h *heartbeater[T]) keepAlive() (stop func()) {
	h.mu.Lock()
	h.busy++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.busy--
		h.mu.Unlock()
	}
}

// publish hands new progress to the heartbeater.
func (h *heartbeater[T]) publish(hb T) {
	h.mu.Lock()
	h.hb = hb
	h.changed = true
	h.mu.Unlock()
}

func (c *chunkRun) keepAlive() (stop func()) { return c.beats.keepAlive() }

func (c *chunkRun) publish() { c.beats.publish(c.hb) }

// evaluate measures the network on the validation data and stores the
// epoch's result.
func (c *chunkRun) evaluate(ctx context.Context, epoch int, partial bool, trainLoss, ips float64) error {
	step := c.run.Position().Step
	ep, err := c.run.evaluate(ctx, epoch)
	if err != nil {
		return err
	}
	ep.Epoch, ep.Step, ep.Partial, ep.TrainLoss, ep.ImagesPerS, ep.PeakMemoryB = epoch, step, partial, trainLoss, ips, training.PeakRSS()
	if d, ok := c.run.(interface{ DevicePeakBytes() int64 }); ok {
		ep.DevicePeakB = d.DevicePeakBytes()
	}
	ep.Checkpoint = CheckpointKey(c.in.CheckpointRun, step)
	b, _ := json.Marshal(ep)
	stop := c.keepAlive()
	err = c.a.Store.Put(ctx, epochKey(c.in.CheckpointRun, epoch), bytes.NewReader(b), int64(len(b)))
	stop()
	if err != nil {
		return fmt.Errorf("retrain: storing epoch %d result: %w", epoch, err)
	}
	if activity.IsActivity(ctx) {
		kv := []any{"run", c.in.CheckpointRun, "epoch", epoch, "step", step, "train_loss", trainLoss}
		if ep.COCO != nil {
			kv = append(kv, "ap", ep.COCO.AP, "ap50", ep.COCO.AP50)
		} else {
			kv = append(kv, "top1", ep.Top1, "ema_top1", ep.EMATop1)
		}
		activity.GetLogger(ctx).Info("epoch done", kv...)
	}
	c.consider(ep)
	return nil
}

// consider keeps the best epoch: the highest EMA top-1, or for a detector
// the highest COCO AP.
func (c *chunkRun) consider(ep activities.RetrainEpoch) {
	better := c.best == nil || ep.EMATop1 > c.best.EMATop1
	if ep.COCO != nil {
		better = c.best == nil || c.best.COCO == nil || ep.COCO.AP > c.best.COCO.AP
	}
	if better {
		c.best = &activities.RetrainBest{Epoch: ep.Epoch, EMATop1: ep.EMATop1, EMATop5: ep.EMATop5, COCO: ep.COCO, Checkpoint: ep.Checkpoint}
	}
}

func (a *RetrainActivities) put(ctx context.Context, key string, ck *checkpoint.Checkpoint) error {
	return putCheckpoint(ctx, a.Store, key, ck)
}

func (a *RetrainActivities) load(ctx context.Context, key string) (*checkpoint.Checkpoint, error) {
	return loadCheckpoint(ctx, a.Store, key)
}

// putCheckpoint streams a checkpoint into the store; it returns once the
// encoder is done with the run's tensors.
func putCheckpoint(ctx context.Context, st storage.Store, key string, ck *checkpoint.Checkpoint) error {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 1<<20)
		err := checkpoint.Write(bw, ck)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	err := st.Put(ctx, key, pr, -1)
	pr.CloseWithError(errors.New("store stopped reading"))
	<-done
	return err
}

// loadCheckpoint reads a checkpoint, verifying the store's checksum (by
// reading to the end) and the checkpoint's own.
func loadCheckpoint(ctx context.Context, st storage.Store, key string) (*checkpoint.Checkpoint, error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return checkpoint.Read(bytes.NewReader(b))
}

func (a *RetrainActivities) readEpoch(ctx context.Context, run string, epoch int) (activities.RetrainEpoch, error) {
	rc, err := a.Store.Get(ctx, epochKey(run, epoch))
	if err != nil {
		return activities.RetrainEpoch{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return activities.RetrainEpoch{}, err
	}
	var ep activities.RetrainEpoch
	if err := json.Unmarshal(b, &ep); err != nil {
		return activities.RetrainEpoch{}, fmt.Errorf("%s: %w", epochKey(run, epoch), err)
	}
	return ep, nil
}

// flusher is a store with background uploads (storage.WriteBack).
type flusher interface {
	Flush(ctx context.Context) error
	Status() storage.WriteBackStatus
}

// prune deletes the run's step checkpoints other than the newest
// KeepCheckpoints and the best, once the newest is durable, and returns the
// number of uploads still pending.
func (a *RetrainActivities) prune(ctx context.Context, c *chunkRun) int {
	if f, ok := a.Store.(flusher); ok {
		timeout := a.FlushTimeout
		if timeout <= 0 {
			timeout = 2 * time.Minute
		}
		fctx, cancel := context.WithTimeout(ctx, timeout)
		err := f.Flush(fctx)
		cancel()
		if err != nil {
			// Keep everything until the uploads catch up.
			return len(f.Status().Pending)
		}
	}
	objs, err := a.Store.List(ctx, "retrain/"+c.in.CheckpointRun+"/step-")
	if err != nil {
		return 0
	}
	keep := c.spec.KeepCheckpoints
	for i, o := range objs {
		newest := i >= len(objs)-keep
		if newest || (c.best != nil && o.Key == c.best.Checkpoint) || checkpointStep(o.Key) > c.run.Position().Step {
			continue
		}
		if err := a.Store.Delete(ctx, o.Key); err != nil && activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("pruning checkpoint", "key", o.Key, "error", err.Error())
		}
	}
	return 0
}

// RetrainCheckpointKeys lists a run's stored step checkpoints, oldest first
// (the CLI and tests).
func RetrainCheckpointKeys(ctx context.Context, st storage.Store, run string) ([]string, error) {
	objs, err := st.List(ctx, "retrain/"+run+"/step-")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	slices.SortFunc(keys, func(a, b string) int { return checkpointStep(a) - checkpointStep(b) })
	return keys, nil
}
