package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/workflows"
)

func tinyRetrain(t *testing.T) retrain.Spec {
	t.Helper()
	s, err := retrain.Ready("cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Arch = make([]int, 30) // slot 0 of each stage only: a small network
	s.Epochs = 3
	s.Data.TrainSamples = 32
	s.Data.ValSamples = 8
	s.CheckpointEverySteps = 3
	return s
}

func TestGeniusRetrain(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute) // real training in the activities
	env.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	st, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acts := &trainact.RetrainActivities{Store: st}
	// The second chunk's first attempt fails as a crashed worker's would.
	var calls atomic.Int32
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.RetrainChunkInput) (activities.RetrainChunkResult, error) {
		calls.Add(1)
		if in.FromEpoch == 1 && activity.GetInfo(ctx).Attempt == 1 {
			return activities.RetrainChunkResult{}, errors.New("worker lost")
		}
		return acts.RetrainChunk(ctx, in)
	}, activity.RegisterOptions{Name: activities.RetrainChunkName})
	env.ExecuteWorkflow(workflows.RetrainName, workflows.RetrainInput{Spec: tinyRetrain(t)})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.RetrainResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d chunk attempts, want 3 chunks + 1 retry", calls.Load())
	}
	if res.Steps != 12 || len(res.Epochs) != 3 || res.FinalCheckpoint != trainact.CheckpointKey(res.CheckpointRun, 12) {
		t.Fatalf("result %+v", res)
	}
	if res.CheckpointRun != "default-test-workflow-id" {
		t.Errorf("run %q: want the workflow ID", res.CheckpointRun)
	}
	best := res.Epochs[0]
	for i, ep := range res.Epochs {
		if ep.Epoch != i+1 || ep.Step != 4*(i+1) {
			t.Errorf("epoch %d: %+v", i+1, ep)
		}
		if ep.EMATop1 > best.EMATop1 {
			best = ep
		}
	}
	if res.BestEpoch != best.Epoch || res.BestEMATop1 != best.EMATop1 || res.BestCheckpoint != best.Checkpoint {
		t.Errorf("best epoch %d %.3f %s, want %+v", res.BestEpoch, res.BestEMATop1, res.BestCheckpoint, best)
	}
	for _, k := range []string{res.FinalCheckpoint, res.BestCheckpoint} {
		if _, err := st.Stat(context.Background(), k); err != nil {
			t.Errorf("checkpoint %s: %v", k, err)
		}
	}
	v, err := env.QueryWorkflow(workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.RetrainProgress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != "done" || p.EpochsDone != 3 || p.TotalEpochs != 3 || len(p.Epochs) != 3 || p.Chunks != 3 {
		t.Errorf("progress %+v", p)
	}
}

func TestGeniusRetrainRejectsBadSpec(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	s := tinyRetrain(t)
	s.Arch = nil
	s.LR = 0
	env.ExecuteWorkflow(workflows.RetrainName, workflows.RetrainInput{Spec: s})
	err := env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrInvalidSpec || !strings.Contains(err.Error(), "arch is empty") || !strings.Contains(err.Error(), "lr 0") {
		t.Fatalf("err = %v", err)
	}
}
