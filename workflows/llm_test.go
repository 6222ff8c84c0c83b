package workflows_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// Architectures with known facts (the tables and the paper): [1,0,1,0,0,1,0,0] scores
// 85.70 on NAS-Bench-Macro with rank 6221; GENIUS-329 and GENIUS-401 count
// 329.41 M and 401.50 M FLOPs.
var (
	macroKnown = []int{1, 0, 1, 0, 0, 1, 0, 0}
	genius329  = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	genius401  = []int{1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 4, 4, 0, 4, 0, 4, 4, 5, 0, 5, 0, 5, 6, 5, 0, 6, 0, 5}
)

func llmSpec(name string, iterations int) specs.Spec {
	s := baseSpec(name)
	s.Iterations = iterations
	return s.WithDefaults()
}

func lookup(t *testing.T, benchmark, dataset string, sp space.Space, arch []int) (acc, test float64, rank int) {
	t.Helper()
	tbl, err := sharedCatalog(t).Get(benchmark, dataset)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tbl.Lookup(sp.Key(arch))
	if err != nil {
		t.Fatal(err)
	}
	return r.Accuracy, r.TestAccuracy, r.Rank
}

func mustSpace(t *testing.T, name string) space.Space {
	t.Helper()
	sp, err := space.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestLLMFreshConversation runs NAS-Bench-Macro with replies in the styles
// real models give and checks that each new task carries every measured
// accuracy.
func TestLLMFreshConversation(t *testing.T) {
	archs := [][]int{macroKnown, {2, 1, 2, 0, 1, 2, 2, 0}, {2, 2, 2, 1, 2, 2, 0, 2}, {1, 2, 2, 1, 0, 2, 1, 2}}
	replies := []string{
		"[1, 0, 1, 0, 0, 1, 0, 0]", // bare list
		"Looking at the results, deeper stages help. I suggest the following architecture: [2, 1, 2, 0, 1, 2, 2, 0]. It replaces identities with MB6 blocks.",
		"Here is my proposal:\n```python\n# three stages\n[2, 2, 2, 1, 2, 2, 0, 2]\n```\nThis should improve accuracy.",
		"1, 2, 2, 1, 0, 2, 1, 2",
	}
	var steps []llmtest.Step
	for _, r := range replies {
		steps = append(steps, llmtest.Step{Reply: r, PromptTokens: 100, CompletionTokens: 10})
	}
	h := newHarness(t, steps...)
	res := h.mustRun(llmSpec("nas-bench-macro", 4))
	sp := mustSpace(t, "nas-bench-macro")

	if res.Stopped != workflows.StoppedBudget || len(res.Iterations) != 4 {
		t.Fatalf("stopped %q with %d iterations", res.Stopped, len(res.Iterations))
	}
	first := res.Iterations[0]
	if prompt.FormatAccuracy(first.Accuracy) != "85.70" || first.Rank != 6221 {
		t.Errorf("iteration 1: accuracy %v rank %d, want 85.70 and 6221", first.Accuracy, first.Rank)
	}
	for i, it := range res.Iterations {
		if fmt.Sprint(it.Arch) != fmt.Sprint(archs[i]) {
			t.Errorf("iteration %d arch %v, want %v", i+1, it.Arch, archs[i])
		}
		acc, _, rank := lookup(t, "nas-bench-macro", "", sp, archs[i])
		if it.Accuracy != acc || it.Rank != rank {
			t.Errorf("iteration %d: %v/%d, table %v/%d", i+1, it.Accuracy, it.Rank, acc, rank)
		}
	}
	if res.PromptTokens != 400 || res.CompletionTokens != 40 {
		t.Errorf("tokens %d/%d, want 400/40", res.PromptTokens, res.CompletionTokens)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("server got %d requests", len(reqs))
	}
	for i, r := range reqs {
		if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[1].Role != "user" {
			t.Errorf("request %d is not a fresh two-message chat: %d messages", i+1, len(r.Messages))
		}
		if r.Authorization != "Bearer "+apiKey || r.Model != "gpt-4" {
			t.Errorf("request %d: auth %q model %q", i+1, r.Authorization, r.Model)
		}
		// Every earlier measurement is in the task.
		for _, prev := range res.Iterations[:i] {
			if !strings.Contains(r.Last(), prompt.FormatAccuracy(prev.Accuracy)) {
				t.Errorf("task %d lacks the accuracy %s of iteration %d:\n%s", i+1, prompt.FormatAccuracy(prev.Accuracy), prev.Iteration, r.Last())
			}
		}
	}
	// The history holds the conversation: prompts and raw replies.
	joined := strings.Join(h.payloads, "\n")
	for _, r := range replies {
		if !strings.Contains(joined, jsonEscape(r)) {
			t.Errorf("reply %q not in any activity result", r)
		}
	}
	if !strings.Contains(joined, jsonEscape(reqs[1].Last())) {
		t.Errorf("prompt of iteration 2 not in any activity result")
	}
}

func jsonEscape(s string) string {
	b, _ := jsonMarshal(s)
	return strings.Trim(string(b), `"`)
}

// TestLLMChatConversation runs NAS-Bench-201 in one growing chat: each
// request holds the whole conversation and the feedback holds the measured
// validation accuracy of the previous proposal; test accuracy is reported.
func TestLLMChatConversation(t *testing.T) {
	archs := [][]int{{3, 3, 3, 1, 3, 3}, {3, 3, 2, 1, 3, 3}, {2, 2, 2, 2, 2, 2}}
	h := newHarness(t,
		llmtest.Reply("op_list = [3, 3, 3, 1, 3, 3]"),
		llmtest.Reply("Thanks. Let's try a 1x1 convolution on one edge: [3, 3, 2, 1, 3, 3]"),
		llmtest.Reply("```\n[2, 2, 2, 2, 2, 2]\n```"),
	)
	res := h.mustRun(llmSpec("nas-bench-201-cifar10", 3))
	sp := mustSpace(t, "nas-bench-201")
	if len(res.Iterations) != 3 {
		t.Fatalf("%d iterations", len(res.Iterations))
	}
	for i, it := range res.Iterations {
		val, test, rank := lookup(t, "nas-bench-201", "cifar10", sp, archs[i])
		if it.Accuracy != val || it.ValAccuracy != val || it.TestAccuracy != test || it.Rank != rank {
			t.Errorf("iteration %d: %+v, table val %v test %v rank %d", i+1, it, val, test, rank)
		}
	}
	// [3,3,3,1,3,3] is the DrNAS cell: test 94.36 on CIFAR-10.
	if res.Best == nil || prompt.FormatAccuracy(res.Iterations[0].TestAccuracy) != "94.36" {
		t.Errorf("DrNAS cell test accuracy %v", res.Iterations[0].TestAccuracy)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if want := 2 + 2*i; len(r.Messages) != want {
			t.Errorf("request %d has %d messages, want %d", i+1, len(r.Messages), want)
		}
	}
	// Request 2 replays request 1 and the model's reply, then reports the
	// measured validation accuracy.
	r2 := reqs[1]
	if r2.Messages[1].Content != reqs[0].Messages[1].Content || r2.Messages[2].Role != "assistant" || r2.Messages[2].Content != "op_list = [3, 3, 3, 1, 3, 3]" {
		t.Errorf("request 2 does not continue the chat: %+v", r2.Messages[:3])
	}
	if !strings.Contains(r2.Last(), prompt.FormatAccuracy(res.Iterations[0].Accuracy)) {
		t.Errorf("feedback lacks the validation accuracy %s:\n%s", prompt.FormatAccuracy(res.Iterations[0].Accuracy), r2.Last())
	}
	if !strings.Contains(reqs[2].Last(), prompt.FormatAccuracy(res.Iterations[1].Accuracy)) {
		t.Errorf("feedback 2 lacks %s:\n%s", prompt.FormatAccuracy(res.Iterations[1].Accuracy), reqs[2].Last())
	}
}

// TestConstraintLoop sends back unparsable, out-of-range and duplicate
// proposals within one iteration's chat.
func TestConstraintLoop(t *testing.T) {
	sp := mustSpace(t, "nas-bench-macro")
	garbage := "I would pick a deep network with many blocks."
	outOfRange := "[3, 0, 1, 0, 0, 1, 0, 0]"
	a := []int{1, 0, 1, 1, 0, 1, 0, 0}
	b := []int{1, 0, 1, 0, 1, 1, 0, 0} // the same network as a (identity moved within stage 2)
	h := newHarness(t,
		llmtest.Reply(garbage),
		llmtest.Reply(outOfRange),
		llmtest.Reply(sp.Format(macroKnown)), // iteration 1, attempt 3
		llmtest.Reply(sp.Format(macroKnown)), // iteration 2: exact duplicate
		llmtest.Reply(sp.Format(a)),
		llmtest.Reply(sp.Format(b)), // iteration 3: same network as a
		llmtest.Reply("[2, 2, 2, 2, 2, 2, 2, 2]"),
	)
	res := h.mustRun(llmSpec("nas-bench-macro", 3))
	if len(res.Iterations) != 3 {
		t.Fatalf("%d iterations: %+v", len(res.Iterations), res)
	}
	attempts := []int{3, 2, 2}
	outcomes := [][]string{{activities.OutcomeUnparsable, activities.OutcomeUnparsable}, {activities.OutcomeDuplicate}, {activities.OutcomeDuplicate}}
	for i, it := range res.Iterations {
		if it.Attempts != attempts[i] || len(it.Rejected) != len(outcomes[i]) {
			t.Errorf("iteration %d: %d attempts, rejected %+v", i+1, it.Attempts, it.Rejected)
			continue
		}
		for j, r := range it.Rejected {
			if r.Outcome != outcomes[i][j] || r.Attempt != j+1 {
				t.Errorf("iteration %d rejection %d: %+v, want %s", i+1, j+1, r, outcomes[i][j])
			}
		}
	}
	reqs := h.srv.Requests()
	if len(reqs) != 7 {
		t.Fatalf("%d requests", len(reqs))
	}
	_, perr := sp.Parse(garbage)
	_, verr := sp.Parse(outOfRange)
	var pc, vc space.Corrector
	if !errors.As(perr, &pc) || !errors.As(verr, &vc) {
		t.Fatalf("parser errors %v / %v are not correctors", perr, verr)
	}
	// Corrections go back in the same chat.
	if got := reqs[1]; got.Last() != pc.Correction() || len(got.Messages) != 4 || got.Messages[2].Content != garbage {
		t.Errorf("request 2: last %q (%d messages), want the parser's correction %q", got.Last(), len(got.Messages), pc.Correction())
	}
	if got := reqs[2].Last(); got != vc.Correction() {
		t.Errorf("request 3: %q, want %q", got, vc.Correction())
	}
	dup := reqs[4].Last()
	if !strings.Contains(dup, "iteration 1") || !strings.Contains(dup, "85.70") || !strings.Contains(dup, "already measured") {
		t.Errorf("duplicate feedback %q does not name iteration 1 and its accuracy", dup)
	}
	same := reqs[6].Last()
	if !strings.Contains(same, "builds the same network as "+sp.Format(a)) || !strings.Contains(same, "iteration 2") {
		t.Errorf("canonical duplicate feedback %q", same)
	}
}

// TestFLOPsWindowFeedback sends proposals outside the window back with
// their figures.
func TestFLOPsWindowFeedback(t *testing.T) {
	sp := mustSpace(t, space.ImageNetName)
	small := make([]int, 30)
	for st := range 5 {
		small[st*6] = 1
	}
	c, err := flops.MobileNetV2(small, flops.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t,
		llmtest.Reply("Here is my design:\n"+sp.Format(genius401)),
		llmtest.Reply(sp.Format(small)),
		llmtest.Reply(fmt.Sprint(genius329)),
	)
	h.env.RegisterActivityWithOptions(fakeProxyTrain, proxyTrainOptions)
	s := llmSpec("imagenet-300m", 1)
	s.FLOPs.MinM = 300
	res := h.mustRun(s)
	if len(res.Iterations) != 1 {
		t.Fatalf("%+v", res)
	}
	it := res.Iterations[0]
	if fmt.Sprintf("%.2f", it.FLOPsM) != "329.41" || it.Attempts != 3 || fmt.Sprint(it.Arch) != fmt.Sprint(genius329) {
		t.Errorf("accepted %v with %.2f M after %d attempts", it.Arch, it.FLOPsM, it.Attempts)
	}
	if len(it.Rejected) != 2 || it.Rejected[0].Outcome != activities.OutcomeFLOPsAbove || it.Rejected[1].Outcome != activities.OutcomeFLOPsBelow {
		t.Errorf("rejected %+v", it.Rejected)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	// The ready spec reports whole millions, as the paper did (401.495 M).
	if got := reqs[1].Last(); !strings.Contains(got, "401 M FLOPs, 71 M above the upper bound of 330 M") {
		t.Errorf("above-window feedback %q", got)
	}
	want := fmt.Sprintf("%.0f M FLOPs, %.0f M below the lower bound of 300 M", c.FLOPsM(), 300-math.Round(c.FLOPsM()))
	if got := reqs[2].Last(); !strings.Contains(got, want) {
		t.Errorf("below-window feedback %q, want %q", got, want)
	}
	// fakeProxyTrain: 50% + sum(arch)/10.
	sum := 0
	for _, v := range genius329 {
		sum += v
	}
	if fmt.Sprintf("%.1f", it.Accuracy) != fmt.Sprintf("%.1f", 50+float64(sum)/10) {
		t.Errorf("accuracy %v from proxy training", it.Accuracy)
	}
}

func TestAttemptsExhausted(t *testing.T) {
	for _, policy := range []string{specs.OnFailureContinue, specs.OnFailureStop} {
		t.Run(policy, func(t *testing.T) {
			h := newHarness(t,
				llmtest.Reply("no idea"), llmtest.Reply("still thinking"), llmtest.Reply("[9]"),
				llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
			)
			s := llmSpec("nas-bench-macro", 2)
			s.MaxAttempts = 3
			s.OnIterationFailure = policy
			res := h.mustRun(s)
			if len(res.Failures) != 1 || res.Failures[0].Iteration != 1 || res.Failures[0].Attempts != 3 ||
				!strings.Contains(res.Failures[0].Reason, "no acceptable proposal in 3 attempts") {
				t.Errorf("failures %+v", res.Failures)
			}
			switch policy {
			case specs.OnFailureContinue:
				if res.Stopped != workflows.StoppedBudget || len(res.Iterations) != 1 || res.Iterations[0].Iteration != 2 {
					t.Errorf("stopped %q iterations %+v", res.Stopped, res.Iterations)
				}
				// Iteration 2 starts a fresh chat.
				if r := h.srv.Requests()[3]; len(r.Messages) != 2 {
					t.Errorf("iteration 2 request has %d messages", len(r.Messages))
				}
			case specs.OnFailureStop:
				if res.Stopped != workflows.StoppedAttempts || len(res.Iterations) != 0 || !strings.Contains(res.StopDetail, "iteration 1") {
					t.Errorf("stopped %q (%s) iterations %d", res.Stopped, res.StopDetail, len(res.Iterations))
				}
				if h.srv.Remaining() != 1 {
					t.Errorf("search went on after the failed iteration")
				}
			}
		})
	}
}

func TestGiveUpStopsSearch(t *testing.T) {
	h := newHarness(t,
		llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
		llmtest.Reply("After careful consideration, I cannot improve on the previous architectures any further."),
	)
	res := h.mustRun(llmSpec("nas-bench-macro", 5))
	if res.Stopped != workflows.StoppedGiveUp || len(res.Iterations) != 1 || res.Best == nil {
		t.Errorf("stopped %q after %d iterations", res.Stopped, len(res.Iterations))
	}
	if !strings.Contains(res.StopDetail, "cannot improve") {
		t.Errorf("detail %q", res.StopDetail)
	}
}

// TestStopSignalCancelsProposal signals stop while the second LLM call is
// in flight: the call is cancelled and the search returns what it has.
func TestStopSignalCancelsProposal(t *testing.T) {
	h := newHarness(t, llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"))
	h.srv.Handle(func(llmtest.Request) llmtest.Step {
		h.env.SignalWorkflow(workflows.StopSignal, "enough for today")
		return llmtest.Step{Hang: true}
	})
	res := h.mustRun(llmSpec("nas-bench-macro", 5))
	if res.Stopped != workflows.StoppedSignal || !strings.Contains(res.StopDetail, "enough for today") || len(res.Iterations) != 1 {
		t.Errorf("stopped %q (%s) after %d iterations", res.Stopped, res.StopDetail, len(res.Iterations))
	}
	if n := len(h.srv.Requests()); n != 2 {
		t.Errorf("%d requests", n)
	}
}

// TestContinueAsNewCarriesState splits a chat-mode search over runs: the
// second run continues the same chat and no iteration is lost or repeated.
func TestContinueAsNewCarriesState(t *testing.T) {
	replies := []string{"[3, 3, 3, 1, 3, 3]", "[3, 3, 2, 1, 3, 3]", "[2, 2, 2, 2, 2, 2]", "[1, 3, 3, 1, 3, 3]", "[3, 3, 3, 3, 3, 3]"}
	spec := llmSpec("nas-bench-201-cifar100", 5)
	spec.MaxIterationsPerRun = 2
	var state *workflows.SearchState
	var res *workflows.SearchResult
	var allReqs []llmtest.Request
	for run := 1; ; run++ {
		if run > 4 {
			t.Fatal("too many runs")
		}
		n := min(2, len(replies))
		var steps []llmtest.Step
		for _, r := range replies[:n] {
			steps = append(steps, llmtest.Reply(r))
		}
		replies = replies[n:]
		h := newHarness(t, steps...)
		out, err := h.run(spec, state)
		allReqs = append(allReqs, h.srv.Requests()...)
		if err == nil {
			res = out
			break
		}
		in := continueAsNew(t, err)
		if in.State == nil || in.State.Done != 2*run || in.Spec.Iterations != 5 || in.Spec.MaxIterationsPerRun != 2 {
			t.Fatalf("run %d continued with %+v", run, in.State)
		}
		state = in.State
	}
	if res.WorkflowRuns != 3 || len(res.Iterations) != 5 {
		t.Fatalf("runs %d iterations %d", res.WorkflowRuns, len(res.Iterations))
	}
	for i, it := range res.Iterations {
		if it.Iteration != i+1 {
			t.Errorf("iteration %d has index %d", i+1, it.Iteration)
		}
	}
	// One chat across runs: request k holds 2k messages.
	for i, r := range allReqs {
		if len(r.Messages) != 2+2*i {
			t.Errorf("request %d has %d messages, want %d", i+1, len(r.Messages), 2+2*i)
		}
	}
	if !strings.Contains(allReqs[2].Last(), prompt.FormatAccuracy(res.Iterations[1].Accuracy)) {
		t.Errorf("first request of run 2 lacks iteration 2's accuracy: %s", allReqs[2].Last())
	}
}

func TestContinueAsNewWhenSuggested(t *testing.T) {
	h := newHarness(t, llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"))
	h.env.SetContinueAsNewSuggested(true)
	_, err := h.run(llmSpec("nas-bench-macro", 3), nil)
	in := continueAsNew(t, err)
	if in.State.Done != 1 || len(in.State.Iterations) != 1 || in.State.Best == nil || in.State.WorkflowRuns != 1 {
		t.Errorf("state %+v", in.State)
	}
}

func TestLLMRetriesTransientFailures(t *testing.T) {
	h := newHarness(t,
		llmtest.Status(http.StatusTooManyRequests),
		llmtest.Status(http.StatusInternalServerError),
		llmtest.Step{Hang: true}, // past the client's timeout
		llmtest.Status(http.StatusBadGateway),
		llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"),
	)
	res := h.mustRun(llmSpec("nas-bench-macro", 1))
	if len(res.Iterations) != 1 || res.Iterations[0].Attempts != 1 {
		t.Errorf("%+v", res.Iterations)
	}
	if n := len(h.srv.Requests()); n != 5 {
		t.Errorf("server got %d requests, want 5 (4 retried failures)", n)
	}
}

func TestLLMBadRequestIsNotRetried(t *testing.T) {
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			h := newHarness(t, llmtest.Step{Status: code, ErrorMessage: "Incorrect API key provided: " + apiKey})
			_, err := h.run(llmSpec("nas-bench-macro", 2), nil)
			if err == nil {
				t.Fatal("search succeeded")
			}
			if !hasAppErrorType(err, activities.ErrLLMRequest) {
				t.Errorf("error %v has no %s application error", err, activities.ErrLLMRequest)
			}
			if n := len(h.srv.Requests()); n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error leaks the key: %v", err)
			}
			h.assertNoKey(err.Error())
		})
	}
}

func TestSlowReplyTimesOutAndRetries(t *testing.T) {
	h := newHarness(t, llmtest.Step{Delay: time.Minute, Reply: "[2, 2, 2, 2, 2, 2, 2, 2]"}, llmtest.Reply("[1, 0, 1, 0, 0, 1, 0, 0]"))
	res := h.mustRun(llmSpec("nas-bench-macro", 1))
	if fmt.Sprint(res.Iterations[0].Arch) != fmt.Sprint(macroKnown) {
		t.Errorf("took %v, want the reply after the timeout", res.Iterations[0].Arch)
	}
}

func TestInvalidSpecFails(t *testing.T) {
	h := newHarness(t)
	s := baseSpec("nas-bench-macro")
	s.Conversation = "sometimes"
	_, err := h.run(s, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrInvalidSpec || !strings.Contains(err.Error(), `"conversation"`) {
		t.Errorf("err = %v", err)
	}
}

func TestMissingTableFailsWithFix(t *testing.T) {
	h := newHarness(t)
	s := randomSpec(1)
	s.Dataset = "cifar100" // NAS-Bench-Macro has no CIFAR-100 table
	_, err := h.run(s, nil)
	if err == nil || !strings.Contains(err.Error(), "evaluate") {
		t.Errorf("err = %v", err)
	}
}

func TestLLMWithoutEndpointSaysHowToConfigure(t *testing.T) {
	// A worker with no key and no base URL has no LLM client.
	h := newHarnessWithoutLLM(t)
	_, err := h.run(llmSpec("nas-bench-macro", 1), nil)
	if err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") || !strings.Contains(err.Error(), `"random"`) {
		t.Errorf("err = %v", err)
	}
}

// hasAppErrorType reports whether an application error of the given type is
// in err's chain.
func hasAppErrorType(err error, typ string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == typ {
			return true
		}
	}
	return false
}
