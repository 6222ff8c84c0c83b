package workers

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/trainact"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// TestImageNetCPUDemo runs the imagenet-cpu-demo spec with the real
// training activities (2 steps on random tensors per candidate) registered
// beside the search ones, as `genius dev` does.
func TestImageNetCPUDemo(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	// Real proxy training: the SDK's 3 s default is too short on a busy
	// two-core CI machine.
	env.SetTestTimeout(time.Minute)
	RegisterSearch(env, NewSearchActivities(Config{DataDir: dataDir(t)}))
	RegisterTraining(env, &Training{Proxy: &trainact.TrainingActivities{Store: dirStore(t)}})
	s, err := specs.Ready("imagenet-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Iterations = 2
	// Every candidate gets its own initialisation seed but is validated
	// on the search's held-out split.
	var seeds []int64
	var heldOut []string
	env.SetOnActivityStartedListener(func(info *activity.Info, ctx context.Context, args converter.EncodedValues) {
		var in activities.ProxyTrainInput
		if info.ActivityType.Name == activities.ProxyTrainName && args.Get(&in) == nil {
			seeds = append(seeds, in.Seed)
		}
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, result converter.EncodedValue, err error) {
		var out activities.TrainResult
		if info.ActivityType.Name == activities.ProxyTrainName && err == nil && result.Get(&out) == nil {
			heldOut = append(heldOut, out.HeldOut)
		}
	})
	env.ExecuteWorkflow(workflows.SearchName, workflows.SearchInput{Spec: s})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.SearchResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Iterations) != 2 || res.Best == nil {
		t.Fatalf("%+v", res)
	}
	if len(seeds) != 2 || seeds[0] == seeds[1] || len(heldOut) != 2 || heldOut[0] == "" || heldOut[0] != heldOut[1] {
		t.Errorf("candidates' seeds %v, held-out splits %q: want two seeds and one split", seeds, heldOut)
	}
	for _, it := range res.Iterations {
		if !s.FLOPs.Contains(it.FLOPsM) || it.ParamsM <= 0 || it.Accuracy < 0 || it.Accuracy > 100 {
			t.Errorf("iteration %d: %+v", it.Iteration, it)
		}
	}
}
