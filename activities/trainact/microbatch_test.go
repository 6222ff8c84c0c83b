package trainact

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
)

// Retraining in micro-batches takes the same number of optimiser steps,
// resumes exactly after a kill between them, and its epoch results carry
// the worker's peak memory.
func TestRetrainChunkMicroBatches(t *testing.T) {
	s := tinyRetrainSpec(t)
	s.MicroBatch = s.Batch / 4
	ctx := context.Background()
	refStore, _ := storage.NewDir(t.TempDir())
	ref := &RetrainActivities{Store: refStore}
	refRes := runChunks(t, ref, s, "ref")
	last := refRes[len(refRes)-1]
	if !last.Done || last.Step != 12 || last.Epoch != 3 {
		t.Fatalf("micro-batched run: %+v", last)
	}
	for _, r := range refRes {
		if len(r.Epochs) != 1 || r.Epochs[0].PeakMemoryB <= 0 {
			t.Errorf("epochs %+v: want one with the peak memory", r.Epochs)
		}
	}
	want := finalTensors(t, ref, last.Checkpoint)

	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	r2 := killSecondChunk(ctx, t, a, s, 7)
	if r2.Resumed == nil || r2.Resumed.Step != 6 {
		t.Fatalf("resumed %+v, want from step 6", r2.Resumed)
	}
	in := activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 2, UntilEpoch: 3, Resume: r2.Checkpoint, Best: r2.Best}
	r3, err := a.RetrainChunk(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTensors(finalTensors(t, a, r3.Checkpoint), want) {
		t.Fatal("final weights after a kill differ from the uninterrupted micro-batched run's")
	}
}

// Proxy training in micro-batches trains the same steps and reports the
// peak memory in its result; a micro-batch that does not
// divide the batch fails at once, naming the spec field.
func TestProxyTrainMicroBatches(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	acts := &TrainingActivities{Store: dirStore(t), CheckpointEvery: 2}
	in := proxyInput(dataDir)
	in.MicroBatch = 4
	_, res, err := proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || res.PeakMemoryB <= 0 {
		t.Fatalf("result %+v", res)
	}
	in.MicroBatch = 5
	_, _, err = proxyRun(t, acts, in, false)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || !strings.Contains(err.Error(), "change evaluator.train.micro_batch") {
		t.Errorf("micro-batch 5 of 16: %v", err)
	}
}

// killSecondChunk runs a's first chunk (epoch 0) of s, cancels the second
// (epoch 1) after step kill and runs that chunk again, as a retried
// activity would, returning the retry's result.
func killSecondChunk(ctx context.Context, t *testing.T, a *RetrainActivities, s retrain.Spec, kill int) activities.RetrainChunkResult {
	t.Helper()
	r1, err := a.RetrainChunk(ctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 0, UntilEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.afterStep = func(step int) {
		if step == kill {
			cancel()
		}
	}
	in := activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 1, UntilEpoch: 2, Resume: r1.Checkpoint, Best: r1.Best}
	if _, err := a.RetrainChunk(kctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed chunk: %v", err)
	}
	a.afterStep = nil
	r2, err := a.RetrainChunk(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return r2
}
