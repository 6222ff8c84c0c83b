package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

const goldenDir = "testdata/golden"

// frozenGoldenDirs hold histories recorded by earlier versions of the
// workflows (one folder per workflow.GetVersion change, named after it).
// -update never rewrites them: they prove that runs started before a change
// still replay after it.
const frozenGoldenDirs = "testdata/golden/*"

// goldenKey is the API key the workers had while the golden histories were
// recorded; it must appear in none of them.
const goldenKey = "sk-golden-history-key-must-not-leak"

// goldenScenarios name the recorded runs; each has one or more files
// <name>*.json (runs after Continue-As-New, child workflows).
var goldenScenarios = []string{
	"search-llm-fresh",
	"search-llm-chat-nb201",
	"search-llm-give-up",
	"search-llm-stop-signal",
	"search-random",
	"search-evolution",
	"search-continue-as-new",
	"experiment-random",
	"search-llm-principles",
	"search-llm-cost-cap",
	"search-imagenet-300m",
	"retrain-cpu-demo",
	"search-retrain-handoff",
	"retrain-transfer",
	"transfer-coco",
}

var updateOnly = flag.String("update-only", "", "with -update: re-record only the golden scenarios whose names match this regexp (others keep their files)")

// TestGoldenHistories replays every history under testdata/golden (and the
// frozen ones in its subfolders) with the workflows the workers register.
// It needs no server, so CI catches a
// change that breaks determinism for runs already recorded. After an
// intended change, regenerate them from runs on the dev server:
//
//	go test ./integration -run TestGoldenHistories -update
//	go test ./integration -run TestGoldenHistories -update -update-only 'retrain'
func TestGoldenHistories(t *testing.T) {
	if *update {
		recordGolden(t)
	}
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := filepath.Glob(filepath.Join(frozenGoldenDirs, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range goldenScenarios {
		if !slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(filepath.Base(f), s+".") }) {
			t.Errorf("no golden history for scenario %s in %s: run this test with -update", s, goldenDir)
		}
	}
	for _, f := range append(files, frozen...) {
		rel, _ := filepath.Rel(goldenDir, f)
		t.Run(strings.TrimSuffix(rel, ".json"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(goldenKey)) {
				t.Fatalf("%s holds the API key", f)
			}
			h, err := history.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := history.Replay(h, workers.RegisterWorkflows, nil); err != nil {
				t.Fatalf("%v\nIf the change is intended, regenerate: go test ./integration -run TestGoldenHistories -update", err)
			}
		})
	}
}

// recordGolden runs each scenario (those -update-only selects) on the dev
// server through the temporal CLI and writes the exported histories to
// testdata/golden, in place of the scenario's old files.
func recordGolden(t *testing.T) {
	only, err := regexp.Compile(*updateOnly)
	if err != nil {
		t.Fatalf("-update-only: %v", err)
	}
	old, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, f := range old {
		if !only.MatchString(strings.SplitN(filepath.Base(f), ".", 2)[0]) {
			continue
		}
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := func(name string) bool { return only.MatchString(name) }
	c := dial(t)
	archs := macroArchs(t)
	f := func(i int) string { return listOf(archs[i]) }
	macro := func(edit func(m map[string]any)) func(m map[string]any) {
		return func(m map[string]any) {
			m["iterations"] = 4
			if edit != nil {
				edit(m)
			}
		}
	}
	search := func(name string, lc llm.Config, specName string, edit func(m map[string]any)) string {
		q := queue(t) + "-" + name
		startWorker(t, c, q, lc)
		id := "golden-" + name
		runCLISearch(t, q, id, specFile(t, specName, edit))
		return id
	}
	llmCfg := func(s *llmtest.Server) llm.Config { return llm.Config{APIKey: goldenKey, BaseURL: s.URL} }

	// Fresh prompts with the constraint loop: unparsable, duplicate, a 429.
	if record("search-llm-fresh") {
		s := llmtest.New(t,
			llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
			llmtest.Reply("Let me think about the stages first."),
			llmtest.Reply("```\n"+f(1)+"\n```"),
			llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
			llmtest.Reply("I would try "+f(2)+" next, widening the last stage."),
			llmtest.Step{Status: 429, ErrorMessage: "rate limit"},
			llmtest.Reply(f(3)),
		)
		exportRuns(t, c, "search-llm-fresh", search("search-llm-fresh", llmCfg(s), "nas-bench-macro.json", macro(nil)))
	}

	// One growing chat on NAS-Bench-201.
	if record("search-llm-chat-nb201") {
		nb, err := space.New("nas-bench-201")
		if err != nil {
			t.Fatal(err)
		}
		s := llmtest.New(t,
			llmtest.Reply(nb.Format(space.Arch{3, 3, 3, 1, 3, 3})),
			llmtest.Reply("Based on the validation accuracy, try "+nb.Format(space.Arch{3, 3, 1, 3, 3, 3})),
			llmtest.Reply(nb.Format(space.Arch{3, 1, 3, 3, 1, 3})),
		)
		exportRuns(t, c, "search-llm-chat-nb201", search("search-llm-chat-nb201", llmCfg(s), "nas-bench-201-cifar10.json",
			func(m map[string]any) { m["iterations"] = 3 }))
	}

	// The model gives up.
	if record("search-llm-give-up") {
		s := llmtest.New(t,
			llmtest.Reply(f(0)),
			llmtest.Reply(f(1)),
			llmtest.Reply("I cannot improve on these results any further."),
		)
		exportRuns(t, c, "search-llm-give-up", search("search-llm-give-up", llmCfg(s), "nas-bench-macro.json", macro(nil)))
	}

	// A stop signal while the third proposal is in flight.
	if record("search-llm-stop-signal") {
		reached, release := make(chan struct{}), make(chan struct{})
		s := llmtest.New(t, llmtest.Reply(f(0)), llmtest.Reply(f(1)))
		s.Handle(func(llmtest.Request) llmtest.Step {
			select {
			case <-reached:
			default:
				close(reached)
			}
			<-release
			return llmtest.Reply(f(2))
		})
		q := queue(t) + "-stop"
		startWorker(t, c, q, llmCfg(s))
		id := "golden-search-llm-stop-signal"
		spec := specFile(t, "nas-bench-macro.json", macro(nil))
		temporalCLI(t, "workflow", "start", "--type", workflows.SearchName, "--task-queue", q, "--workflow-id", id, "--input-file", spec)
		select {
		case <-reached:
		case <-time.After(time.Minute):
			t.Fatal("third proposal never reached the LLM")
		}
		temporalCLI(t, "workflow", "signal", "--workflow-id", id, "--name", workflows.StopSignal, "--input", `"enough for the golden history"`)
		close(release)
		var r workflows.SearchResult
		if err := c.GetWorkflow(context.Background(), id, "").Get(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Stopped != workflows.StoppedSignal {
			t.Fatalf("stop-signal scenario stopped with %q", r.Stopped)
		}
		exportRuns(t, c, "search-llm-stop-signal", id)
	}

	if record("retrain-transfer") {
		recordTransferGoldens(t, c)
	}
	if record("transfer-coco") {
		recordCOCOTransferGolden(t, c)
	}
	if record("search-llm-principles") || record("search-llm-cost-cap") {
		recordCostGoldens(t, c, func(name string, s *llmtest.Server, edit func(m map[string]any)) string {
			return search(name, llmCfg(s), "nas-bench-macro.json", macro(edit))
		}, f)
	}

	baseline := func(kind string, extra map[string]any) func(m map[string]any) {
		return func(m map[string]any) {
			m["proposer"] = map[string]any{"kind": kind}
			m["seed"] = 11
			m["iterations"] = 5
			for k, v := range extra {
				m[k] = v
			}
		}
	}
	if record("search-random") {
		exportRuns(t, c, "search-random", search("search-random", llm.Config{}, "nas-bench-macro.json", baseline("random", nil)))
	}
	if record("search-evolution") {
		exportRuns(t, c, "search-evolution", search("search-evolution", llm.Config{}, "nas-bench-macro.json",
			func(m map[string]any) {
				baseline("evolution", nil)(m)
				m["proposer"] = map[string]any{"kind": "evolution", "population": 3, "sample": 2}
			}))
	}
	if record("search-continue-as-new") {
		exportRuns(t, c, "search-continue-as-new", search("search-continue-as-new", llm.Config{}, "nas-bench-macro.json",
			baseline("random", map[string]any{"max_iterations_per_run": 2})))
	}

	// An experiment of two trials, and its child searches.
	if record("experiment-random") {
		q := queue(t) + "-experiment"
		startWorker(t, c, q, llm.Config{})
		id := "golden-experiment-random"
		spec := specFile(t, "nas-bench-macro.json", baseline("random", map[string]any{
			"iterations": 3, "experiment": map[string]any{"trials": 2, "parallelism": 2},
		}))
		temporalCLI(t, "workflow", "start", "--type", workflows.ExperimentName, "--task-queue", q, "--workflow-id", id, "--input-file", spec)
		var r workflows.ExperimentResult
		if err := c.GetWorkflow(context.Background(), id, "").Get(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		exportRuns(t, c, "experiment-random", id)
		for _, tr := range r.Trials {
			exportRuns(t, c, fmt.Sprintf("experiment-random.trial%d", tr.Trial), tr.WorkflowID)
		}
	}
	if record("search-imagenet-300m") {
		recordImageNetGolden(t, c)
	}

	// A retraining of two one-epoch chunks with the real training
	// activities and a checkpoint directory.
	if record("retrain-cpu-demo") {
		q := queue(t) + "-retrain"
		startWorker(t, c, q, llm.Config{})
		startTrainingWorker(t, c, q+"-gpu")
		id := "golden-retrain-cpu-demo"
		spec := goldenRetrainSpec(t, q+"-gpu")
		temporalCLI(t, "workflow", "start", "--type", workflows.RetrainName, "--task-queue", q, "--workflow-id", id, "--input-file", jsonFile(t, spec))
		var r workflows.RetrainResult
		if err := c.GetWorkflow(context.Background(), id, "").Get(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Epochs) != 2 || r.FinalCheckpoint == "" {
			t.Fatalf("retraining result %+v", r)
		}
		exportRuns(t, c, "retrain-cpu-demo", id)
	}

	// An ImageNet search (proxy training) that hands its winner to
	// retraining and waits for it; the retraining is its child.
	if record("search-retrain-handoff") {
		q := queue(t) + "-handoff"
		gq := q + "-gpu"
		startWorker(t, c, q, llm.Config{})
		startTrainingWorker(t, c, gq)
		id := "golden-search-retrain-handoff"
		spec := specFile(t, "imagenet-cpu-demo.json", func(m map[string]any) {
			m["iterations"] = 2
			m["evaluator"].(map[string]any)["task_queue"] = gq
			m["retrain"] = map[string]any{"spec": goldenRetrainSpec(t, gq), "wait": true}
		})
		r := runCLISearch(t, q, id, spec)
		if r.Retrain == nil || r.Retrain.Result == nil || len(r.Retrain.Result.Epochs) != 2 {
			t.Fatalf("search did not wait for its retraining: %+v", r.Retrain)
		}
		exportRuns(t, c, "search-retrain-handoff", id)
		exportRuns(t, c, "search-retrain-handoff.retrain", id+workflows.RetrainIDSuffix)
	}
}

// goldenRetrainSpec is the ready cpu-demo retraining cut to two epochs of
// one chunk each, trained on queue q.
func goldenRetrainSpec(t *testing.T, q string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "specs", "retrain", "cpu-demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["epochs"], m["task_queue"] = 2, q
	return m
}

// jsonFile writes v as JSON into a temp file and returns its path.
func jsonFile(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startTrainingWorker runs a GPU worker (proxy training and retraining, on
// the CPU) in this process on q, with its checkpoints in a temp directory.
func startTrainingWorker(t *testing.T, c client.Client, q string) {
	t.Helper()
	tr, err := workers.OpenTraining(context.Background(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := workers.NewGPUWorker(c, workers.Config{TaskQueue: q}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// exportRuns writes every run of a workflow with the temporal CLI, as
// name.json or, after Continue-As-New, name.run1.json, name.run2.json, ...
func exportRuns(t *testing.T, c client.Client, name, id string) {
	t.Helper()
	tmp := t.TempDir()
	var files []string
	runID := ""
	for i := 0; ; i++ {
		p := exportHistory(t, tmp, id, runID, fmt.Sprintf("run%d.json", i))
		files = append([]string{p}, files...)
		h, err := history.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if runID = history.Describe(h).ContinuedFrom; runID == "" {
			break
		}
	}
	for i, p := range files {
		dst := name + ".json"
		if len(files) > 1 {
			dst = fmt.Sprintf("%s.run%d.json", name, i+1)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Indent for readable diffs.
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", " "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, dst), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = c
}

// recordCostGoldens records the llm searches with spending caps and the
// principles step; search runs one through the temporal CLI and returns its
// workflow ID.
func recordCostGoldens(t *testing.T, c client.Client, search func(name string, s *llmtest.Server, edit func(m map[string]any)) string, f func(int) string) {
	priced := func(reply string) llmtest.Step {
		return llmtest.Step{Reply: reply, PromptTokens: 1000, CompletionTokens: 100}
	}
	// Two iterations, then the design principles; a cost cap not reached.
	s := llmtest.New(t, priced(f(0)), priced(f(1)), priced("Principle 1: wide last stages. Principle 2: keep the stem light."))
	exportRuns(t, c, "search-llm-principles", search("search-llm-principles", s, func(m map[string]any) {
		m["iterations"] = 2
		m["principles"] = true
		m["llm_budget"] = map[string]any{"max_cost_usd": 1}
	}))
	// The cost cap ends the search after two calls of $0.036.
	s = llmtest.New(t, priced(f(0)), priced(f(1)), priced(f(2)))
	exportRuns(t, c, "search-llm-cost-cap", search("search-llm-cost-cap", s, func(m map[string]any) {
		m["llm_budget"] = map[string]any{"max_cost_usd": 0.05}
		m["principles"] = true
	}))
}
