package workflows

import (
	"fmt"
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/cocoeval"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
)

// TransferName is the registered name of GeniusTransfer.
const TransferName = "GeniusTransfer"

// TransferIDSuffix follows the retraining's workflow ID in the IDs of the
// transfers it chains ("<retrain ID>-transfer-1", ...).
const TransferIDSuffix = "-transfer-"

// retrainTransferVersion guards the transfers a retrain spec chains.
const retrainTransferVersion = "retrain-transfer"

// TransferInput is GeniusTransfer's input: a transfer spec (a retrain spec
// with from_checkpoint) as it stands in its JSON file, plus what earlier
// runs learnt (Continue-As-New). It is a retraining's input, so it refuses
// key-like fields the same way.
type TransferInput = RetrainInput

// TransferResult is GeniusTransfer's result.
type TransferResult struct {
	Name string `json:"name,omitempty"`
	// CheckpointRun is the store folder of its checkpoints.
	CheckpointRun string `json:"run"`
	// FromCheckpoint is the store key the backbone was loaded from.
	FromCheckpoint string `json:"from_checkpoint"`
	// Dataset is the data format fine-tuned on (cifar10, cifar100 ...).
	Dataset string `json:"dataset"`
	// Input is a classifier's image side; a detector's images are resized
	// to fit MaxSize ([long, short]) instead.
	Input   int    `json:"input,omitempty"`
	MaxSize [2]int `json:"max_size,omitempty"`
	// Top1 and Top5 (fractions) on the test split at the best epoch (the
	// EMA network when the spec keeps one), whose state is BestCheckpoint.
	Top1           float64 `json:"top1"`
	Top5           float64 `json:"top5"`
	BestEpoch      int     `json:"best_epoch"`
	BestCheckpoint string  `json:"best_checkpoint"`
	// Task is "detection" for a RetinaNet transfer (empty: classification).
	Task string `json:"task,omitempty"`
	// COCO holds a detector's twelve COCO bbox stats on the validation
	// split at its best epoch (the highest AP), FinalCOCO after the last.
	COCO      *cocoeval.Stats `json:"coco,omitempty"`
	FinalCOCO *cocoeval.Stats `json:"final_coco,omitempty"`
	// FinalTop1 is the live network's top-1 after the last epoch.
	FinalTop1       float64                    `json:"final_top1"`
	FinalCheckpoint string                     `json:"final_checkpoint"`
	Steps           int                        `json:"steps"`
	Epochs          []activities.RetrainEpoch  `json:"epochs"`
	Resumes         []activities.RetrainResume `json:"resumes,omitempty"`
}

// GeniusTransfer fine-tunes a network from stored weights with a new
// classifier head (spec from_checkpoint): the paper's CIFAR-10/100
// transfer; with task detection it trains a RetinaNet on the weights as
// its backbone on COCO-format data (the paper's COCO transfer). It runs the retraining's chunk activities, so it is durable the
// same way: checkpoints in the store, heartbeats, resume on any worker, a
// progress query per epoch (RetrainProgress) and Continue-As-New. Register
// it under TransferName.
func GeniusTransfer(ctx workflow.Context, in TransferInput) (*TransferResult, error) {
	r, err := trainInChunks(ctx, in, TransferName, "transfer", transfer.Validate)
	if err != nil {
		return nil, err
	}
	spec, st := r.spec, r.st
	r.phase = "done"
	out := &TransferResult{Name: spec.Name, CheckpointRun: st.CheckpointRun, FromCheckpoint: spec.FromCheckpoint, Dataset: spec.Data.Format,
		Input: spec.Input, FinalCheckpoint: st.Checkpoint, Steps: st.Step, Epochs: st.Epochs, Resumes: st.Resumes}
	if st.Best != nil {
		out.Top1, out.Top5, out.BestEpoch, out.BestCheckpoint = st.Best.EMATop1, st.Best.EMATop5, st.Best.Epoch, st.Best.Checkpoint
	}
	if n := len(st.Epochs); n > 0 {
		out.FinalTop1, out.FinalCOCO = st.Epochs[n-1].Top1, st.Epochs[n-1].COCO
	}
	if spec.IsDetection() {
		out.Task, out.Input = spec.Task, 0
		if spec.Detector != nil {
			out.MaxSize = spec.Detector.MaxSize
		}
		if st.Best != nil {
			out.COCO = st.Best.COCO
		}
	}
	return out, nil
}

// TransferHandoff is a transfer a retraining chained: its child workflow
// and result, or why it has none. The retraining's own result stands either
// way.
type TransferHandoff struct {
	WorkflowID string          `json:"workflow_id"`
	Result     *TransferResult `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// chainTransfers runs the retrain spec's transfers as child workflows, all
// at once, from the run's best checkpoint.
func chainTransfers(ctx workflow.Context, spec retrain.Spec, best string) []TransferHandoff {
	if len(spec.Transfer) == 0 {
		return nil
	}
	if workflow.GetVersion(ctx, retrainTransferVersion, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	specs := spec.TransferSpecs(best)
	out := make([]TransferHandoff, len(specs))
	futures := make([]workflow.ChildWorkflowFuture, len(specs))
	for i, t := range specs {
		out[i].WorkflowID = id + TransferIDSuffix + strconv.Itoa(i+1)
		if best == "" {
			out[i].Error = "the retraining has no best checkpoint to transfer from"
			continue
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        out[i].WorkflowID,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			StaticSummary:     fmt.Sprintf("transfer %d of %d: %s on %s from %s", i+1, len(specs), t.Name, t.Data.Format, best),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, TransferName, TransferInput{Spec: t})
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		var r TransferResult
		if err := f.Get(ctx, &r); err != nil {
			out[i].Error = fmt.Sprintf("%s %s: %v", TransferName, out[i].WorkflowID, err)
			continue
		}
		out[i].Result = &r
	}
	return out
}
