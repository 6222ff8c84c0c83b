package trainact

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
)

// writeCIFAR makes a small CIFAR-10 binary dataset (train and test files)
// whose classes differ in brightness.
func writeCIFAR(t *testing.T, dir string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	for _, name := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		var imgs []data.Image
		var labels []int
		for i := 0; i < n; i++ {
			l := r.IntN(10)
			img := data.Image{W: 32, H: 32, Pix: make([]uint8, 3072)}
			for j := range img.Pix {
				img.Pix[j] = uint8(l*20 + r.IntN(40))
			}
			imgs = append(imgs, img)
			labels = append(labels, l)
		}
		var buf bytes.Buffer
		if err := data.WriteCIFAR(&buf, "cifar10", imgs, labels); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func dirStore(t testing.TB) *storage.Dir {
	t.Helper()
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// proxyInput is a four-step proxy training of a small NAS-Bench-201 cell
// on the CIFAR files in dir.
func proxyInput(dir string) activities.ProxyTrainInput {
	split := int64(3)
	return activities.ProxyTrainInput{Space: "nas-bench-201", Arch: []int{3, 1, 2, 0, 1, 4}, Data: activities.DataSpec{Dir: dir, Format: "cifar10"},
		Classes: 10, Input: 16, Recipe: recipe.Recipe{Steps: 4, Batch: 16, LR: 0.05}, ValFraction: 0.1, Seed: 7, SplitSeed: &split}
}

// proxyRun runs ProxyTrain in a test activity environment, optionally on
// a worker that is already stopping, and returns its heartbeats.
func proxyRun(t *testing.T, acts *TrainingActivities, in activities.ProxyTrainInput, stop bool) ([]TrainingHeartbeat, activities.TrainResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	if stop {
		ch := make(chan struct{})
		close(ch) // the worker began stopping before the first step ended
		env.SetWorkerStopChannel(ch)
	}
	var mu sync.Mutex
	var beats []TrainingHeartbeat
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var hb TrainingHeartbeat
		if details.Get(&hb) == nil {
			mu.Lock()
			beats = append(beats, hb)
			mu.Unlock()
		}
	})
	var res activities.TrainResult
	v, err := env.ExecuteActivity(acts.ProxyTrain, in)
	if err == nil {
		err = v.Get(&res)
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(beats), res, err
}

func mustLoad(t *testing.T, st storage.Store, key string) *checkpoint.Checkpoint {
	t.Helper()
	c, err := loadCheckpoint(context.Background(), st, key)
	if err != nil {
		t.Fatalf("checkpoint %s: %v", key, err)
	}
	return c
}

func TestProxyTrainStoresAndRevalidates(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	st := dirStore(t)
	acts := &TrainingActivities{Store: st, CheckpointEvery: 2}
	in := proxyInput(dataDir)
	beats, res, err := proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || res.Checkpoint != proxyKey(checkpointPrefix(proxyDefaults(in)), 4) || res.ParamsM <= 0 || res.Top1 < 0 || res.Top1 > 1 || res.Top5 < res.Top1 ||
		res.Loss <= 0 || res.ImagesPerS <= 0 || !strings.HasPrefix(res.HeldOut, "12 images") {
		t.Fatalf("result %+v", res)
	}
	if c := mustLoad(t, st, res.Checkpoint); c.Header.Step != 4 {
		t.Errorf("stored checkpoint at step %d, want 4", c.Header.Step)
	}
	// Older checkpoints (step 2) are pruned once a newer one is stored.
	if keys, err := acts.listCheckpoints(context.Background(), checkpointPrefix(proxyDefaults(in))); err != nil || !slices.Equal(keys, []string{res.Checkpoint}) {
		t.Errorf("stored checkpoints %v, %v: want only %s", keys, err, res.Checkpoint)
	}
	// The first heartbeat goes out before the data is open.
	if len(beats) == 0 || beats[0].Phase != "loading" {
		t.Errorf("heartbeats %+v: want the first in phase loading", beats)
	}

	// The same input again finds the final checkpoint and only validates.
	beats, again, err := proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, hb := range beats {
		if hb.Step != 0 {
			t.Errorf("the re-run trained again: heartbeat %+v", hb)
		}
	}
	if again.Steps != 4 || again.Checkpoint != res.Checkpoint || again.Top1 != res.Top1 || again.Loss != res.Loss || again.HeldOut != res.HeldOut {
		t.Errorf("re-run %+v, first run %+v", again, res)
	}

	// A damaged checkpoint is trained again from scratch, to the same weights.
	want := mustLoad(t, st, res.Checkpoint).Values
	p, _ := st.Path(res.Checkpoint)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, fixed, err := proxyRun(t, acts, in, false); err != nil || fixed.Loss != res.Loss {
		t.Fatalf("after damage: %+v, %v", fixed, err)
	}
	if got := mustLoad(t, st, res.Checkpoint).Values; !slices.EqualFunc(got, want, slices.Equal[[]float32]) {
		t.Error("retraining after damage ends with other weights")
	}

	if _, err := (&TrainingActivities{}).ProxyTrain(context.Background(), in); err == nil || !strings.Contains(err.Error(), "--checkpoint-store") {
		t.Errorf("no store: %v", err)
	}
}

// TestHeldOutSplitPerSearch: candidates of one search (one SplitSeed, their
// own Seed and architecture) are validated on the same images.
func TestHeldOutSplitPerSearch(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	acts := &TrainingActivities{Store: dirStore(t), CheckpointEvery: 100}
	heldOut := func(arch []int, seed int64, split *int64) string {
		in := proxyInput(dataDir)
		in.Arch, in.Seed, in.SplitSeed, in.Steps = arch, seed, split, 1
		res, err := acts.ProxyTrain(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return res.HeldOut
	}
	s1, s2 := int64(1), int64(2)
	a := heldOut([]int{3, 1, 2, 0, 1, 4}, 1001, &s1)
	if b := heldOut([]int{1, 1, 1, 1, 1, 1}, 1002, &s1); b != a {
		t.Errorf("one search, two splits: %q and %q", a, b)
	}
	if c := heldOut([]int{1, 1, 1, 1, 1, 1}, 1002, &s2); c == a {
		t.Errorf("another search's seed gave the same split %q", c)
	}
	// Inputs without a split seed (older histories) split per candidate.
	if heldOut([]int{3, 1, 2, 0, 1, 4}, 1001, nil) == heldOut([]int{3, 1, 2, 0, 1, 4}, 1002, nil) {
		t.Error("without split_seed, two candidate seeds gave the same split")
	}
}

func TestProxyTrainCheckpointsWhenWorkerStops(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	in := proxyInput(dataDir)
	prefix := checkpointPrefix(proxyDefaults(in))
	key := proxyKey(prefix, 1)
	// CheckpointEvery above Steps: the only mid-run checkpoint is the stop's.
	acts := &TrainingActivities{Store: dirStore(t), CheckpointEvery: 100}

	beats, _, err := proxyRun(t, acts, in, true)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrWorkerStopping || appErr.NonRetryable() {
		t.Fatalf("stopped run: got %v, want a retryable %s error", err, activities.ErrWorkerStopping)
	}
	if c := mustLoad(t, acts.Store, key); c.Header.Step != 1 {
		t.Errorf("checkpoint at step %d, want 1 (the step in flight when the worker stopped)", c.Header.Step)
	}
	if len(beats) == 0 || beats[len(beats)-1].Checkpoint != key || beats[len(beats)-1].CheckpointStep != 1 {
		t.Errorf("last heartbeat %+v does not name checkpoint %s at step 1", beats, key)
	}

	// The retry resumes at step 2 and ends where an uninterrupted run does.
	var steps []int
	acts.afterStep = func(step int) { steps = append(steps, step) }
	_, res, err := proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []int{2, 3, 4}) || res.Steps != 4 {
		t.Errorf("retry trained steps %v to %d, want 2 to 4 (resumed after step 1)", steps, res.Steps)
	}
	whole := &TrainingActivities{Store: dirStore(t), CheckpointEvery: 100}
	want, err := whole.ProxyTrain(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint != proxyKey(prefix, 4) || want.Checkpoint != res.Checkpoint {
		t.Fatalf("final checkpoints %s and %s, want %s", res.Checkpoint, want.Checkpoint, proxyKey(prefix, 4))
	}
	if !slices.EqualFunc(mustLoad(t, acts.Store, res.Checkpoint).Values, mustLoad(t, whole.Store, res.Checkpoint).Values, slices.Equal[[]float32]) {
		t.Error("stopped and resumed training ends with other weights than an uninterrupted run")
	}
	if res.Top1 != want.Top1 || res.Loss != want.Loss {
		t.Errorf("resumed run measured %+v, uninterrupted %+v", res, want)
	}
}

// TestProxyTrainResumesOnAnotherWorker: a worker stopped mid-candidate
// uploads its checkpoint to S3 (versitygw) before it fails the attempt; the
// retry, on a worker with an empty local disk, resumes from there and ends
// with the uninterrupted run's weights and figures.
func TestProxyTrainResumesOnAnotherWorker(t *testing.T) {
	s3 := storagetest.Start(t)
	remote := s3.Store(t, "proxy", nil)
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	in := proxyInput(dataDir)
	key := proxyKey(checkpointPrefix(proxyDefaults(in)), 1)
	worker := func() *TrainingActivities {
		local, err := storage.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		wb, err := storage.NewWriteBack(local, remote, storage.WriteBackOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { wb.Close() })
		return &TrainingActivities{Store: wb, CheckpointEvery: 100, FlushTimeout: 30 * time.Second}
	}

	a := worker()
	if _, _, err := proxyRun(t, a, in, true); err == nil || !strings.Contains(err.Error(), "holds step 1") {
		t.Fatalf("stopped run on worker A: %v", err)
	}
	if o, err := remote.Stat(context.Background(), key); err != nil || o.Size == 0 {
		t.Fatalf("worker A's checkpoint is not in S3 when its attempt fails: %+v, %v", o, err)
	}

	b := worker()
	var steps []int
	b.afterStep = func(step int) { steps = append(steps, step) }
	_, res, err := proxyRun(t, b, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []int{2, 3, 4}) || res.Steps != 4 {
		t.Errorf("worker B trained steps %v to %d, want 2 to 4 (resumed from worker A's step 1)", steps, res.Steps)
	}
	whole := &TrainingActivities{Store: dirStore(t), CheckpointEvery: 100}
	want, err := whole.ProxyTrain(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint != want.Checkpoint || !slices.EqualFunc(mustLoad(t, remote, res.Checkpoint).Values, mustLoad(t, whole.Store, want.Checkpoint).Values, slices.Equal[[]float32]) {
		t.Error("the candidate resumed on worker B ends with other weights than an uninterrupted run")
	}
	if res.Top1 != want.Top1 || res.Loss != want.Loss || res.HeldOut != want.HeldOut {
		t.Errorf("worker B measured %+v, uninterrupted %+v", res, want)
	}
	// Worker A's checkpoint went once B's final one was uploaded.
	if objs, err := remote.List(context.Background(), checkpointPrefix(proxyDefaults(in))); err != nil || len(objs) != 1 || objs[0].Key != res.Checkpoint {
		t.Errorf("S3 holds %+v (%v), want only %s", objs, err, res.Checkpoint)
	}
}

// slowList is a store whose List waits until released: a checkpoint
// store (or a data folder) that takes long to answer while the activity
// sets up.
type slowList struct {
	storage.Store
	release chan struct{}
}

func (s *slowList) List(ctx context.Context, prefix string) ([]storage.Object, error) {
	select {
	case <-s.release:
	case <-time.After(20 * time.Second):
		return nil, errors.New("slowList: never released")
	}
	return s.Store.List(ctx, prefix)
}

// TestProxyTrainHeartbeatsWhileSettingUp: while the setup waits (here on
// the store) for longer than the heartbeat timeout, ProxyTrain keeps
// heartbeating, so a long data load is not taken for a dead worker.
func TestProxyTrainHeartbeatsWhileSettingUp(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	st := &slowList{Store: dirStore(t), release: make(chan struct{})}
	acts := &TrainingActivities{Store: st}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterActivity(acts)
	var mu sync.Mutex
	loading := 0
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var hb TrainingHeartbeat
		if details.Get(&hb) != nil || hb.Phase != "loading" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if loading++; loading == 4 { // the first, then three from the wait: past the timeout
			close(st.release)
		}
	})
	in := proxyInput(dataDir)
	env.ExecuteWorkflow(func(ctx workflow.Context) (activities.TrainResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 2 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		var res activities.TrainResult
		err := workflow.ExecuteActivity(ctx, activities.ProxyTrainName, in).Get(ctx, &res)
		return res, err
	})
	mu.Lock()
	defer mu.Unlock()
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("%v (heartbeats in phase loading: %d)", err, loading)
	}
	if loading < 4 {
		t.Errorf("%d heartbeats while loading", loading)
	}
}
