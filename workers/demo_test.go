package workers

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

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
	RegisterTraining(env, &trainact.TrainingActivities{CheckpointDir: t.TempDir()})
	s, err := specs.Ready("imagenet-cpu-demo")
	if err != nil {
		t.Fatal(err)
	}
	s.Iterations = 2
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
	for _, it := range res.Iterations {
		if it.FLOPsM < 280 || it.FLOPsM > 330 || it.ParamsM <= 0 || it.Accuracy < 0 || it.Accuracy > 100 {
			t.Errorf("iteration %d: %+v", it.Iteration, it)
		}
	}
}
