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

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genius-nas/genius/activities"
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

func TestProxyTrainThenValidate(t *testing.T) {
	dataDir, ckDir := t.TempDir(), t.TempDir()
	writeCIFAR(t, dataDir, 24)
	acts := &TrainingActivities{CheckpointDir: ckDir, CheckpointEvery: 2}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	var mu sync.Mutex
	var beats []TrainingHeartbeat
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		var hb TrainingHeartbeat
		if details.Get(&hb) == nil {
			beats = append(beats, hb)
		}
	})
	in := activities.ProxyTrainInput{Space: "nas-bench-201", Arch: []int{3, 1, 2, 0, 1, 4}, Data: activities.DataSpec{Dir: dataDir, Format: "cifar10"},
		Classes: 10, Input: 16, Steps: 4, Batch: 16, LR: 0.05, ValFraction: 0.1, Seed: 7}
	v, err := env.ExecuteActivity(acts.ProxyTrain, in)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.TrainResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || res.Checkpoint == "" || res.ParamsM <= 0 || res.Top1 < 0 || res.Top1 > 1 || res.ImagesPerS <= 0 {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(ckDir, res.Checkpoint+".ckpt")); err != nil {
		t.Fatalf("checkpoint not stored: %v", err)
	}
	mu.Lock()
	n := len(beats)
	mu.Unlock()
	if n == 0 {
		t.Error("no heartbeats recorded")
	}

	vin := activities.ValidateInput{Space: in.Space, Arch: in.Arch, Data: in.Data, Batch: 32, Checkpoint: res.Checkpoint}
	v, err = env.ExecuteActivity(acts.Validate, vin)
	if err != nil {
		t.Fatal(err)
	}
	var vres activities.TrainResult
	if err := v.Get(&vres); err != nil {
		t.Fatal(err)
	}
	if vres.Steps != 4 || vres.Top5 < vres.Top1 || vres.Loss <= 0 {
		t.Fatalf("validate result %+v", vres)
	}

	// A retry of the same input finds its checkpoint and does not train again.
	v, err = env.ExecuteActivity(acts.ProxyTrain, in)
	if err != nil {
		t.Fatal(err)
	}
	var again activities.TrainResult
	_ = v.Get(&again)
	if again.Steps != 4 || again.Checkpoint != res.Checkpoint {
		t.Errorf("retry result %+v", again)
	}

	// Wrong architecture and damaged checkpoints are clear errors.
	bad := vin
	bad.Arch = []int{3, 3, 3, 3, 3, 3}
	if _, err := env.ExecuteActivity(acts.Validate, bad); err == nil || !strings.Contains(err.Error(), "architecture it was trained with") {
		t.Errorf("mismatched arch: %v", err)
	}
	path := filepath.Join(ckDir, res.Checkpoint+".ckpt")
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	_ = os.WriteFile(path, b, 0o644)
	if _, err := env.ExecuteActivity(acts.Validate, vin); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt checkpoint: %v", err)
	}
	if _, err := env.ExecuteActivity(acts.Validate, activities.ValidateInput{Space: in.Space, Arch: in.Arch}); err == nil {
		t.Error("validate without a checkpoint key succeeded")
	}
}

func TestProxyTrainCheckpointsWhenWorkerStops(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	in := activities.ProxyTrainInput{Space: "nas-bench-201", Arch: []int{3, 1, 2, 0, 1, 4}, Data: activities.DataSpec{Dir: dataDir, Format: "cifar10"},
		Classes: 10, Input: 16, Steps: 4, Batch: 16, LR: 0.05, ValFraction: 0.1, Seed: 7}
	key := checkpointKey(proxyDefaults(in))
	// CheckpointEvery above Steps: the only mid-run checkpoint is the stop's.
	acts := &TrainingActivities{CheckpointDir: t.TempDir(), CheckpointEvery: 100}
	var suite testsuite.WorkflowTestSuite
	run := func(stop bool) ([]TrainingHeartbeat, activities.TrainResult, error) {
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

	beats, _, err := run(true)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrWorkerStopping || appErr.NonRetryable() {
		t.Fatalf("stopped run: got %v, want a retryable %s error", err, activities.ErrWorkerStopping)
	}
	c, err := acts.readCheckpoint(key)
	if err != nil {
		t.Fatalf("no checkpoint after the stop: %v", err)
	}
	if c.Header.Step != 1 {
		t.Errorf("checkpoint at step %d, want 1 (the step in flight when the worker stopped)", c.Header.Step)
	}
	if len(beats) == 0 || beats[len(beats)-1].Checkpoint != key || beats[len(beats)-1].CheckpointStep != 1 {
		t.Errorf("last heartbeat %+v does not name checkpoint %s at step 1", beats, key)
	}

	// The retry resumes at step 2 and ends where an uninterrupted run does.
	beats, res, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(beats) == 0 || beats[0].Step != 2 {
		t.Errorf("retry's first heartbeat %+v, want step 2 (resumed after step 1)", beats)
	}
	if res.Steps != 4 {
		t.Errorf("retry trained to step %d, want 4", res.Steps)
	}
	resumed, err := acts.readCheckpoint(key)
	if err != nil {
		t.Fatal(err)
	}
	whole := &TrainingActivities{CheckpointDir: t.TempDir(), CheckpointEvery: 100}
	if _, err := whole.ProxyTrain(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	want, err := whole.readCheckpoint(key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(resumed.Values, want.Values, slices.Equal[[]float32]) {
		t.Error("stopped and resumed training ends with other weights than an uninterrupted run")
	}
}
