package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/activities/searchact"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workers"
	"github.com/genius-nas/genius/workflows"
)

// benchIterations is T for the benchmark searches (the paper's 10).
const benchIterations = 10

// stubLLM answers every request at once with the next of a list of
// architectures that build different networks, so no search sees a
// duplicate.
func stubLLM(b *testing.B) *llmtest.Server {
	archs := macroArchs(b)
	var n atomic.Int64
	s := llmtest.New(b)
	s.Handle(func(llmtest.Request) llmtest.Step {
		k := int(n.Add(1)) % len(archs)
		return llmtest.Reply(listOf(archs[k]))
	})
	return s
}

func benchSpec() specs.Spec {
	return specs.Spec{
		Name: "bench", Space: "nas-bench-macro", Benchmark: "nas-bench-macro", Iterations: benchIterations,
		Proposer: specs.Proposer{Kind: specs.ProposerLLM, Model: "gpt-4"},
	}
}

// directSearch is the search loop as plain function calls in one process:
// the same activity methods the workflow schedules, with the same inputs,
// without Temporal.
func directSearch(ctx context.Context, a *searchact.SearchActivities, spec specs.Spec) (int, error) {
	s := spec.WithDefaults()
	var measured []activities.Measured
	for i := 1; i <= s.Iterations; i++ {
		next := activities.Next{Kind: activities.NextTask}
		for attempt := 1; ; attempt++ {
			if attempt > s.MaxAttempts {
				return 0, fmt.Errorf("iteration %d: no acceptable proposal", i)
			}
			p, err := a.Propose(ctx, activities.ProposeInput{
				Space: s.Space, Benchmark: s.Benchmark, Proposer: s.Proposer, Seed: s.Seed,
				Iteration: i, Attempt: attempt, Total: s.Iterations, History: measured, Next: next,
			})
			if err != nil {
				return 0, err
			}
			c, err := a.CheckProposal(ctx, activities.CheckInput{Space: s.Space, Reply: p.Reply, Measured: measured, GiveUp: true})
			if err != nil {
				return 0, err
			}
			if c.Outcome != activities.OutcomeOK {
				next = activities.Next{Kind: activities.NextText, Text: c.Feedback}
				continue
			}
			e, err := a.Evaluate(ctx, activities.EvaluateInput{Benchmark: s.Benchmark, Space: s.Space, Arch: c.Arch, Key: c.Key})
			if err != nil {
				return 0, err
			}
			measured = append(measured, activities.Measured{Iteration: i, Arch: c.Arch, Key: c.Key, Canonical: c.Canonical, Accuracy: e.Accuracy})
			break
		}
	}
	return len(measured), nil
}

// BenchmarkSearchOverhead measures one GeniusSearch (T=10, llm proposer
// against a local stub server answering at once, table look-up evaluator)
// on the dev server with one in-process worker, against the same loop run
// as direct calls of the activity methods and against the floor (a workflow
// of as many no-op activities). One op is one search each way;
// the metrics are per iteration, their ratio, and the searches per minute
// one worker completes when it runs them one after another.
func BenchmarkSearchOverhead(b *testing.B) {
	c := dial(b)
	llmSrv := stubLLM(b)
	lc := llm.Config{APIKey: "bench", BaseURL: llmSrv.URL}
	q := queue(b)
	startWorker(b, c, q, lc)
	fq := startFloorWorker(b, c)
	acts := workers.NewSearchActivities(workers.Config{DataDir: dataDir(b), LLM: lc})
	ctx := context.Background()
	spec := benchSpec()
	// Warm up: load the table, open connections, fill caches.
	if _, err := directSearch(ctx, acts, spec); err != nil {
		b.Fatal(err)
	}
	runWorkflow(b, c, q, spec)
	runFloor(b, c, fq, benchIterations)

	var wf, direct, floor time.Duration
	var last string
	each := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		last = runWorkflow(b, c, q, spec)
		t1 := time.Now()
		each = append(each, t1.Sub(t0))
		if _, err := directSearch(ctx, acts, spec); err != nil {
			b.Fatal(err)
		}
		wf += t1.Sub(t0)
		direct += time.Since(t1)
		floor += runFloor(b, c, fq, benchIterations)
	}
	b.StopTimer()
	iters := float64(b.N * benchIterations)
	b.ReportMetric(float64(wf.Nanoseconds())/iters, "workflow-ns/iter")
	// The median search is less swayed by other load on the machine.
	slices.Sort(each)
	b.ReportMetric(float64(each[len(each)/2].Nanoseconds())/benchIterations, "median-workflow-ns/iter")
	b.ReportMetric(float64(direct.Nanoseconds())/iters, "direct-ns/iter")
	b.ReportMetric(float64(wf)/float64(direct), "overhead-x")
	// A workflow of benchIterations no-op activities: what the server and
	// SDK cost per iteration on this machine, whatever the search does.
	b.ReportMetric(float64(floor.Nanoseconds())/iters, "floor-ns/iter")
	b.ReportMetric(float64(wf)/float64(floor), "over-floor-x")
	b.ReportMetric(float64(b.N)/wf.Minutes(), "searches/min")
	// Server round trips, which the load on the machine does not change.
	wfts, scheduled := countTasks(b, c, last)
	b.ReportMetric(float64(wfts)/benchIterations, "workflow-tasks/iter")
	b.ReportMetric(float64(scheduled)/benchIterations, "activities/iter")
}

// countTasks counts the workflow tasks and (regular) activities in a
// workflow's history.
func countTasks(b *testing.B, c client.Client, id string) (wfts, acts int) {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			wfts++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			acts++
		}
	}
	return wfts, acts
}

// BenchmarkSearchThroughput runs searches 8 at a time on one in-process
// worker and reports how many it completes per minute.
func BenchmarkSearchThroughput(b *testing.B) {
	const inFlight = 8
	c := dial(b)
	llmSrv := stubLLM(b)
	q := queue(b)
	startWorker(b, c, q, llm.Config{APIKey: "bench", BaseURL: llmSrv.URL})
	spec := benchSpec()
	runWorkflow(b, c, q, spec)
	b.ResetTimer()
	start := time.Now()
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runWorkflow(b, c, q, spec)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Minutes(), "searches/min")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*benchIterations), "ns/iter")
}

var benchRuns atomic.Int64

// runWorkflow runs one search and returns its workflow ID.
func runWorkflow(b *testing.B, c client.Client, q string, spec specs.Spec) string {
	id := fmt.Sprintf("bench-%s-%d", q, benchRuns.Add(1))
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: q},
		workflows.SearchName, workflows.SearchInput{Spec: spec})
	if err != nil {
		b.Error(err)
		return id
	}
	var r workflows.SearchResult
	if err := run.Get(context.Background(), &r); err != nil {
		b.Error(err)
		return id
	}
	if len(r.Iterations) != benchIterations {
		b.Errorf("search %s measured %d iterations", id, len(r.Iterations))
	}
	return id
}
