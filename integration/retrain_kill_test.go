package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/workflows"
)

// Environment of the re-executed test binary that acts as a GPU worker.
const (
	retrainWorkerEnv = "GENIUS_TEST_RETRAIN_WORKER" // set: run as the worker
	retrainQueueEnv  = "GENIUS_TEST_RETRAIN_QUEUE"
	retrainStoreEnv  = "GENIUS_TEST_RETRAIN_STORE"
	retrainLocalEnv  = "GENIUS_TEST_RETRAIN_LOCAL"
	retrainAddrEnv   = "GENIUS_TEST_RETRAIN_ADDRESS"
)

// TestRetrainWorkerProcess is not a test: run by TestRetrainSurvivesWorkerKill
// as a child process (the test binary itself), it is a GPU worker with a
// write-back checkpoint store in front of S3, until it is killed.
func TestRetrainWorkerProcess(t *testing.T) {
	if os.Getenv(retrainWorkerEnv) == "" {
		t.Skip("runs only as the retrain worker child process")
	}
	ctx := context.Background()
	st, err := storage.OpenWriteBack(ctx, os.Getenv(retrainStoreEnv), os.Getenv(retrainLocalEnv), storage.S3Options{},
		storage.WriteBackOptions{MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: os.Getenv(retrainAddrEnv), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, os.Getenv(retrainQueueEnv), worker.Options{MaxConcurrentActivityExecutionSize: 1})
	w.RegisterActivity(&trainact.RetrainActivities{Store: st, FlushTimeout: 10 * time.Second})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("retrain worker ready\n")
	select {} // until SIGKILL
}

// startRetrainWorker re-executes the test binary as a GPU worker and waits
// until it polls.
func startRetrainWorker(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRetrainWorkerProcess$", "-test.v")
	cmd.Env = append(append(os.Environ(), retrainWorkerEnv+"=1"), env...)
	var log bytes.Buffer
	cmd.Stderr = &log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "retrain worker ready" {
			go io.Copy(io.Discard, out)
			return cmd
		}
	}
	cmd.Wait()
	t.Fatalf("retrain worker did not start: %s", log.String())
	return nil
}

func killedRetrainSpec(t *testing.T, queue string) retrain.Spec {
	t.Helper()
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch = make([]int, 30) // slot 0 of each stage only: a small network
	s.Epochs = 3
	s.ChunkEpochs = 3 // one activity: the kill hits it mid-chunk
	s.Data.TrainSamples = 160
	s.Data.ValSamples = 16
	s.CheckpointEverySteps = 3
	s.TaskQueue = queue
	s.HeartbeatTimeoutS = 5 // a killed worker's chunk is retried after 5 s
	return s
}

// killInsideEpoch2 SIGKILLs the training worker once st holds a checkpoint
// of checkpoint run id from inside the second epoch, and returns the newest
// step st held after the kill (which must still be inside epoch 2).
func killInsideEpoch2(ctx context.Context, t *testing.T, worker *exec.Cmd, st storage.Store, id string, perEpoch int) int {
	t.Helper()
	steps := func() []int {
		keys, err := trainact.RetrainCheckpointKeys(ctx, st, id)
		if err != nil {
			t.Fatal(err)
		}
		var s []int
		for _, k := range keys {
			var n int
			if _, err := fmt.Sscanf(path.Base(k), "step-%09d.ckpt", &n); err == nil {
				s = append(s, n)
			}
		}
		return s
	}
	waitFor(t, 3*time.Minute, "a checkpoint inside epoch 2 in the store", func() bool {
		return slices.ContainsFunc(steps(), func(n int) bool { return n > perEpoch && n%perEpoch != 0 })
	})
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	worker.Wait()
	stored := steps()
	newest := stored[len(stored)-1]
	if newest >= 2*perEpoch {
		t.Fatalf("worker got to step %d before the kill: not mid-epoch 2", newest)
	}
	return newest
}

// TestRetrainSurvivesWorkerKill runs GeniusRetrain against the dev server
// and a real S3 server (versitygw), SIGKILLs the GPU worker in the middle
// of the second epoch and starts a new one: on the same node (its local
// checkpoint directory survives, as a pod's volume would) it resumes from
// the killed worker's last checkpoint, so at most one checkpoint interval
// is redone; on another node (an empty directory) from the newest
// checkpoint that had reached S3. Either way the final weights are
// identical to an uninterrupted run's with the same seed.
func TestRetrainSurvivesWorkerKill(t *testing.T) {
	for _, sameNode := range []bool{true, false} {
		name := "other-node"
		if sameNode {
			name = "same-node"
		}
		t.Run(name, func(t *testing.T) { testRetrainWorkerKill(t, sameNode) })
	}
}

func testRetrainWorkerKill(t *testing.T, sameNode bool) {
	s3srv := storagetest.Start(t)
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	spec := killedRetrainSpec(t, gq)
	// Epochs long enough that the worker is still inside epoch 2 when the
	// test sees its first mid-epoch checkpoint in S3 and kills it.
	spec.Data.TrainSamples = 480
	const perEpoch = 60

	// The uninterrupted run, in this process, on a local store.
	refRes, want, _ := referenceRun(t, activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})
	if refRes.Step != 3*perEpoch || !refRes.Done {
		t.Fatalf("reference run: %+v", refRes)
	}

	remote := s3srv.Store(t, "genius", nil)
	storeURL := "s3://" + remote.Bucket() + "/genius"
	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"="+storeURL, retrainAddrEnv+"="+server(t).Address())

	startRetrainWorkflowWorker(t, c, q)

	node1 := filepath.Join(t.TempDir(), "node1")
	first := startRetrainWorker(t, append(env, retrainLocalEnv+"="+node1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := "retrain-kill-" + q
	spec.CheckpointRun = id
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}

	newest := killInsideEpoch2(ctx, t, first, remote, id, perEpoch)
	// The killed worker's newest local checkpoint: it was at most one
	// interval past it.
	lastLocal := 0
	if local, err := storage.NewDir(filepath.Join(node1, "retrain", id)); err == nil {
		objs, _ := local.List(ctx, "step-")
		if n, ok := storage.Newest(objs); ok {
			fmt.Sscanf(n.Key, "step-%09d.ckpt", &lastLocal)
		}
	}
	node2 := filepath.Join(t.TempDir(), "node2")
	if sameNode {
		node2 = node1
	}
	startRetrainWorker(t, append(env, retrainLocalEnv+"="+node2))
	var res workflows.RetrainResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Steps != 3*perEpoch || len(res.Epochs) != 3 {
		t.Fatalf("result %+v", res)
	}
	if len(res.Resumes) != 1 {
		t.Fatalf("resumes %+v, want one", res.Resumes)
	}
	r := res.Resumes[0]
	t.Logf("resumed from %s (%s), checkpoint loaded in %.3fs", r.Checkpoint, r.Source, r.LoadSeconds)
	t.Logf("killed at S3 step %d, local step %d; resumed from step %d (%d steps behind the last local checkpoint)", newest, lastLocal, r.Step, lastLocal-r.Step)
	if r.Attempt != 2 || r.Step <= perEpoch || r.Step >= 3*perEpoch {
		t.Errorf("resumed from step %d (attempt %d), want a retry after epoch 1", r.Step, r.Attempt)
	}
	if sameNode && r.Step != lastLocal {
		t.Errorf("same node: resumed from step %d, want the killed worker's last checkpoint, step %d", r.Step, lastLocal)
	}
	// An upload in flight at the kill may still complete on the server, so
	// another node resumes from the newest checkpoint in S3 at the kill or later.
	if !sameNode && (r.Step < newest || r.Step > lastLocal) {
		t.Errorf("other node: resumed from step %d, want between the newest in S3 at the kill (%d) and the last local one (%d)", r.Step, newest, lastLocal)
	}
	got := readCheckpoint(t, remote, res.FinalCheckpoint)
	if !slices.EqualFunc(got.Values, want.Values, func(a, b []float32) bool { return slices.Equal(a, b) }) {
		t.Fatal("final weights differ from the uninterrupted run's")
	}
	for i, ep := range res.Epochs {
		if ref := refRes.Epochs[i]; ep.EMATop1 != ref.EMATop1 || ep.Loss != ref.Loss || ep.TrainLoss != ref.TrainLoss {
			t.Errorf("epoch %d: %+v, uninterrupted %+v", i+1, ep, ref)
		}
	}
}

func readCheckpoint(t *testing.T, st storage.Store, key string) *checkpoint.Checkpoint {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TestRetrainSurvivesS3Outage stops the S3 server during GeniusRetrain:
// training goes on from the worker's local copies (each chunk waits at most
// the flush timeout for uploads), and once S3 is back the uploads catch up;
// the final weights are the uninterrupted run's.
func TestRetrainSurvivesS3Outage(t *testing.T) {
	s3srv := storagetest.Start(t)
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	spec := killedRetrainSpec(t, gq)
	spec.ChunkEpochs = 1
	const perEpoch = 20

	_, want, _ := referenceRun(t, activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})

	remote := s3srv.Store(t, "genius", nil)
	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"=s3://"+remote.Bucket()+"/genius",
		retrainAddrEnv+"="+server(t).Address(), retrainLocalEnv+"="+filepath.Join(t.TempDir(), "node1"))
	startRetrainWorkflowWorker(t, c, q)
	startRetrainWorker(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := "retrain-s3-" + q
	spec.CheckpointRun = id
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Minute, "a first checkpoint in S3", func() bool {
		keys, err := trainact.RetrainCheckpointKeys(ctx, remote, id)
		return err == nil && len(keys) > 0
	})
	s3srv.Stop()
	progress := func() workflows.RetrainProgress {
		v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
		var p workflows.RetrainProgress
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Training goes on without S3: epoch 2 ends with its uploads pending.
	var during workflows.RetrainProgress
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		d, err := c.DescribeWorkflow(context.Background(), id, "")
		if err != nil {
			return
		}
		for _, pa := range d.RawResponse.GetPendingActivities() {
			t.Logf("pending %s attempt %d state %v last failure: %v", pa.ActivityType.GetName(), pa.Attempt, pa.State, pa.LastFailure)
		}
	})
	waitFor(t, 3*time.Minute, "epoch 2 done while S3 is down", func() bool {
		during = progress()
		return during.EpochsDone >= 2
	})
	if during.PendingUploads == 0 {
		t.Errorf("progress while S3 is down: %+v, want pending uploads", during)
	}
	s3srv.Restart()
	var res workflows.RetrainResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Steps != 3*perEpoch || len(res.Resumes) != 0 {
		t.Fatalf("result %+v", res)
	}
	got := readCheckpoint(t, remote, res.FinalCheckpoint)
	if !slices.EqualFunc(got.Values, want.Values, func(a, b []float32) bool { return slices.Equal(a, b) }) {
		t.Fatal("final weights differ from the uninterrupted run's")
	}
	// The epoch-2 result written while S3 was down reached it too.
	if _, err := remote.Stat(ctx, "retrain/"+id+"/epochs/epoch-00002.json"); err != nil {
		t.Errorf("epoch 2 result in S3: %v", err)
	}
}

// TestRetrainSurvivesTemporalRestart stops the Temporal dev server (SQLite
// file, fixed port) while a chunk trains and starts it again: the worker
// keeps training while the server is away, the run goes on once it is back
// (the same attempt, or a retry that resumes from S3), and it ends with the
// uninterrupted run's weights.
func TestRetrainSurvivesTemporalRestart(t *testing.T) {
	s3srv := storagetest.Start(t)
	srv, opts, c := startRestartableServer(t)
	q := queue(t)
	gq := q + "-gpu"
	spec := killedRetrainSpec(t, gq)
	spec.HeartbeatTimeoutS = 10
	spec.Data.TrainSamples = 480 // a longer run, so the outage lands inside it
	const perEpoch = 60

	_, want, _ := referenceRun(t, activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})

	remote := s3srv.Store(t, "genius", nil)
	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"=s3://"+remote.Bucket()+"/genius",
		retrainAddrEnv+"="+srv.Address(), retrainLocalEnv+"="+filepath.Join(t.TempDir(), "node1"))
	startRetrainWorkflowWorker(t, c, q)
	startRetrainWorker(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := "retrain-restart-" + q
	spec.CheckpointRun = id
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName, workflows.RetrainInput{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	newest := func() int {
		keys, err := trainact.RetrainCheckpointKeys(ctx, remote, id)
		if err != nil || len(keys) == 0 {
			return 0
		}
		var n int
		fmt.Sscanf(path.Base(keys[len(keys)-1]), "step-%09d.ckpt", &n)
		return n
	}
	waitFor(t, 3*time.Minute, "a first checkpoint in S3", func() bool { return newest() > 0 })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// The worker trains on while the server is away (until its heartbeats
	// have failed for the heartbeat timeout: then the SDK cancels the
	// attempt, and the server retries it once it is back).
	down := newest()
	if down > 2*perEpoch {
		t.Fatalf("the first checkpoint seen in S3 is at step %d: the outage came too late to test anything", down)
	}
	waitFor(t, 3*time.Minute, "training progress while Temporal is down", func() bool { return newest() >= down+spec.CheckpointEverySteps })
	restarted, err := devserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.Stop() })
	var res workflows.RetrainResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("Temporal down from step %d; resumes %+v", down, res.Resumes)
	if res.Steps != 3*perEpoch || len(res.Epochs) != 3 {
		t.Fatalf("result %+v", res)
	}
	got := readCheckpoint(t, remote, res.FinalCheckpoint)
	if !slices.EqualFunc(got.Values, want.Values, func(a, b []float32) bool { return slices.Equal(a, b) }) {
		t.Fatal("final weights differ from the uninterrupted run's")
	}
}

// startRestartableServer starts a dev server of the test's own on a fixed
// port and SQLite file, so a test can stop it and start it again with opts,
// and a client that reconnects across the restart.
func startRestartableServer(t *testing.T) (*devserver.Server, devserver.Options, client.Client) {
	t.Helper()
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	opts := devserver.Options{Bin: temporalBinary(t), Port: port, DBFile: filepath.Join(t.TempDir(), "temporal.db")}
	srv, err := devserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, opts, c
}
