package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/cocoeval"
	"github.com/genius-nas/genius/workflows"
)

func TestRenderTransfer(t *testing.T) {
	res, _ := json.Marshal(workflows.TransferResult{CheckpointRun: "r", FromCheckpoint: "retrain/x/step-000000032.ckpt", Dataset: "cifar100",
		Input: 224, Top1: 0.8123, Top5: 0.9567, BestEpoch: 2, BestCheckpoint: "retrain/r/step-000000020.ckpt", Steps: 30,
		Epochs: make([]activities.RetrainEpoch, 3)})
	child := Step{Kind: KindChild, Name: workflows.TransferName, WorkflowID: "w-transfer-1", Status: StatusCompleted, Result: res}
	for _, tr := range []*Trail{
		{WorkflowType: workflows.TransferName, Result: res},
		{WorkflowType: workflows.RetrainName, Steps: []Step{child}, Result: json.RawMessage(`{}`)},
	} {
		var b bytes.Buffer
		if err := Render(&b, tr); err != nil {
			t.Fatal(err)
		}
		want := "cifar100 fine-tuned from retrain/x/step-000000032.ckpt at 224px: top-1 81.23%, top-5 95.67% (epoch 2 of 3, 30 steps)"
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s audit:\n%s\nwant a line with %q", tr.WorkflowType, b.String(), want)
		}
	}
}

func TestRenderDetectionTransfer(t *testing.T) {
	stats := &cocoeval.Stats{AP: 0.358, AP50: 0.553, AP75: 0.381, APs: 0.196, APm: 0.387, APl: 0.481,
		AR1: 0.3, AR10: 0.45, AR100: 0.5, ARs: 0.25, ARm: 0.55, ARl: -1}
	res, _ := json.Marshal(workflows.TransferResult{CheckpointRun: "r", FromCheckpoint: "retrain/x/step-000000032.ckpt", Dataset: "coco",
		Task: "detection", COCO: stats, BestEpoch: 12, BestCheckpoint: "retrain/r/step-000000120.ckpt", Steps: 120,
		Epochs: make([]activities.RetrainEpoch, 12)})
	var b bytes.Buffer
	if err := Render(&b, &Trail{WorkflowType: workflows.TransferName, Result: res}); err != nil {
		t.Fatal(err)
	}
	want := "RetinaNet on coco from retrain/x/step-000000032.ckpt: AP 0.358, AP50 0.553, AP75 0.381, APs 0.196, APm 0.387, APl 0.481, " +
		"AR1 0.300, AR10 0.450, AR100 0.500, ARs 0.250, ARm 0.550, ARl -1.000 (epoch 12 of 12, 120 steps)"
	if !strings.Contains(b.String(), want) {
		t.Errorf("audit:\n%s\nwant a line with %q", b.String(), want)
	}
}
