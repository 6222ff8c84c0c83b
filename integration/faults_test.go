package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// faultIterations is the length of the search through a faulty endpoint.
const faultIterations = 30

// TestSearchThroughFaultyLLM runs a 30-iteration search whose LLM endpoint
// fails the first request of every second iteration, cycling through
// every fault llmtest injects (timeout, 429 with Retry-After, 500,
// truncated JSON, empty choices). The search must finish with all 30
// decisions in its history: each iteration's Propose completed with the
// reply the endpoint gave, the faulted ones on their second attempt, the
// 429 ones no sooner than Retry-After allowed, and the result recording
// the same architectures.
func TestSearchThroughFaultyLLM(t *testing.T) {
	archs := macroArchs(t)
	srv := llmtest.New(t)
	var mu sync.Mutex
	good, faults, lastFault := 0, 0, false
	var replies []string
	srv.Handle(func(llmtest.Request) llmtest.Step {
		mu.Lock()
		defer mu.Unlock()
		if good%2 == 1 && !lastFault {
			lastFault = true
			f := llmtest.Faults[faults%len(llmtest.Faults)]
			faults++
			return llmtest.FaultStep(f)
		}
		lastFault = false
		reply := listOf(archs[good])
		good++
		replies = append(replies, reply)
		return llmtest.Reply("Next: " + reply)
	})
	c := dial(t)
	q := queue(t)
	// A short client timeout: the injected hang ends the attempt in a
	// second rather than the default two minutes.
	startWorker(t, c, q, llm.Config{APIKey: "sk-faults", BaseURL: srv.URL, Timeout: time.Second})
	spec := specs.Spec{Name: "faults", Space: "nas-bench-macro", Benchmark: "nas-bench-macro", Iterations: faultIterations,
		Proposer: specs.Proposer{Kind: specs.ProposerLLM, Model: "gpt-4"}}
	id := "faults-" + q
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: q}, workflows.SearchName, workflows.SearchInput{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	var r workflows.SearchResult
	if err := run.Get(ctx, &r); err != nil {
		t.Fatalf("search through the faulty endpoint failed: %v", err)
	}
	elapsed := time.Since(start)
	checkIterations(t, r, faultIterations)
	mu.Lock() // the handler ran on the server's goroutines
	replies = slices.Clone(replies)
	mu.Unlock()

	counts := srv.FaultCounts()
	total := 0
	for _, f := range llmtest.Faults {
		if counts[f] != faultIterations/2/len(llmtest.Faults) {
			t.Errorf("%d %s faults injected, want %d", counts[f], f, faultIterations/2/len(llmtest.Faults))
		}
		total += counts[f]
	}

	h, err := fetchHistory(ctx, c, id, run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	trail, err := history.Build(h)
	if err != nil {
		t.Fatal(err)
	}
	var proposes []history.Step
	for _, s := range trail.Steps {
		if s.Name == activities.ProposeName {
			proposes = append(proposes, s)
		}
	}
	if len(proposes) != faultIterations {
		t.Fatalf("history has %d Propose steps, want %d", len(proposes), faultIterations)
	}
	for i, s := range proposes {
		iter := i + 1
		var res activities.ProposeResult
		if s.Status != history.StatusCompleted || json.Unmarshal(s.Result, &res) != nil || !strings.Contains(res.Reply, replies[i]) {
			t.Errorf("iteration %d: Propose %s with %s, want completed with reply %s", iter, s.Status, s.Result, replies[i])
			continue
		}
		wantAttempt := int32(1)
		if iter%2 == 0 {
			wantAttempt = 2 // the first attempt met a fault
		}
		if s.Attempt != wantAttempt {
			t.Errorf("iteration %d: Propose closed on attempt %d, want %d", iter, s.Attempt, wantAttempt)
		}
		if k := iter/2 - 1; iter%2 == 0 && llmtest.Faults[k%len(llmtest.Faults)] == llmtest.FaultRateLimit && s.Duration < llmtest.RateLimitRetryAfter {
			t.Errorf("iteration %d: the retry after a 429 with Retry-After %v came %v after scheduling", iter, llmtest.RateLimitRetryAfter, s.Duration)
		}
		if got := listOf(r.Iterations[i].Arch); got != replies[i] {
			t.Errorf("iteration %d measured %s, the endpoint proposed %s", iter, got, replies[i])
		}
	}
	var final workflows.SearchResult
	if err := json.Unmarshal(trail.Result, &final); err != nil || len(final.Iterations) != faultIterations {
		t.Errorf("the history's result holds %d iterations (%v), want %d", len(final.Iterations), err, faultIterations)
	}
	t.Logf("faulty endpoint: %d iterations, %d LLM requests, %d faults injected (%v), finished in %s",
		faultIterations, len(srv.Requests()), total, counts, elapsed.Round(time.Millisecond))
}

// concurrentSearches is how many searches TestConcurrentSearches runs at
// once on one worker.
const concurrentSearches = 200

// TestConcurrentSearches starts 200 searches at once against one worker
// (random proposer, table look-ups) and checks that every one completes
// with its full set of iterations, and that the server lists all of them.
// Three iterations each keep it near 25 s on two shared cores: the load
// is in the searches' number, not their length.
func TestConcurrentSearches(t *testing.T) {
	const iterations = 3
	c := dial(t)
	q := queue(t)
	startWorker(t, c, q, llm.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	runs := make([]client.WorkflowRun, concurrentSearches)
	var wg sync.WaitGroup
	errs := make([]error, concurrentSearches)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := specs.Spec{Name: "load", Space: "nas-bench-macro", Benchmark: "nas-bench-macro", Iterations: iterations,
				Seed: int64(i + 1), Proposer: specs.Proposer{Kind: specs.ProposerRandom}}
			runs[i], errs[i] = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("load-%s-%03d", q, i), TaskQueue: q},
				workflows.SearchName, workflows.SearchInput{Spec: spec})
		}()
	}
	wg.Wait()
	started := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start search %d: %v", i, err)
		}
	}
	completed := 0
	for i, run := range runs {
		var r workflows.SearchResult
		if err := run.Get(ctx, &r); err != nil {
			t.Errorf("search %d (%s): %v", i, run.GetID(), err)
			continue
		}
		if len(r.Iterations) != iterations || r.Best == nil {
			t.Errorf("search %d (%s): %d iterations, best %v", i, run.GetID(), len(r.Iterations), r.Best)
			continue
		}
		completed++
	}
	elapsed := time.Since(start)
	if completed != concurrentSearches {
		t.Fatalf("%d of %d searches completed", completed, concurrentSearches)
	}
	// The server agrees: every search is closed as completed (visibility
	// is eventually consistent, so wait for it to catch up).
	query := fmt.Sprintf("TaskQueue = %q AND ExecutionStatus = 'Completed'", q)
	waitFor(t, 30*time.Second, "the server to list every search as completed", func() bool {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		return err == nil && resp.GetCount() == concurrentSearches
	})
	t.Logf("%d concurrent searches x %d iterations on one worker: all %d completed; started in %s, finished in %s (%.0f searches/min)",
		concurrentSearches, iterations, completed, started.Round(time.Millisecond), elapsed.Round(time.Millisecond),
		float64(concurrentSearches)/elapsed.Minutes())
}

// fetchHistory reads a run's whole history from the server.
func fetchHistory(ctx context.Context, c client.Client, id, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}
