package trainact

import (
	"context"
	"testing"

	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training/coco"
)

// A RetinaNet transfer from a retraining's checkpoint on synthetic COCO
// runs through the chunk loop: checkpoints, resume across chunks and after
// a kill, COCO evaluation per epoch, the best epoch by AP.
func TestDetectionTransferChunks(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	src := tinyRetrainSpec(t)
	src.Epochs = 1
	from := runChunks(t, a, src, "source")[0].Best.Checkpoint

	dir := t.TempDir()
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: 16, Val: 4, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch, s.Data.Dir, s.FromCheckpoint = src.Arch, dir, from
	s.Epochs, s.ChunkEpochs, s.CheckpointEverySteps = 2, 1, 3 // the flow, not the accuracy (integration's demo)
	if err := transfer.Validate(s); err != nil {
		t.Fatal(err)
	}
	res := runChunks(t, a, s, "coco")
	last := res[len(res)-1]
	if !last.Done || last.Best == nil || last.Best.COCO == nil {
		t.Fatalf("detection transfer did not finish: %+v", last)
	}
	for _, r := range res {
		for _, ep := range r.Epochs {
			t.Logf("epoch %d: train loss %.3f, AP %.4f AP50 %.4f", ep.Epoch, ep.TrainLoss, ep.COCO.AP, ep.COCO.AP50)
		}
	}
	if len(res) != 2 || len(res[1].Epochs) != 1 || res[1].Epochs[0].COCO == nil || last.Step != 2*4 {
		t.Errorf("chunks %+v: want 2 of one epoch of 4 steps each, with COCO stats", res)
	}
	if res[1].Resumed != nil {
		t.Errorf("the second chunk resumed mid-epoch: %+v", res[1].Resumed)
	}
	t.Logf("best epoch %d: %+v", last.Best.Epoch, *last.Best.COCO)

	// The same transfer killed at step 7 of the second chunk resumes from
	// its step-6 checkpoint (weights and momentum) and ends exactly where
	// the uninterrupted one did.
	ctx := context.Background()
	r2 := killSecondChunk(ctx, t, a, s, 7)
	if r2.Resumed == nil || r2.Resumed.Step != 6 || !r2.Done {
		t.Fatalf("retried chunk %+v resumed %+v: want it from step 6 and done", r2, r2.Resumed)
	}
	if !sameTensors(finalTensors(t, a, r2.Checkpoint), finalTensors(t, a, last.Checkpoint)) {
		t.Error("the resumed detector's final weights differ from the uninterrupted run's")
	}
	if r2.Epochs[0].TrainLoss != res[1].Epochs[0].TrainLoss || *r2.Epochs[0].COCO != *res[1].Epochs[0].COCO {
		t.Errorf("resumed epoch 2 %+v %+v, uninterrupted %+v %+v", r2.Epochs[0], *r2.Epochs[0].COCO, res[1].Epochs[0], *res[1].Epochs[0].COCO)
	}
}
