package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// transferChance is top-1 by guessing on synthetic CIFAR-10.
const transferChance = 0.1

// startTransferWorkers runs the workflows on q and the training activities
// on gq, with checkpoint store st, in this process.
func startTransferWorkers(t *testing.T, c client.Client, q, gq string, st storage.Store) {
	t.Helper()
	w := worker.New(c, q, worker.Options{})
	workers.RegisterWorkflows(w)
	g := worker.New(c, gq, worker.Options{MaxConcurrentActivityExecutionSize: 1})
	g.RegisterActivity(&trainact.RetrainActivities{Store: st})
	for _, w := range []worker.Worker{w, g} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
}

// chainedTransferSpec is the retrain CPU demo on the small network (one
// epoch) chaining the transfer CPU demo on the synthetic CIFAR-10 in dir.
func chainedTransferSpec(t *testing.T, gq, dir string) retrain.Spec {
	t.Helper()
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch = make([]int, 30) // slot 0 of each stage only: a small network
	s.Epochs, s.WarmupEpochs, s.TaskQueue = 1, 0, gq
	tr := transferDemoSpec(t, gq, dir)
	tr.Space, tr.Arch = "", nil // the retraining's
	s.Transfer = []retrain.Spec{tr}
	return s
}

func transferDemoSpec(t *testing.T, gq, dir string) retrain.Spec {
	t.Helper()
	s, err := transfer.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch, s.Data.Dir, s.TaskQueue = make([]int, 30), dir, gq
	return s
}

// TestTransferCPUDemo is the transfer demo end to end on the dev server:
// genius data cifar writes synthetic CIFAR-10, a retraining chains
// GeniusTransfer from its best checkpoint, then genius transfer fine-tunes
// the same checkpoint again from the command line; both beat chance
// clearly, and genius audit shows the results.
func TestTransferCPUDemo(t *testing.T) {
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	dir := filepath.Join(t.TempDir(), "cifar")
	runGenius(t, "data", "cifar", "--synthetic", dir, "--train", "480", "--test", "200")
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	startTransferWorkers(t, c, q, gq, st)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	id := "transfer-chain-" + q
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName,
		workflows.RetrainInput{Spec: chainedTransferSpec(t, gq, dir)})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetrainResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Transfers) != 1 || res.Transfers[0].Result == nil {
		t.Fatalf("chained transfers %+v", res.Transfers)
	}
	chained := res.Transfers[0].Result
	t.Logf("chained transfer on synthetic CIFAR-10: top-1 %.3f, top-5 %.3f (chance %.1f)", chained.Top1, chained.Top5, transferChance)
	if chained.FromCheckpoint != res.BestCheckpoint || chained.Top1 < 3*transferChance {
		t.Fatalf("chained transfer %+v: want it from %s and top-1 clearly above chance", chained, res.BestCheckpoint)
	}

	// The same from the command line, with the ready spec and overrides.
	spec, err := transfer.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	spec.TaskQueue = gq
	b, _ := json.Marshal(spec)
	specPath := filepath.Join(t.TempDir(), "transfer.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cliID := "transfer-cli-" + q
	stdout, stderr := runGenius(t, "transfer", "--spec", specPath, "--checkpoint", res.BestCheckpoint, "--arch", strings.Repeat("0,", 29)+"0",
		"--data", dir, "--address", server(t).Address(), "--task-queue", q, "--workflow-id", cliID, "--poll", "200ms")
	var cli workflows.TransferResult
	if err := json.Unmarshal(stdout, &cli); err != nil {
		t.Fatalf("genius transfer stdout: %v\n%s", err, stdout)
	}
	t.Logf("genius transfer on synthetic CIFAR-10: top-1 %.3f, top-5 %.3f", cli.Top1, cli.Top5)
	if cli.Top1 < 3*transferChance || len(cli.Epochs) != spec.Epochs || !bytes.Contains(stderr, []byte("epoch 3/3")) {
		t.Fatalf("genius transfer: %+v\nstderr: %s", cli, stderr)
	}
	// Same seed, same data, same start: the same network as the chained run.
	if cli.Top1 != chained.Top1 {
		t.Errorf("CLI transfer top-1 %v, chained %v: the same spec and checkpoint should train the same network", cli.Top1, chained.Top1)
	}

	audit, _ := runGenius(t, "audit", "--address", server(t).Address(), "--workflow-id", cliID)
	want := fmt.Sprintf("result: cifar10 fine-tuned from %s at 32px: top-1 %.2f%%", res.BestCheckpoint, 100*cli.Top1)
	if !strings.Contains(string(audit), want) {
		t.Errorf("genius audit of the transfer:\n%s\nwant %q", audit, want)
	}
	audit, _ = runGenius(t, "audit", "--address", server(t).Address(), "--workflow-id", id)
	if !strings.Contains(string(audit), "child GeniusTransfer "+id+workflows.TransferIDSuffix+"1: cifar10 fine-tuned") {
		t.Errorf("genius audit of the retraining does not show its transfer:\n%s", audit)
	}
}

// TestTransferSurvivesWorkerKill SIGKILLs the GPU worker in the middle of a
// transfer's second epoch (one chunk of three epochs, checkpoints in S3
// through a write-back store) and starts another on a fresh node: the chunk
// resumes from the newest checkpoint in S3, not from the source weights,
// and ends with the weights of an uninterrupted run.
func TestTransferSurvivesWorkerKill(t *testing.T) {
	s3srv := storagetest.Start(t)
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	dir := t.TempDir()
	if _, err := (data.SyntheticCIFAR{Format: "cifar10", Train: 960, Test: 100, Seed: 1}).Write(dir); err != nil {
		t.Fatal(err)
	}
	const perEpoch = 60
	remote := s3srv.Store(t, "genius", nil)

	// The source weights: a one-epoch retraining, copied into S3.
	local, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	src.Arch, src.Epochs, src.WarmupEpochs = make([]int, 30), 1, 0
	srcRes, err := (&trainact.RetrainActivities{Store: local}).RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: src, CheckpointRun: "source", UntilEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	from := srcRes.Best.Checkpoint
	copyObject(t, local, remote, from)

	spec := transferDemoSpec(t, gq, dir)
	spec.FromCheckpoint = from
	spec.ChunkEpochs = 3 // one activity: the kill hits it mid-chunk
	spec.CheckpointEverySteps = 5
	spec.HeartbeatTimeoutS = 5 // a killed worker's chunk is retried after 5 s
	// The uninterrupted transfer, in this process, next to the source.
	refRes, err := (&trainact.RetrainActivities{Store: local}).RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: spec, CheckpointRun: "ref", UntilEpoch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if refRes.Step != 3*perEpoch || !refRes.Done {
		t.Fatalf("reference run: %+v", refRes)
	}
	want := readCheckpoint(t, local, refRes.Checkpoint)

	env := append(s3srv.Env(), retrainQueueEnv+"="+gq, retrainStoreEnv+"=s3://"+remote.Bucket()+"/genius", retrainAddrEnv+"="+server(t).Address())
	w := worker.New(c, q, worker.Options{})
	workers.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	first := startRetrainWorker(t, append(env, retrainLocalEnv+"="+filepath.Join(t.TempDir(), "node1")))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := "transfer-kill-" + q
	spec.CheckpointRun = id
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.TransferName, workflows.TransferInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	newest := killInsideEpoch2(ctx, t, first, remote, id, perEpoch)
	startRetrainWorker(t, append(env, retrainLocalEnv+"="+filepath.Join(t.TempDir(), "node2")))
	var res workflows.TransferResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Resumes) != 1 {
		t.Fatalf("resumes %+v, want one", res.Resumes)
	}
	r := res.Resumes[0]
	t.Logf("killed with step %d newest in S3; resumed from step %d (%s); top-1 %.3f", newest, r.Step, r.Source, res.Top1)
	// An upload in flight at the kill may still land, so the resume may be
	// from a later checkpoint than the newest seen, never an earlier one.
	if r.Attempt != 2 || r.Step < newest || r.Step >= 3*perEpoch {
		t.Errorf("resumed from step %d (attempt %d), want the newest checkpoint in S3 at the kill (%d) or a later one", r.Step, r.Attempt, newest)
	}
	got := readCheckpoint(t, remote, res.FinalCheckpoint)
	if !slices.EqualFunc(got.Values, want.Values, func(a, b []float32) bool { return slices.Equal(a, b) }) {
		t.Fatal("final weights differ from the uninterrupted transfer's")
	}
	if res.Steps != 3*perEpoch || res.Top1 != refRes.Best.EMATop1 || res.Top1 < 3*transferChance {
		t.Errorf("result %+v, uninterrupted top-1 %v", res, refRes.Best.EMATop1)
	}
}

// copyObject copies key from one store to another.
func copyObject(t *testing.T, from, to storage.Store, key string) {
	t.Helper()
	rc, err := from.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := to.Put(context.Background(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// recordTransferGoldens records a retraining that chains GeniusTransfer:
// the retraining's history and its child's.
func recordTransferGoldens(t *testing.T, c client.Client) {
	q := queue(t) + "-transfer"
	dir := filepath.Join(t.TempDir(), "cifar")
	if _, err := (data.SyntheticCIFAR{Format: "cifar10", Train: 96, Test: 32, Seed: 1}).Write(dir); err != nil {
		t.Fatal(err)
	}
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	startTransferWorkers(t, c, q, q+"-gpu", st)
	id := "golden-retrain-transfer"
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.RetrainName,
		workflows.RetrainInput{Spec: chainedTransferSpec(t, q+"-gpu", dir)})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RetrainResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Transfers) != 1 || res.Transfers[0].Result == nil {
		t.Fatalf("chained transfers %+v", res.Transfers)
	}
	exportRuns(t, c, "retrain-transfer", id)
	exportRuns(t, c, "retrain-transfer.child1", res.Transfers[0].WorkflowID)
}
