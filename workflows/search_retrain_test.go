package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/workflows"
)

// fakeChunks stands in for the GPU worker's retraining (tested in its own
// package): epoch e ends at step 4e with EMA top-1 e/10, and every input is
// recorded.
type fakeChunks struct {
	mu     sync.Mutex
	inputs []activities.RetrainChunkInput
}

func (f *fakeChunks) chunk(_ context.Context, in activities.RetrainChunkInput) (activities.RetrainChunkResult, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.mu.Unlock()
	var out activities.RetrainChunkResult
	for e := in.FromEpoch + 1; e <= in.UntilEpoch; e++ {
		key := fmt.Sprintf("retrain/%s/step-%09d.ckpt", in.CheckpointRun, 4*e)
		out.Epochs = append(out.Epochs, activities.RetrainEpoch{Epoch: e, Step: 4 * e, EMATop1: float64(e) / 10, Checkpoint: key})
		out.Checkpoint, out.Step, out.Epoch = key, 4*e, e
		out.Best = &activities.RetrainBest{Epoch: e, EMATop1: float64(e) / 10, Checkpoint: key}
	}
	out.TotalSteps = 4 * in.Spec.Epochs
	out.Done = out.Step == out.TotalSteps
	return out, nil
}

func (f *fakeChunks) recorded() []activities.RetrainChunkInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inputs)
}

// retrainHarness runs the imagenet CPU demo search (random proposer, fake
// proxy training) with the real GeniusRetrain as its child and records the
// child's input.
type retrainHarness struct {
	*harness
	chunks *fakeChunks

	mu          sync.Mutex
	childInputs []workflows.RetrainInput
	childIDs    []string
}

func newRetrainHarness(t *testing.T) *retrainHarness {
	h := &retrainHarness{harness: newHarness(t), chunks: &fakeChunks{}}
	h.env.RegisterActivityWithOptions(fakeProxyTrain, proxyTrainOptions)
	h.env.RegisterActivityWithOptions(h.chunks.chunk, activity.RegisterOptions{Name: activities.RetrainChunkName})
	h.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in workflows.RetrainInput
		if err := args.Get(&in); err != nil {
			t.Errorf("child input: %v", err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.childInputs = append(h.childInputs, in)
		h.childIDs = append(h.childIDs, info.WorkflowExecution.ID)
	})
	return h
}

func retrainSearchSpec(r *specs.Retrain) specs.Spec {
	s := baseSpec("imagenet-cpu-demo")
	s.Retrain = r
	return s
}

func TestSearchRetrainsWinnerAndWaits(t *testing.T) {
	h := newRetrainHarness(t)
	res := h.mustRun(retrainSearchSpec(&specs.Retrain{Ready: "cpu-demo", Wait: true}))
	if res.Best == nil || res.Retrain == nil {
		t.Fatalf("best %+v retrain %+v", res.Best, res.Retrain)
	}
	r := res.Retrain
	wantID := "default-test-workflow-id" + workflows.RetrainIDSuffix
	if r.WorkflowID != wantID || r.RunID == "" || r.Error != "" || r.Skipped != "" {
		t.Fatalf("retrain %+v, want workflow %s with a run ID", r, wantID)
	}
	if len(h.childIDs) != 1 || h.childIDs[0] != wantID {
		t.Fatalf("children started: %v", h.childIDs)
	}
	in := h.childInputs[0]
	if !slices.Equal(in.Arch, res.Best.Arch) || in.Space != res.Space || in.Name != "retrain-cpu-demo" || in.Epochs != 4 {
		t.Errorf("child input %s %v, epochs %d; want the winner %v in %s with the cpu-demo recipe", in.Space, in.Arch, in.Epochs, res.Best.Arch, res.Space)
	}
	chunks := h.chunks.recorded()
	if len(chunks) != 4 {
		t.Fatalf("%d chunks, want the cpu-demo's 4 epochs", len(chunks))
	}
	for _, c := range chunks {
		if !slices.Equal(c.Spec.Arch, res.Best.Arch) || c.CheckpointRun != wantID {
			t.Errorf("chunk trains %v in run %s, want %v in %s", c.Spec.Arch, c.CheckpointRun, res.Best.Arch, wantID)
		}
	}
	if r.Result == nil || r.Result.Steps != 16 || r.Result.BestEpoch != 4 || len(r.Result.Epochs) != 4 || r.Result.CheckpointRun != wantID {
		t.Fatalf("retrain result %+v, want the child's 4 epochs", r.Result)
	}
	v, err := h.env.QueryWorkflow(workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Phase != workflows.PhaseDone || p.Retrain == nil || p.Retrain.RunID != r.RunID {
		t.Errorf("progress %+v, retrain %+v", p, p.Retrain)
	}
}

func TestSearchRetrainWithoutWaitAbandonsChild(t *testing.T) {
	h := newRetrainHarness(t)
	rs := retrainSpecInline()
	res := h.mustRun(retrainSearchSpec(&specs.Retrain{Spec: &rs}))
	r := res.Retrain
	if r == nil || r.RunID == "" || r.Result != nil || r.Error != "" {
		t.Fatalf("retrain %+v: want started, not waited for", r)
	}
	if len(h.childInputs) != 1 || !slices.Equal(h.childInputs[0].Arch, res.Best.Arch) || h.childInputs[0].Epochs != rs.Epochs {
		t.Fatalf("child inputs %+v", h.childInputs)
	}
	// The test environment runs an abandoned child to its end after the
	// search closed; a terminate or cancel policy would end it at once.
	if n := len(h.chunks.recorded()); n != rs.Epochs {
		t.Errorf("%d chunks, want %d: the retraining should outlive the search", n, rs.Epochs)
	}
}

// retrainSpecInline is a two-epoch recipe without space or arch: the search
// fills both.
func retrainSpecInline() (s retrain.Spec) {
	s.Epochs, s.Batch, s.LR = 2, 8, 0.1
	s.Input, s.Classes = 32, 10
	return s
}

func TestSearchRetrainSkippedWhenStopped(t *testing.T) {
	h := newRetrainHarness(t)
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == activities.ProxyTrainName {
			h.env.SignalWorkflow(workflows.StopSignal, "enough")
		}
	})
	res := h.mustRun(retrainSearchSpec(&specs.Retrain{Ready: "cpu-demo", Wait: true}))
	if res.Stopped != workflows.StoppedSignal || res.Retrain == nil || !strings.Contains(res.Retrain.Skipped, "stopped") || res.Retrain.WorkflowID != "" {
		t.Fatalf("stopped %q, retrain %+v", res.Stopped, res.Retrain)
	}
	if len(h.childIDs) != 0 {
		t.Errorf("started %v after a stop", h.childIDs)
	}
}

func TestSearchRetrainReadyResolvedForContinueAsNew(t *testing.T) {
	h := newRetrainHarness(t)
	s := retrainSearchSpec(&specs.Retrain{Ready: "cpu-demo"})
	s.MaxIterationsPerRun = 1
	_, err := h.run(s, nil)
	in := continueAsNew(t, err)
	r := in.Spec.Retrain
	if r == nil || r.Ready != "" || r.Spec == nil || r.Spec.Name != "retrain-cpu-demo" || r.Spec.Epochs != 4 || r.Wait {
		t.Fatalf("continued with retrain %+v", r)
	}
	if len(h.childIDs) != 0 {
		t.Errorf("retraining started before the search ended: %v", h.childIDs)
	}
}

func TestSearchRejectsBadRetrainOption(t *testing.T) {
	tests := []struct {
		name  string
		space string
		r     specs.Retrain
		want  string
	}{
		{"ready for another space", "nas-bench-macro", specs.Retrain{Ready: "paper"}, `"retrain.ready"`},
		{"unknown ready", "mobilenetv2-imagenet", specs.Retrain{Ready: "fast"}, "cpu-demo, paper"},
		{"nothing", "mobilenetv2-imagenet", specs.Retrain{Wait: true}, "names no recipe"},
		{"bad inline", "mobilenetv2-imagenet", specs.Retrain{Spec: &retrain.Spec{Recipe: recipe.Recipe{Batch: 8, LR: 0.1}}}, `"retrain.spec.epochs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newRetrainHarness(t)
			s := retrainSearchSpec(&tt.r)
			if tt.space != s.Space {
				s = baseSpec(tt.space)
				s.Retrain = &tt.r
			}
			_, err := h.run(s, nil)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != workflows.ErrInvalidSpec || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %s containing %s", err, workflows.ErrInvalidSpec, tt.want)
			}
			if len(h.calls) != 0 {
				t.Errorf("ran activities %v", h.calls)
			}
		})
	}
}

func TestExperimentRejectsRetrain(t *testing.T) {
	h := newRetrainHarness(t)
	h.env.ExecuteWorkflow(workflows.ExperimentName, retrainSearchSpec(&specs.Retrain{Ready: "cpu-demo"}))
	err := h.env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrInvalidSpec || !strings.Contains(err.Error(), `"retrain"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestStopSignalCancelsAwaitedRetrain(t *testing.T) {
	h := newRetrainHarness(t)
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name == activities.RetrainChunkName {
			h.env.SignalWorkflow(workflows.StopSignal, "enough")
		}
	})
	res := h.mustRun(retrainSearchSpec(&specs.Retrain{Ready: "cpu-demo", Wait: true}))
	r := res.Retrain
	if res.Stopped != workflows.StoppedBudget || r == nil || r.RunID == "" || r.Result != nil || !strings.Contains(r.Error, "cancelled by the stop signal: enough") {
		t.Fatalf("stopped %q, retrain %+v", res.Stopped, r)
	}
	if n := len(h.chunks.recorded()); n >= 4 {
		t.Errorf("%d chunks ran: the retraining was not cancelled", n)
	}
}
