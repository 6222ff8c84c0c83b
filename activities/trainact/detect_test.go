package trainact

import (
	"testing"

	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training/coco"
)

// A RetinaNet transfer from a retraining's checkpoint on synthetic COCO
// runs through the chunk loop (checkpoints, resume across chunks, COCO
// evaluation per epoch) and detects clearly better than its untrained
// start, which finds nothing.
func TestDetectionTransferChunks(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	src := tinyRetrainSpec(t)
	src.Epochs = 1
	from := runChunks(t, a, src, "source")[0].Best.Checkpoint

	dir := t.TempDir()
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: 48, Val: 16, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch, s.Data.Dir, s.FromCheckpoint = src.Arch, dir, from
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
	t.Logf("best epoch %d: %+v", last.Best.Epoch, *last.Best.COCO)
}
