package integration

import (
	"context"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// readsRecorder is an S3 store that remembers the keys read through it.
type readsRecorder struct {
	storage.Store
	mu   sync.Mutex
	keys []string
}

func (r *readsRecorder) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := r.Store.Get(ctx, key)
	if err == nil {
		r.mu.Lock()
		r.keys = append(r.keys, key)
		r.mu.Unlock()
	}
	return rc, err
}

func (r *readsRecorder) read() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

// startGPUWorker runs a training worker in this process on q whose
// checkpoint store is a write-back store (an empty local directory of its
// own) in front of remote.
func startGPUWorker(t *testing.T, c client.Client, q string, remote storage.Store) worker.Worker {
	t.Helper()
	local, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.NewWriteBack(local, remote, storage.WriteBackOptions{MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := workers.NewGPUWorker(c, workers.Config{TaskQueue: q, Options: worker.Options{WorkerStopTimeout: time.Minute}},
		&workers.Training{Store: st, Retrain: &trainact.RetrainActivities{Store: st},
			Proxy: &trainact.TrainingActivities{Store: st, CheckpointEvery: 2, FlushTimeout: 30 * time.Second, LoaderWorkers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestProxyTrainMovesToAnotherWorker runs an ImageNet search on the dev
// server whose candidate's GPU worker is stopped mid-training: the worker
// checkpoints, uploads to S3 (versitygw) and fails the attempt; the retry
// runs on a second worker with an empty disk, which resumes from S3 and
// ends with the weights and figures of an uninterrupted run.
func TestProxyTrainMovesToAnotherWorker(t *testing.T) {
	s3srv := storagetest.Start(t)
	remote := s3srv.Store(t, "genius", nil)
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	startWorker(t, c, q, llm.Config{})

	s, err := specs.Ready("imagenet-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Iterations = 1
	s.Evaluator.TaskQueue = gq
	s.Evaluator.Train.Steps = 20
	s.Evaluator.Train.LR = 0.05 // 0.5 diverges on random images at batch 8

	started := time.Now()
	first := startGPUWorker(t, c, gq, remote)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "proxy-move-" + q, TaskQueue: q}, workflows.SearchName, workflows.SearchInput{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Minute, "a proxy-training checkpoint in S3", func() bool {
		objs, err := remote.List(ctx, "proxy/")
		return err == nil && len(objs) > 0
	})
	first.Stop() // returns once the attempt checkpointed, uploaded and failed
	objs, err := remote.List(ctx, "proxy/")
	if err != nil || len(objs) == 0 {
		t.Fatalf("S3 after the stop: %v, %v", objs, err)
	}
	key := objs[len(objs)-1].Key // the newest: the stop's
	stoppedAt := readCheckpoint(t, remote, key).Header.Step
	t.Logf("first worker stopped at step %d, %s after the start", stoppedAt, time.Since(started).Round(time.Millisecond))
	if stoppedAt <= 0 || stoppedAt >= s.Evaluator.Train.Steps {
		t.Fatalf("the stopped worker's checkpoint in S3 holds step %d of %d", stoppedAt, s.Evaluator.Train.Steps)
	}

	reads := &readsRecorder{Store: remote}
	second := startGPUWorker(t, c, gq, reads)
	defer second.Stop()
	var res workflows.SearchResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Iterations) != 1 {
		t.Fatalf("result %+v", res)
	}
	t.Logf("search done %s after the start", time.Since(started).Round(time.Millisecond))
	if !slices.Contains(reads.read(), key) {
		t.Errorf("the second worker never read %s from S3 (it read %v): it did not resume", key, reads.read())
	}

	// The history: one ProxyTrain, started twice, the first attempt failed
	// by the stop.
	var in activities.ProxyTrainInput
	var attempt int32
	var lastFailure string
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activities.ProxyTrainName {
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &in); err != nil {
				t.Fatal(err)
			}
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			attempt, lastFailure = a.GetAttempt(), a.GetLastFailure().GetMessage()
		}
	}
	if attempt != 2 || !strings.Contains(lastFailure, "worker is stopping") {
		t.Errorf("ProxyTrain attempt %d after %q: want attempt 2 after the stopped worker's failure", attempt, lastFailure)
	}

	// The uninterrupted run of the same input, in this process.
	ref := t.TempDir()
	refStore, err := storage.NewDir(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&trainact.TrainingActivities{Store: refStore, LoaderWorkers: 1}).ProxyTrain(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if path.Dir(want.Checkpoint) != path.Dir(key) {
		t.Fatalf("reference run stored %s, the search %s", want.Checkpoint, key)
	}
	got, wantCk := readCheckpoint(t, remote, want.Checkpoint), readCheckpoint(t, refStore, want.Checkpoint)
	if got.Header.Step != s.Evaluator.Train.Steps || !slices.EqualFunc(got.Values, wantCk.Values, slices.Equal[[]float32]) {
		t.Errorf("moved candidate ends at step %d with other weights than an uninterrupted run", got.Header.Step)
	}
	if acc := res.Iterations[0].Accuracy; acc != want.Top1*100 {
		t.Errorf("search measured %v%%, uninterrupted run %v%%", acc, want.Top1*100)
	}
}
