package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/detector"
	"github.com/genius-nas/genius/training/tensor"
	"github.com/genius-nas/genius/workflows"
)

// TestTransferCOCOCPUDemo is the COCO transfer demo end to end on the dev
// server: genius data coco writes synthetic COCO, a one-epoch retraining
// gives a small classifier checkpoint, and genius transfer --spec
// coco-cpu-demo trains a RetinaNet on its backbone (24 epochs, about a
// minute on 2 cores). Its AP50 on the synthetic val2017 must clearly beat
// chance: the AP50 of the untrained detector on the same backbone, scored
// by the same pipeline here (with and without the score threshold). genius audit shows the 12 COCO stats.
func TestTransferCOCOCPUDemo(t *testing.T) {
	c := dial(t)
	q := queue(t)
	gq := q + "-gpu"
	dir := filepath.Join(t.TempDir(), "coco")
	runGenius(t, "data", "coco", "--synthetic", dir, "--train", "96", "--val", "16")
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	startTransferWorkers(t, c, q, gq, st)

	// The backbone: a one-epoch retraining of the small network.
	src, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	src.Arch, src.Epochs, src.WarmupEpochs = make([]int, 30), 1, 0
	srcRes, err := (&trainact.RetrainActivities{Store: st}).RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: src, CheckpointRun: "source", UntilEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	from := srcRes.Best.Checkpoint

	spec, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	spec.TaskQueue = gq
	chance := untrainedAP50(t, st, from, spec, dir)

	b, _ := json.Marshal(spec)
	specPath := filepath.Join(t.TempDir(), "coco.json")
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	id := "transfer-coco-" + q
	stdout, stderr := runGenius(t, "transfer", "--spec", specPath, "--checkpoint", from, "--arch", strings.Repeat("0,", 29)+"0",
		"--data", dir, "--address", server(t).Address(), "--task-queue", q, "--workflow-id", id, "--poll", "500ms")
	var res workflows.TransferResult
	if err := json.Unmarshal(stdout, &res); err != nil {
		t.Fatalf("genius transfer stdout: %v\n%s", err, stdout)
	}
	if res.COCO == nil || res.FinalCOCO == nil || len(res.Epochs) != spec.Epochs || res.Task != retrain.TaskDetection {
		t.Fatalf("genius transfer result %+v\nstderr: %s", res, stderr)
	}
	t.Logf("RetinaNet on synthetic COCO: best epoch %d %+v; final %+v; untrained AP50 %.4f", res.BestEpoch, *res.COCO, *res.FinalCOCO, chance)
	if res.COCO.AP50 < max(chance+0.03, 3*chance) {
		t.Errorf("AP50 %.4f is not clearly above chance (%.4f, the untrained detector's)", res.COCO.AP50, chance)
	}
	if want := fmt.Sprintf("epoch %d/%d", spec.Epochs, spec.Epochs); !strings.Contains(string(stderr), want) || !strings.Contains(string(stderr), "AP50") {
		t.Errorf("genius transfer progress lacks %q with AP50:\n%s", want, stderr)
	}
	audit, _ := runGenius(t, "audit", "--address", server(t).Address(), "--workflow-id", id)
	want := fmt.Sprintf("result: RetinaNet on coco from %s: AP %.3f, AP50 %.3f, AP75 %.3f", from, res.COCO.AP, res.COCO.AP50, res.COCO.AP75)
	if !strings.Contains(string(audit), want) || !strings.Contains(string(audit), "ARl") {
		t.Errorf("genius audit of the transfer:\n%s\nwant %q and the other stats", audit, want)
	}
}

// untrainedAP50 scores the detector of spec on the backbone at key before
// any training: what the demo has to beat.
func untrainedAP50(t *testing.T, st storage.Store, key string, spec retrain.Spec, dir string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	train, err := coco.Open(coco.AnnotationPath(dir, coco.TrainSplit), coco.ImageDir(dir, coco.TrainSplit))
	if err != nil {
		t.Fatal(err)
	}
	val, err := coco.Open(coco.AnnotationPath(dir, coco.ValSplit), coco.ImageDir(dir, coco.ValSplit))
	if err != nil {
		t.Fatal(err)
	}
	d := spec.Detector
	cfg := detector.Config{Space: spec.Space, Arch: make([]int, 30), MaxLong: d.MaxSize[0], MaxShort: d.MaxSize[1], Channels: d.Channels,
		StackedConvs: d.StackedConvs, FrozenStages: d.FrozenStages, Epochs: spec.Epochs, Batch: spec.Batch, LR: spec.LR, Seed: spec.Seed}
	r, err := detector.NewRun(tensor.NewCPU(tensor.CPUOptions{}), cfg, train)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ck, err := checkpoint.Read(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadBackbone(ck); err != nil {
		t.Fatal(err)
	}
	res, err := r.Evaluate(ctx, val, spec.Batch)
	if err != nil {
		t.Fatal(err)
	}
	// Its scores sit at the prior (0.01), below the 0.05 threshold: it
	// detects nothing. Without the threshold its 100 best boxes per image,
	// placed and ranked by untrained weights, are chance.
	r.PostProcess.ScoreThr = 0
	all, err := r.Evaluate(ctx, val, spec.Batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("untrained detector: AP50 %.4f with the score threshold, %.4f with its 100 best boxes per image (%d detections)", res.AP50, all.AP50, all.Detections)
	return max(res.AP50, all.AP50)
}

// recordCOCOTransferGolden records a small detection GeniusTransfer (two
// chunks of one epoch) from a one-epoch retraining's checkpoint.
func recordCOCOTransferGolden(t *testing.T, c client.Client) {
	q := queue(t) + "-coco"
	dir := filepath.Join(t.TempDir(), "coco")
	if _, err := coco.WriteSynthetic(dir, coco.SyntheticOptions{Train: 16, Val: 4, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	startTransferWorkers(t, c, q, q+"-gpu", st)
	src, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	src.Arch, src.Epochs, src.WarmupEpochs = make([]int, 30), 1, 0
	srcRes, err := (&trainact.RetrainActivities{Store: st}).RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: src, CheckpointRun: "source", UntilEpoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := transfer.Ready("coco-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	spec.Arch, spec.Data.Dir, spec.TaskQueue, spec.FromCheckpoint = make([]int, 30), dir, q+"-gpu", srcRes.Best.Checkpoint
	spec.Epochs, spec.ChunkEpochs, spec.Detector.StepEpochs = 2, 1, nil
	id := "golden-transfer-coco"
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.TransferName,
		workflows.TransferInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.TransferResult
	if err := run.Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.COCO == nil || len(res.Epochs) != 2 {
		t.Fatalf("detection transfer result %+v", res)
	}
	exportRuns(t, c, "transfer-coco", id)
}
