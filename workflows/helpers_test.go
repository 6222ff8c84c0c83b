package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/bench/benchtest"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities/searchact"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

const apiKey = "sk-workflow-test-key-5f3c9a1e"

func dataDir(t testing.TB) string { return benchtest.DataDir(t) }

// catalog is shared by the tests of this package: tables load once.
var catalog *bench.Catalog

func sharedCatalog(t testing.TB) *bench.Catalog {
	if catalog == nil {
		catalog = bench.NewCatalog(dataDir(t))
	}
	return catalog
}

// harness is a test workflow environment with the real search activities,
// an LLM client pointed at an llmtest server, and a record of every
// activity input and output as JSON.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	srv      *llmtest.Server
	payloads []string // activity inputs and results, JSON
	calls    []string // activity names in order; local ones as "local:" + name
}

// llmTimeout bounds one LLM request in these tests; scripted replies come
// at once, so only the timeout tests wait for it.
const llmTimeout = time.Second

func newHarness(t *testing.T, steps ...llmtest.Step) *harness {
	return build(t, true, steps...)
}

// newHarnessWithoutLLM is a worker configured with no LLM endpoint.
func newHarnessWithoutLLM(t *testing.T) *harness {
	return build(t, false)
}

func build(t *testing.T, withLLM bool, steps ...llmtest.Step) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), srv: llmtest.New(t, steps...)}
	h.env.SetTestTimeout(time.Minute)
	acts := &searchact.SearchActivities{Catalog: sharedCatalog(t)}
	if withLLM {
		acts.LLM = llm.New(llm.Config{APIKey: apiKey, BaseURL: h.srv.URL, Timeout: llmTimeout})
	}
	workers.RegisterSearch(h.env, acts)
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		h.calls = append(h.calls, info.ActivityType.Name)
		h.payloads = append(h.payloads, encodeValues(args))
	})
	completed := func(info *activity.Info, result converter.EncodedValue, err error) {
		if result != nil && result.HasValue() {
			var v any
			if result.Get(&v) == nil {
				b, _ := json.Marshal(v)
				h.payloads = append(h.payloads, string(b))
			}
		}
		if err != nil {
			h.payloads = append(h.payloads, err.Error())
		}
	}
	h.env.SetOnActivityCompletedListener(completed)
	h.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		h.calls = append(h.calls, "local:"+info.ActivityType.Name)
		b, _ := json.Marshal(args)
		h.payloads = append(h.payloads, string(b))
	})
	h.env.SetOnLocalActivityCompletedListener(completed)
	return h
}

func encodeValues(args converter.EncodedValues) string {
	if args == nil || !args.HasValues() {
		return ""
	}
	var v any
	if err := args.Get(&v); err != nil {
		return "undecodable: " + err.Error()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// run executes GeniusSearch with spec and returns its result or error.
func (h *harness) run(spec specs.Spec, state *workflows.SearchState) (*workflows.SearchResult, error) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.SearchName, workflows.SearchInput{Spec: spec, State: state})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var res workflows.SearchResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	h.assertNoKey(res)
	return &res, nil
}

func (h *harness) mustRun(spec specs.Spec) *workflows.SearchResult {
	h.t.Helper()
	res, err := h.run(spec, nil)
	if err != nil {
		h.t.Fatalf("search failed: %v", err)
	}
	return res
}

// mustRunExperiment executes GeniusExperiment with spec and returns its
// result, failing the test if the workflow fails.
func (h *harness) mustRunExperiment(spec specs.Spec) workflows.ExperimentResult {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.ExperimentName, spec)
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
	var res workflows.ExperimentResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// assertNoKey checks that the API key is in no activity payload, nor in the
// result, nor in the prompts the server received.
func (h *harness) assertNoKey(res any) {
	h.t.Helper()
	b, _ := json.Marshal(res)
	all := append([]string{string(b)}, h.payloads...)
	for _, r := range h.srv.Requests() {
		for _, m := range r.Messages {
			all = append(all, m.Content)
		}
	}
	for _, p := range all {
		if strings.Contains(p, apiKey) {
			h.t.Fatalf("API key found in a payload: %.200s", p)
		}
	}
}

// continueAsNew extracts the input of a Continue-As-New.
func continueAsNew(t *testing.T, err error) workflows.SearchInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("error %v is not Continue-As-New", err)
	}
	if can.WorkflowType.Name != workflows.SearchName {
		t.Fatalf("continued as %q", can.WorkflowType.Name)
	}
	var in workflows.SearchInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func baseSpec(name string) specs.Spec {
	s, err := specs.Ready(name)
	if err != nil {
		panic(err)
	}
	return s
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
