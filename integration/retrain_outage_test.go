package integration

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/workflows"
)

// runSteps lists the steps of a run's checkpoints in a store, oldest first.
func runSteps(t *testing.T, st storage.Store, run string) []int {
	t.Helper()
	keys, err := trainact.RetrainCheckpointKeys(context.Background(), st, run)
	if err != nil {
		t.Fatal(err)
	}
	var s []int
	for _, k := range keys {
		if n := keyStep(k); n >= 0 {
			s = append(s, n)
		}
	}
	return s
}

// keyStep parses the step out of a checkpoint key (-1 if it is not one).
func keyStep(key string) int {
	var n int
	if _, err := fmt.Sscanf(path.Base(key), "step-%09d.ckpt", &n); err != nil {
		return -1
	}
	return n
}

// newestLocal is the step of a run's newest checkpoint in a worker's local
// write-back directory (0 when there is none yet).
func newestLocal(t *testing.T, node, run string) int {
	t.Helper()
	d, err := storage.NewDir(node)
	if err != nil {
		t.Fatal(err)
	}
	s := runSteps(t, d, run)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// sameWeights fails the test unless the checkpoint's weights are want's.
func sameWeights(t *testing.T, got, want *checkpoint.Checkpoint) {
	t.Helper()
	if !slices.EqualFunc(got.Values, want.Values, func(a, b []float32) bool { return slices.Equal(a, b) }) {
		t.Fatal("final weights differ from the uninterrupted run's")
	}
}

// referenceRun trains the spec uninterrupted in this process on a local
// store and returns its result, its final checkpoint and its mean step time.
func referenceRun(t *testing.T, in activities.RetrainChunkInput) (activities.RetrainChunkResult, *checkpoint.Checkpoint, time.Duration) {
	t.Helper()
	dir, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := (&trainact.RetrainActivities{Store: dir}).RetrainChunk(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done {
		t.Fatalf("reference run: %+v", res)
	}
	return res, readCheckpoint(t, dir, res.Checkpoint), time.Since(start) / time.Duration(res.Step)
}

// startRetrainWorkflowWorker runs the GeniusRetrain workflow in this process
// on queue q; the training activities run in separate worker processes.
func startRetrainWorkflowWorker(t *testing.T, c client.Client, q string) {
	t.Helper()
	w := worker.New(c, q, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// TestRetrainResumesAfterTemporalOutage keeps the Temporal dev server down
// for longer than the chunk's heartbeat timeout. The worker trains on from
// its local checkpoints meanwhile; once the server is back (same SQLite
// file, same port) it times the attempt out, and the retry resumes from the
// newest checkpoint, which is at least the one on disk when the server came
// back, so less than one checkpoint interval is redone. The final weights
// are the uninterrupted run's.
func TestRetrainResumesAfterTemporalOutage(t *testing.T) {
	s3srv := storagetest.Start(t)
	srv, opts, c := startRestartableServer(t)
	q := queue(t)
	gq := q + "-gpu"
	spec := killedRetrainSpec(t, gq)
	spec.HeartbeatTimeoutS = 3
	spec.Data.TrainSamples = 1600 // long enough to outlast the outage
	const total = 600             // 200 steps an epoch
	every := spec.CheckpointEverySteps
	refRes, want, stepTime := referenceRun(t, activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})
	if refRes.Step != total {
		t.Fatalf("reference run: %d steps, want %d", refRes.Step, total)
	}

	remote := s3srv.Store(t, "genius", nil)
	node1 := filepath.Join(t.TempDir(), "node1")
	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"=s3://"+remote.Bucket()+"/genius",
		retrainAddrEnv+"="+srv.Address(), retrainLocalEnv+"="+node1)
	startRetrainWorkflowWorker(t, c, q)
	startRetrainWorker(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := "retrain-outage-" + q
	spec.CheckpointRun = id
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "a first checkpoint on the worker's disk", func() bool { return newestLocal(t, node1, id) > 0 })
	stopped := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down := newestLocal(t, node1, id)
	hbTimeout := time.Duration(spec.HeartbeatTimeoutS) * time.Second
	waitFor(t, time.Minute, "the outage to outlast the heartbeat timeout, the worker training on", func() bool {
		return time.Since(stopped) > hbTimeout+time.Second && newestLocal(t, node1, id) >= down+every
	})
	atRestart := newestLocal(t, node1, id)
	if atRestart >= total {
		t.Fatalf("the worker finished (step %d) while Temporal was down: nothing left to resume", atRestart)
	}
	outage := time.Since(stopped)
	restarted, err := devserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.Stop() })
	restartedAt := time.Now()
	var res workflows.RetrainResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("Temporal down %.1fs (heartbeat timeout %s) from step %d; the worker reached step %d on disk by the restart; run done %.1fs after it; resumes %+v",
		outage.Seconds(), hbTimeout, down, atRestart, time.Since(restartedAt).Seconds(), res.Resumes)
	if res.Steps != total || len(res.Epochs) != 3 {
		t.Fatalf("result %+v", res)
	}
	// Time lost: the wall time from the outage's start to the end beyond
	// what the remaining steps take uninterrupted.
	t.Logf("time lost to the outage ≈ %.1fs", (time.Since(stopped) - time.Duration(total-down)*stepTime).Seconds())
	if len(res.Resumes) == 0 {
		t.Fatal("no resume: the attempt running through the outage was not timed out and retried")
	}
	// The first retry follows the outage; any later one would be a
	// heartbeat timeout on a busy machine, and bounded the same way.
	for _, r := range res.Resumes {
		if r.Attempt < 2 || r.RedoneSteps > every {
			t.Errorf("resume %+v: want a retry that redoes at most %d steps", r, every)
		}
		t.Logf("attempt %d resumed from step %d (%s), heartbeat had step %d, %d steps redone (≈%.3fs at %s a step) + %.3fs to load",
			r.Attempt, r.Step, r.Source, r.ReachedStep, r.RedoneSteps, (time.Duration(r.RedoneSteps) * stepTime).Seconds(), stepTime, r.LoadSeconds)
	}
	// The server heard of nothing newer than the outage's start, so the
	// retry must have found the newer checkpoints on the worker's disk; the
	// attempt it replaced was fewer than `every` steps past the newest one
	// (RedoneSteps counts only what its heartbeats told the server).
	if r := res.Resumes[0]; r.Step < atRestart {
		t.Errorf("resumed from step %d, older than the newest checkpoint on disk at the restart (step %d): the outage's work was redone", r.Step, atRestart)
	}
	// On a busy machine the chunk's flush may time out (the result counts
	// what is pending); the worker keeps uploading.
	waitFor(t, time.Minute, "the final checkpoint in S3", func() bool {
		_, err := remote.Stat(ctx, res.FinalCheckpoint)
		return err == nil
	})
	sameWeights(t, readCheckpoint(t, remote, res.FinalCheckpoint), want)
	for i, ep := range res.Epochs {
		if ref := refRes.Epochs[i]; ep.EMATop1 != ref.EMATop1 || ep.Loss != ref.Loss || ep.TrainLoss != ref.TrainLoss {
			t.Errorf("epoch %d: %+v, uninterrupted %+v", i+1, ep, ref)
		}
	}
}

// TestRetrainWorkerKilledDuringS3Outage SIGKILLs the GPU worker while the S3
// server is stopped, so its newest checkpoints and epoch results exist only
// on its disk. S3 comes back and a new worker starts on the same node (the
// same local directory): it queues the dead worker's uploads again, resumes
// from its newest local checkpoint, and the run ends with the uninterrupted
// run's weights and every epoch result in S3.
func TestRetrainWorkerKilledDuringS3Outage(t *testing.T) {
	s3srv := storagetest.Start(t)
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	spec := killedRetrainSpec(t, gq)
	spec.Data.TrainSamples = 320
	const total = 120 // 40 steps an epoch
	every := spec.CheckpointEverySteps
	refRes, want, stepTime := referenceRun(t, activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})
	if refRes.Step != total {
		t.Fatalf("reference run: %d steps, want %d", refRes.Step, total)
	}

	remote := s3srv.Store(t, "genius", nil)
	node1 := filepath.Join(t.TempDir(), "node1")
	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"=s3://"+remote.Bucket()+"/genius",
		retrainAddrEnv+"="+server(t).Address(), retrainLocalEnv+"="+node1)
	startRetrainWorkflowWorker(t, c, q)
	first := startRetrainWorker(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := "retrain-kill-s3-" + q
	spec.CheckpointRun = id
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	epochKeys := func(st storage.Store) []string {
		objs, err := st.List(ctx, "retrain/"+id+"/epochs/")
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		return keys
	}
	local, err := storage.NewDir(node1)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "a first checkpoint in S3", func() bool { return len(runSteps(t, remote, id)) > 0 })
	s3Before, epochsBefore := runSteps(t, remote, id), epochKeys(remote)
	s3srv.Stop()
	// Kill once the worker has checkpointed twice more and finished an
	// epoch since S3 went away: those exist only on its disk.
	waitFor(t, time.Minute, "checkpoints and an epoch result written while S3 is down", func() bool {
		n := newestLocal(t, node1, id)
		return n >= total || (n >= s3Before[len(s3Before)-1]+2*every && len(epochKeys(local)) > len(epochsBefore))
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killed := time.Now()
	lastLocal, localEpochs := newestLocal(t, node1, id), epochKeys(local)
	if lastLocal >= total {
		t.Fatalf("the worker finished (step %d) before the kill: nothing left to resume", lastLocal)
	}
	s3srv.Restart()
	// What reached S3 before it stopped; the rest was pending at the kill.
	inS3 := runSteps(t, remote, id)
	pendingEpochs := slices.DeleteFunc(slices.Clone(localEpochs), func(k string) bool { return slices.Contains(epochKeys(remote), k) })
	var pendingSteps []int
	for _, n := range runSteps(t, local, id) {
		if !slices.Contains(inS3, n) {
			pendingSteps = append(pendingSteps, n)
		}
	}
	if !slices.Contains(pendingSteps, lastLocal) || len(pendingEpochs) == 0 {
		t.Fatalf("at the kill S3 held checkpoints %v and the disk up to step %d with epoch results %v (pending %v): want the newest checkpoint and an epoch result pending",
			inS3, lastLocal, localEpochs, pendingEpochs)
	}
	t.Logf("killed with S3 down at step %d (on disk); pending uploads: checkpoints %v, epoch results %v", lastLocal, pendingSteps, pendingEpochs)

	startRetrainWorker(t, env) // the same node: node1's directory
	var res workflows.RetrainResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Steps != total || len(res.Epochs) != 3 {
		t.Fatalf("result %+v", res)
	}
	if len(res.Resumes) != 1 {
		t.Fatalf("resumes %+v, want one", res.Resumes)
	}
	r := res.Resumes[0]
	t.Logf("time lost to the kill ≈ %.1fs (heartbeat timeout %ds, S3 restart, new worker)",
		(time.Since(killed) - time.Duration(total-lastLocal)*stepTime).Seconds(), spec.HeartbeatTimeoutS)
	t.Logf("attempt %d resumed from step %d (%s), heartbeat had step %d: %d steps redone (≈%.3fs at %s a step) + %.3fs to load",
		r.Attempt, r.Step, r.Source, r.ReachedStep, r.RedoneSteps, (time.Duration(r.RedoneSteps) * stepTime).Seconds(), stepTime, r.LoadSeconds)
	// The killed worker was fewer than `every` steps past its newest
	// checkpoint, so resuming from that one redoes less than an interval.
	if r.Attempt != 2 || r.Step != lastLocal {
		t.Errorf("resume %+v: want attempt 2 from the killed worker's newest local checkpoint, step %d", r, lastLocal)
	}
	if r.RedoneSteps > every {
		t.Errorf("%d steps redone, more than one checkpoint interval (%d)", r.RedoneSteps, every)
	}
	sameWeights(t, readCheckpoint(t, remote, res.FinalCheckpoint), want)
	for i, ep := range res.Epochs {
		if ref := refRes.Epochs[i]; ep.EMATop1 != ref.EMATop1 || ep.Loss != ref.Loss || ep.TrainLoss != ref.TrainLoss {
			t.Errorf("epoch %d: %+v, uninterrupted %+v", i+1, ep, ref)
		}
	}
	// The dead worker's uploads were queued again and caught up: every
	// epoch result is in S3, and S3 holds the same checkpoints as the disk.
	for _, k := range localEpochs {
		if _, err := remote.Stat(ctx, k); err != nil {
			t.Errorf("epoch result written while S3 was down: %v", err)
		}
	}
	if got, disk := runSteps(t, remote, id), runSteps(t, local, id); !slices.Equal(got, disk) {
		t.Errorf("after the run S3 holds checkpoints %v, the worker's disk %v", got, disk)
	}
}
