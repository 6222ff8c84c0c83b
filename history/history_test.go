package history_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// The golden histories recorded by the integration tests on the dev server.
var golden = filepath.Join("..", "integration", "testdata", "golden")

func load(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(golden, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", "hello", "temporal workflow show"},
		{"no events", `{"events": []}`, "no events"},
		{"first event is not the start", `{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_FIRED"}]}`, "not WorkflowExecutionStarted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := history.Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBuildAndRenderSearch(t *testing.T) {
	h, err := history.Parse(load(t, "search-llm-fresh.json"))
	if err != nil {
		t.Fatal(err)
	}
	info := history.Describe(h)
	if info.WorkflowType != workflows.SearchName || info.WorkflowID != "golden-search-llm-fresh" || info.Closed == "" {
		t.Errorf("Describe = %+v", info)
	}
	tr, err := history.Build(h)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != "COMPLETED" || len(tr.Result) == 0 || len(tr.Input) == 0 {
		t.Errorf("trail status %s, result %d bytes, input %d bytes", tr.Status, len(tr.Result), len(tr.Input))
	}
	// Proposals, checks and measurements alternate as the workflow ran them.
	var names []string
	for _, s := range tr.Steps {
		if s.Status != history.StatusCompleted {
			t.Errorf("step %s (event %d) status %s", s.Name, s.EventID, s.Status)
		}
		names = append(names, s.Name)
	}
	seq := strings.Join(names, " ")
	for _, want := range []string{
		"Propose CheckProposal Evaluate Propose CheckProposal Propose CheckProposal Evaluate",
	} {
		if !strings.Contains(seq, want) {
			t.Errorf("steps %q lack %q", seq, want)
		}
	}
	var out bytes.Buffer
	if err := history.Render(&out, tr); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"GeniusSearch golden-search-llm-fresh, 1 run(s), COMPLETED",
		"proposer llm (gpt-4, temperature 0)",
		"── iteration 1/4, attempt 1: proposal from llm",
		"  system:\n", "  prompt:\n", "  reply:\n    [1, 0, 1, 0, 0, 1, 0, 0]\n",
		"check: ok, arch [1, 0, 1, 0, 0, 1, 0, 0], key 10100100",
		"measured: nas-bench-macro 10100100 accuracy 85.70, rank 6221 of 6561",
		"check: unparsable", "check: duplicate", "sent back:",
		"iteration 2/4, attempt 2",
		"result: 4 iterations measured, 0 failed, stopped: budget",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered trail lacks %q", want)
		}
	}
	// The prompt of iteration 2 comes before its reply, which comes before
	// its check.
	i2 := strings.Index(text, "iteration 2/4, attempt 1")
	if p, r := strings.Index(text[i2:], "prompt:"), strings.Index(text[i2:], "reply:"); p < 0 || r < p {
		t.Errorf("iteration 2: prompt at %d, reply at %d", p, r)
	}
}

func TestBuildContinueAsNew(t *testing.T) {
	var list []string
	for i := 1; i <= 3; i++ {
		list = append(list, filepath.Join(golden, fmt.Sprintf("search-continue-as-new.run%d.json", i)))
	}
	h1, err := history.Load(list[0])
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := history.Load(list[1])
	h3, _ := history.Load(list[2])
	tr, err := history.Build(h1, h2, h3)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != "COMPLETED" || len(tr.RunIDs) != 3 {
		t.Errorf("status %s, %d runs", tr.Status, len(tr.RunIDs))
	}
	cans, evals := 0, 0
	for _, s := range tr.Steps {
		switch {
		case s.Kind == history.KindContinuedAsNew:
			cans++
		case s.Name == activities.EvaluateName:
			evals++
		}
	}
	if cans != 2 || evals != 5 {
		t.Errorf("%d continue-as-new steps and %d measurements; want 2 and 5", cans, evals)
	}
	if history.Describe(h2).ContinuedFrom != history.Describe(h1).RunID || history.Describe(h1).ContinuedAs != history.Describe(h2).RunID {
		t.Error("runs 1 and 2 are not linked")
	}
	if _, err := history.Build(h2, h1); err == nil {
		t.Error("Build accepted a completed run followed by another")
	}
	if tr, err := history.Build(h1); err != nil || tr.Status != "CONTINUED_AS_NEW" {
		t.Errorf("first run alone: status %v, %v", tr, err)
	}
}

func TestBuildSignal(t *testing.T) {
	h, err := history.Parse(load(t, "search-llm-stop-signal.json"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := history.Build(h)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := history.Render(&out, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `signal "stop"`) || !strings.Contains(out.String(), "enough for the golden history") ||
		!strings.Contains(out.String(), "stopped: stop-signal") {
		t.Errorf("rendered trail lacks the stop signal:\n%s", out.String())
	}
}

// evaluateFirst schedules an activity the recorded run did not.
func evaluateFirst(ctx workflow.Context, in workflows.SearchInput) (*workflows.SearchResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	_ = workflow.ExecuteActivity(actx, activities.EvaluateName, activities.EvaluateInput{}).Get(ctx, nil)
	return workflows.GeniusSearch(ctx, in)
}

func TestReplay(t *testing.T) {
	h, err := history.Parse(load(t, "search-random.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := history.Replay(h, workers.RegisterWorkflows, nil); err != nil {
		t.Fatalf("unchanged code: %v", err)
	}
	err = history.Replay(h, func(r worker.WorkflowRegistry) {
		r.RegisterWorkflowWithOptions(evaluateFirst, workflow.RegisterOptions{Name: workflows.SearchName})
	}, nil)
	if err == nil || !history.IsNonDeterminism(err) || !strings.Contains(err.Error(), "golden-search-random") {
		t.Fatalf("changed code: error %v; want a non-determinism error naming the workflow", err)
	}
	// A workflow type this binary does not register is an error too, not
	// non-determinism.
	err = history.Replay(h, func(worker.WorkflowRegistry) {}, nil)
	if err == nil || history.IsNonDeterminism(err) {
		t.Fatalf("nothing registered: error %v", err)
	}
}

func TestRenderExperiment(t *testing.T) {
	h, err := history.Parse(load(t, "experiment-random.json"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := history.Build(h)
	if err != nil {
		t.Fatal(err)
	}
	children := 0
	for _, s := range tr.Steps {
		if s.Kind == history.KindChild {
			children++
			if s.Status != history.StatusCompleted || s.Name != workflows.SearchName || !strings.HasPrefix(s.WorkflowID, "golden-experiment-random/") {
				t.Errorf("child step %+v", s)
			}
		}
	}
	if children != 2 {
		t.Errorf("%d child searches, want 2", children)
	}
	var out bytes.Buffer
	if err := history.Render(&out, tr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"child GeniusSearch golden-experiment-random/", "3 iterations, stopped: budget", "result: 2 trials of random on nas-bench-macro", "random baseline (best of 3 uniform samples)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rendered experiment lacks %q:\n%s", want, out.String())
		}
	}
}

// A search recorded with regular activities for checks and look-ups and one
// recorded with local activities (markers) give the same audit lines.
func TestLocalActivityMarkersAudit(t *testing.T) {
	lines := func(name string) (string, int) {
		t.Helper()
		h, err := history.Parse(load(t, name))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := history.Build(h)
		if err != nil {
			t.Fatal(err)
		}
		local := 0
		for _, s := range tr.Steps {
			if s.Local {
				local++
				if s.Name != activities.CheckProposalName && s.Name != activities.EvaluateName {
					t.Errorf("%s: local step %q at event %d", name, s.Name, s.EventID)
				}
			}
		}
		var out bytes.Buffer
		if err := history.Render(&out, tr); err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "  check:") || strings.HasPrefix(l, "  measured:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n"), local
	}
	before, n := lines(filepath.Join("before-local-checks", "search-llm-fresh.json"))
	if n != 0 {
		t.Errorf("the history recorded before local checks has %d local steps", n)
	}
	after, n := lines("search-llm-fresh.json")
	// 4 iterations: 6 checks (2 replies sent back) and 4 look-ups.
	if n != 10 {
		t.Errorf("the history recorded with local checks has %d local steps, want 10 (every check and look-up)", n)
	}
	if before == "" || after != before {
		t.Errorf("audit lines differ:\nregular activities:\n%s\nlocal activities:\n%s", before, after)
	}
}
