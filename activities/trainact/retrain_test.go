package trainact

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
)

// tinyRetrainSpec is the CPU demo on a small network (slot 0 of each stage
// only): 3 epochs of 4 steps, a checkpoint every 3 steps.
func tinyRetrainSpec(t *testing.T) retrain.Spec {
	t.Helper()
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch = make([]int, 30)
	s.Epochs = 3
	s.Data.TrainSamples = 32
	s.Data.ValSamples = 8
	s.CheckpointEverySteps = 3
	s.KeepCheckpoints = 1
	return s
}

// runChunks runs every chunk in order as the workflow would, and returns the
// final chunk's result.
func runChunks(t *testing.T, a *RetrainActivities, s retrain.Spec, run string) []activities.RetrainChunkResult {
	t.Helper()
	var out []activities.RetrainChunkResult
	var resume string
	var best *activities.RetrainBest
	for e := 0; e < s.Epochs; e += s.ChunkEpochs {
		res, err := a.RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: s, CheckpointRun: run, FromEpoch: e, UntilEpoch: e + s.ChunkEpochs, Resume: resume, Best: best})
		if err != nil {
			t.Fatalf("chunk (%d, %d]: %v", e, e+s.ChunkEpochs, err)
		}
		resume, best = res.Checkpoint, res.Best
		out = append(out, res)
	}
	return out
}

func finalTensors(t *testing.T, a *RetrainActivities, key string) [][]float32 {
	t.Helper()
	ck, err := a.load(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ck.Values
}

func sameTensors(a, b [][]float32) bool {
	return slices.EqualFunc(a, b, func(x, y []float32) bool { return slices.Equal(x, y) })
}

func TestRetrainChunkResumesExactly(t *testing.T) {
	s := tinyRetrainSpec(t)
	ctx := context.Background()

	refStore, _ := storage.NewDir(t.TempDir())
	ref := &RetrainActivities{Store: refStore}
	refRes := runChunks(t, ref, s, "ref")
	last := refRes[len(refRes)-1]
	if !last.Done || last.Step != 12 || last.Epoch != 3 || len(refRes) != 3 {
		t.Fatalf("uninterrupted run: %+v", last)
	}
	want := finalTensors(t, ref, last.Checkpoint)
	// Pruning keeps the newest and the best checkpoint only.
	keys, _ := RetrainCheckpointKeys(ctx, refStore, "ref")
	if len(keys) > 2 || !slices.Contains(keys, last.Checkpoint) || !slices.Contains(keys, last.Best.Checkpoint) {
		t.Errorf("kept checkpoints %v (final %s, best %s)", keys, last.Checkpoint, last.Best.Checkpoint)
	}

	// The same run killed in its second epoch at step 8 (last checkpoint:
	// step 6), then retried.
	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	r1, err := a.RetrainChunk(ctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 0, UntilEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	kctx, kill := context.WithCancel(ctx)
	a.afterStep = func(step int) {
		if step == 8 {
			kill()
		}
	}
	_, err = a.RetrainChunk(kctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 1, UntilEpoch: 2, Resume: r1.Checkpoint, Best: r1.Best})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed chunk: %v", err)
	}
	a.afterStep = nil
	r2, err := a.RetrainChunk(ctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 1, UntilEpoch: 2, Resume: r1.Checkpoint, Best: r1.Best})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Resumed == nil || r2.Resumed.Step != 6 || r2.Resumed.Source != "store" || r2.Resumed.Checkpoint != CheckpointKey("killed", 6) {
		t.Fatalf("resumed %+v, want from step 6 in the store", r2.Resumed)
	}
	if len(r2.Epochs) != 1 || r2.Epochs[0].Epoch != 2 || r2.Step != 8 {
		t.Fatalf("second chunk: %+v", r2)
	}

	// Kill the third chunk too, and corrupt its newest checkpoint: the
	// retry must skip it and resume from the one before.
	kctx, kill = context.WithCancel(ctx)
	a.afterStep = func(step int) {
		if step == 11 {
			kill()
		}
	}
	if _, err := a.RetrainChunk(kctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 2, UntilEpoch: 3, Resume: r2.Checkpoint, Best: r2.Best}); !errors.Is(err, context.Canceled) {
		t.Fatalf("killed chunk: %v", err)
	}
	a.afterStep = nil
	p, _ := st.Path(CheckpointKey("killed", 9))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xde, 0xad}, 1000)
	f.Close()
	r3, err := a.RetrainChunk(ctx, activities.RetrainChunkInput{Spec: s, CheckpointRun: "killed", FromEpoch: 2, UntilEpoch: 3, Resume: r2.Checkpoint, Best: r2.Best})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Resumed == nil || r3.Resumed.Step != 8 || len(r3.Resumed.Skipped) != 1 || !strings.Contains(r3.Resumed.Skipped[0], "step-000000009.ckpt") ||
		!strings.Contains(r3.Resumed.Skipped[0], "corrupt") {
		t.Errorf("resumed %+v: want the corrupt step 9 skipped and the chunk started at step 8", r3.Resumed)
	}
	if !r3.Done || r3.Step != 12 {
		t.Fatalf("third chunk: %+v", r3)
	}
	got := finalTensors(t, a, r3.Checkpoint)
	if !sameTensors(got, want) {
		t.Fatal("final weights after two kills differ from the uninterrupted run's")
	}
	for i := range refRes {
		rEp, kEp := refRes[i].Epochs, []activities.RetrainEpoch{r1.Epochs[0], r2.Epochs[0], r3.Epochs[0]}[i]
		// Epoch 2 resumed at step 6 of 5..8: its train loss still averages
		// all four steps, exactly as the uninterrupted run's.
		if rEp[0].EMATop1 != kEp.EMATop1 || rEp[0].Loss != kEp.Loss || rEp[0].TrainLoss != kEp.TrainLoss || kEp.TrainLoss == 0 {
			t.Errorf("epoch %d: uninterrupted %+v, killed %+v", i+1, rEp[0], kEp)
		}
	}
	if last.Best.Checkpoint == "" || r3.Best.EMATop1 != last.Best.EMATop1 {
		t.Errorf("best %+v vs %+v", r3.Best, last.Best)
	}
}

func TestRetrainChunkRejectsBadInput(t *testing.T) {
	s := tinyRetrainSpec(t)
	st, _ := storage.NewDir(t.TempDir())
	tests := []struct {
		name string
		a    *RetrainActivities
		in   activities.RetrainChunkInput
		want string
	}{
		{"no store", &RetrainActivities{}, activities.RetrainChunkInput{Spec: s, CheckpointRun: "r", UntilEpoch: 1}, "--checkpoint-store"},
		{"bad run", &RetrainActivities{Store: st}, activities.RetrainChunkInput{Spec: s, CheckpointRun: "../x", UntilEpoch: 1}, "run"},
		{"bad chunk", &RetrainActivities{Store: st}, activities.RetrainChunkInput{Spec: s, CheckpointRun: "r", FromEpoch: 2, UntilEpoch: 9}, "chunk"},
		{"no checkpoint", &RetrainActivities{Store: st}, activities.RetrainChunkInput{Spec: s, CheckpointRun: "r", FromEpoch: 1, UntilEpoch: 2}, "no checkpoint"},
		{"bad spec", &RetrainActivities{Store: st}, activities.RetrainChunkInput{Spec: retrain.Spec{Space: "x"}, CheckpointRun: "r", UntilEpoch: 1}, "arch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.a.RetrainChunk(context.Background(), tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
}

func TestRetrainPaperRecipe(t *testing.T) {
	s, err := retrain.Ready("paper")
	if err != nil {
		t.Fatal(err)
	}
	cfg := retrainConfig(s)
	if cfg.RandAugmentN != 2 || cfg.RandAugmentM != 9 || cfg.RandomErasing != 0.2 {
		t.Fatalf("paper augmentation not passed to the engine: %+v", cfg)
	}
	if tr := cfg.TrainTransform(); tr.RandAugmentN != 2 || tr.RandAugmentM != 9 || tr.RandomErasing != 0.2 || !tr.Train {
		t.Fatalf("training transform %+v", tr)
	}
	if !cfg.Nesterov || cfg.WeightDecay != 4e-5 || cfg.LabelSmoothing != 0.1 || cfg.WarmupEpochs != 5 || cfg.Dropout != 0.2 ||
		cfg.EMADecay != 0.9999 || cfg.LR != 0.8 || cfg.Batch != 2048 || cfg.Epochs != 500 {
		t.Fatalf("paper config %+v", cfg)
	}
	if cfg := retrainConfig(retrain.Spec{}); cfg.Dropout >= 0 {
		t.Errorf("dropout 0 in a spec must turn the engine's dropout off, got %v", cfg.Dropout)
	}
}
