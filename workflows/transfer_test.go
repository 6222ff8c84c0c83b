package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/workflows"
)

func transferEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute) // real training in the activities
	env.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	env.RegisterWorkflowWithOptions(workflows.GeniusTransfer, workflow.RegisterOptions{Name: workflows.TransferName})
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acts := &trainact.RetrainActivities{Store: st}
	env.RegisterActivityWithOptions(acts.RetrainChunk, activity.RegisterOptions{Name: activities.RetrainChunkName})
	return env
}

// A retrain spec's transfer list runs GeniusTransfer as a child from the
// retraining's best checkpoint, with its space and arch; the fine-tuned
// network beats chance on synthetic CIFAR-10.
func TestRetrainChainsTransfer(t *testing.T) {
	env := transferEnv(t)
	dir := t.TempDir()
	if _, err := (data.SyntheticCIFAR{Format: "cifar10", Train: 480, Test: 200, Seed: 1}).Write(dir); err != nil {
		t.Fatal(err)
	}
	tr, err := transfer.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	tr.Space, tr.Arch, tr.Data.Dir = "", nil, dir // from the retraining
	s := tinyRetrain(t)
	s.Epochs = 1
	s.Transfer = []retrain.Spec{tr}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	env.ExecuteWorkflow(workflows.RetrainName, workflows.RetrainInput{Spec: s})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.RetrainResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Transfers) != 1 || res.Transfers[0].Result == nil {
		t.Fatalf("transfers %+v", res.Transfers)
	}
	h := res.Transfers[0]
	r := h.Result
	if h.WorkflowID != "default-test-workflow-id"+workflows.TransferIDSuffix+"1" || r.FromCheckpoint != res.BestCheckpoint || r.Dataset != "cifar10" {
		t.Errorf("handoff %+v, result %+v (retraining's best %s)", h, r, res.BestCheckpoint)
	}
	t.Logf("chained transfer: top-1 %.3f top-5 %.3f in %d steps", r.Top1, r.Top5, r.Steps)
	if len(r.Epochs) != tr.Epochs || r.Top1 < 0.3 || r.Top5 < r.Top1 {
		t.Fatalf("transfer result %+v: want %d epochs and top-1 clearly above chance (0.1)", r, tr.Epochs)
	}
}

// GeniusTransfer without weights to start from fails at once, naming the
// field.
func TestGeniusTransferNeedsCheckpoint(t *testing.T) {
	env := transferEnv(t)
	s, err := transfer.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	env.ExecuteWorkflow(workflows.TransferName, workflows.TransferInput{Spec: s})
	err = env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrInvalidSpec || !strings.Contains(err.Error(), "from_checkpoint") {
		t.Fatalf("err = %v, want an InvalidSpec error naming from_checkpoint", err)
	}
}
