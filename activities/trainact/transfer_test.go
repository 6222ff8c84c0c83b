package trainact

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training/data"
)

// Fine-tuning the tiny network from a retraining's checkpoint on synthetic
// CIFAR-10 beats chance (10%) clearly: the transfer path end to end below
// the workflow.
func TestTransferChunkBeatsChance(t *testing.T) {
	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	src := tinyRetrainSpec(t)
	src.Epochs = 1
	srcRes := runChunks(t, a, src, "source")
	from := srcRes[0].Best.Checkpoint

	dir := t.TempDir()
	if _, err := (data.SyntheticCIFAR{Format: "cifar10", Train: 480, Test: 200, Seed: 1}).Write(dir); err != nil {
		t.Fatal(err)
	}
	s, err := transfer.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch, s.Data.Dir, s.FromCheckpoint = src.Arch, dir, from
	if err := transfer.Validate(s); err != nil {
		t.Fatal(err)
	}
	res := runChunks(t, a, s, "transfer")
	last := res[len(res)-1]
	if !last.Done || last.Best == nil {
		t.Fatalf("transfer did not finish: %+v", last)
	}
	t.Logf("synthetic CIFAR-10 top-1 %.3f top-5 %.3f after %d steps", last.Best.EMATop1, last.Best.EMATop5, last.Step)
	if last.Best.EMATop1 < 0.3 {
		t.Fatalf("top-1 %.3f is not clearly above chance (0.1)", last.Best.EMATop1)
	}

	// A key that is not in the store is the spec's fault: no retries.
	s.FromCheckpoint = "retrain/none/step-000000001.ckpt"
	_, err = a.RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: s, CheckpointRun: "missing", FromEpoch: 0, UntilEpoch: 1})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrRetrainBadSpec || !appErr.NonRetryable() {
		t.Fatalf("missing from_checkpoint: %v", err)
	}
}

// CIFAR images upsampled for transfer are evaluated whole, not centre
// cropped as ImageNet images are.
func TestTransferConfigUsesWholeImages(t *testing.T) {
	s, err := transfer.Ready("cifar100")
	if err != nil {
		t.Fatal(err)
	}
	cfg := retrainConfig(s)
	if cfg.Input != 224 || cfg.CropFraction != 1 {
		t.Errorf("cifar100 transfer: input %d, crop fraction %v; want 224 and the whole image", cfg.Input, cfg.CropFraction)
	}
	tf := cfg.TrainTransform()
	if tf.Size != 224 || !tf.Train {
		t.Errorf("training transform %+v: want random crops upsampled to 224", tf)
	}
	s.Data.Format = "imagefolder"
	if cfg := retrainConfig(s); cfg.CropFraction == 1 {
		t.Error("an image folder at 224 is evaluated whole; want the centre crop")
	}
}
