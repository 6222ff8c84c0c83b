package workflows_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/workflows"
)

// withFields is doc (a JSON object) with extra fields merged in at the top
// level, the way a user might paste them into a spec file.
func withFields(t *testing.T, doc any, extra string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return json.RawMessage(strings.TrimSuffix(string(b), "}") + "," + strings.TrimPrefix(extra, "{"))
}

// assertRefused checks that a workflow refused its input as invalid, naming
// every key-like field and repeating none of the values.
func assertRefused(t *testing.T, err error, fields ...string) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != workflows.ErrInvalidSpec || !app.NonRetryable() {
		t.Fatalf("error %v, want a non-retryable %s", err, workflows.ErrInvalidSpec)
	}
	for _, f := range fields {
		if !strings.Contains(err.Error(), `"`+f+`"`) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
	if strings.Contains(err.Error(), "sk-pasted") {
		t.Errorf("error repeats the secret: %v", err)
	}
}

// A key-like field at any depth, in any letter case, that the input's
// schema does not define is refused before any activity runs (decoding
// alone would drop it, while the history keeps it).
func TestSearchInputWithSecretsIsRefused(t *testing.T) {
	for _, tc := range []struct {
		extra  string
		fields []string
	}{
		{`{"apiKey":"sk-pasted"}`, []string{"apiKey"}},
		{`{"OPENAI_TOKEN":"sk-pasted"}`, []string{"OPENAI_TOKEN"}},
		{`{"llm":{"Password":"sk-pasted"}}`, []string{"llm.Password"}},
		{`{"proposer_auth":{"client_secret":"sk-pasted"},"x_access_key":"sk-pasted"}`, []string{"proposer_auth.client_secret", "x_access_key"}},
	} {
		t.Run(tc.extra, func(t *testing.T) {
			h := newHarness(t)
			h.env.ExecuteWorkflow(workflows.SearchName, withFields(t, randomSpec(1), tc.extra))
			assertRefused(t, h.env.GetWorkflowError(), tc.fields...)
			if len(h.calls) != 0 {
				t.Errorf("activities ran: %v", h.calls)
			}
		})
	}
	t.Run("arch keys in the state are data", func(t *testing.T) {
		h := newHarness(t)
		res := h.mustRun(randomSpec(2))
		state := workflows.SearchState{Done: 1, Iterations: res.Iterations[:1], WorkflowRuns: 1}
		if res.Iterations[0].Key == "" {
			t.Fatal("iteration has no key")
		}
		h2 := newHarness(t)
		if _, err := h2.run(randomSpec(2), &state); err != nil {
			t.Fatalf("a carried state with architecture keys was refused: %v", err)
		}
	})
}

func TestExperimentInputWithSecretsIsRefused(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(workflows.ExperimentName, withFields(t, randomSpec(1), `{"experiment_token":"sk-pasted"}`))
	assertRefused(t, h.env.GetWorkflowError(), "experiment_token")
}

func TestRetrainInputWithSecretsIsRefused(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.GeniusRetrain, workflow.RegisterOptions{Name: workflows.RetrainName})
	env.ExecuteWorkflow(workflows.RetrainName, withFields(t, tinyRetrain(t), `{"data2":{"S3_SECRET_ACCESS_KEY":"sk-pasted"}}`))
	assertRefused(t, env.GetWorkflowError(), "data2.S3_SECRET_ACCESS_KEY")
}

func TestTransferInputWithSecretsIsRefused(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.GeniusTransfer, workflow.RegisterOptions{Name: workflows.TransferName})
	s := tinyRetrain(t)
	s.FromCheckpoint = "retrain/x/step-000000003.ckpt"
	env.ExecuteWorkflow(workflows.TransferName, withFields(t, s, `{"hub":{"hfToken":"hf-pasted"}}`))
	assertRefused(t, env.GetWorkflowError(), "hub.hfToken")
}
