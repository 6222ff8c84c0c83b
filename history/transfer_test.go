package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/genius-nas/genius/activities"
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
