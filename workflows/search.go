package workflows

import (
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/llm/chat" // the message types only: workflows must not import the client
	"github.com/genius-nas/genius/specs"
)

// ErrInvalidSpec is the application error type of a search that cannot
// start because its spec is invalid.
const ErrInvalidSpec = "InvalidSpec"

// localChecksChange is the workflow.GetVersion change ID under which
// proposal checks and table look-ups run as local activities: they then
// run in the workflow task that received the proposal (one workflow task
// and one activity round trip per iteration instead of three), and their
// results are recorded as LocalActivity markers. Runs recorded before it
// (DefaultVersion) replay with regular activities.
const localChecksChange = "local-checks"

// GeniusSearch runs one search. Register it under SearchName.
func GeniusSearch(ctx workflow.Context, in SearchInput) (*SearchResult, error) {
	if in.APIKey != "" || in.OpenAIAPIKey != "" {
		return nil, temporal.NewNonRetryableApplicationError("invalid search spec: it holds an API key: remove it from the spec file "+
			"(workers read OPENAI_API_KEY from their environment) and rotate the key, since it is now in this workflow's history", ErrInvalidSpec, nil)
	}
	if err := refuseSecrets(ctx, in.secretFields, specs.SecretError); err != nil {
		return nil, err
	}
	spec := in.Spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid search spec: "+err.Error(), ErrInvalidSpec, nil)
	}
	st := in.State
	if st == nil {
		st = &SearchState{}
	}
	st.WorkflowRuns++
	s := &search{spec: spec, input: in.Spec, st: st, phase: PhaseStarting}
	if r := spec.Retrain; r != nil {
		// Resolve a ready recipe once (embedded, so replays agree) and
		// carry it inline, so Continue-As-New keeps the recipe the search
		// started with.
		rs, err := r.Resolve(spec.Space)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError("invalid search spec: "+err.Error(), ErrInvalidSpec, nil)
		}
		resolved := &specs.Retrain{Spec: &rs, Wait: r.Wait}
		s.spec.Retrain, s.input.Retrain = resolved, resolved
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, s.progress); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	s.actx, s.cancel = workflow.WithCancel(ctx)
	s.stopCh = workflow.GetSignalChannel(ctx, StopSignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var v any
			s.stopCh.Receive(gctx, &v)
			s.requestStop(v)
		}
	})
	s.local = workflow.GetVersion(ctx, localChecksChange, workflow.DefaultVersion, 1) >= 1
	if err := s.upsertAttributes(ctx, true); err != nil {
		return nil, err
	}
	// Searches recorded before the cost attribute existed replay without
	// its upserts.
	if s.isLLM() && s.spec.UseSearchAttributes() {
		s.costAttribute = workflow.GetVersion(ctx, costAttributeChange, workflow.DefaultVersion, 1) == 1
	}
	res, err := s.run(ctx)
	if err == nil && s.spec.Principles && s.isLLM() {
		res.Principles = s.principles(ctx, res.Stopped)
		s.fillCost(res)
	}
	if err == nil {
		// The last calls (a give-up reply, principles) came after the
		// loop's upsert.
		err = s.upsertCost(ctx)
	}
	s.showDetails(ctx)
	if err != nil || s.spec.Retrain == nil {
		return res, err
	}
	res.Retrain = s.retrain(ctx, res)
	return res, nil
}

type search struct {
	spec  specs.Spec
	input specs.Spec // as given, for Continue-As-New
	st    *SearchState

	phase   string
	attempt int
	stopped string
	// local runs checks and look-ups as local activities (localChecksChange).
	local bool

	actx       workflow.Context // cancelled by the stop signal
	cancel     workflow.CancelFunc
	stopCh     workflow.ReceiveChannel
	stopReason string
	stopAsked  bool

	retrainRef *RetrainHandoff // once started, for the progress query

	// lastChat is the newest conversation with the model, which the
	// principles question continues.
	lastChat []chat.Message
	// costAttribute: upsert LLMCostAttribute (workflow.GetVersion);
	// costUpserted is the value last upserted.
	costAttribute bool
	costUpserted  float64
}

// costAttributeChange is the GetVersion change ID of the cost attribute.
const costAttributeChange = "llm-cost-attribute"

func (s *search) requestStop(v any) {
	if s.stopAsked {
		return
	}
	s.stopAsked = true
	s.stopReason = "stop signal"
	if r, ok := v.(string); ok && r != "" {
		s.stopReason = "stop signal: " + r
	}
	s.cancel()
}

// drainStop picks up a stop signal delivered but not yet seen by the
// receiving goroutine, so Continue-As-New never drops one.
func (s *search) drainStop() {
	var v any
	for s.stopCh.ReceiveAsync(&v) {
		s.requestStop(v)
	}
}

func (s *search) progress() (Progress, error) {
	p := Progress{
		Iteration:   s.st.Done + 1,
		Done:        s.st.Done,
		Iterations:  s.spec.Iterations,
		Attempt:     s.attempt,
		Phase:       s.phase,
		Best:        s.st.Best,
		Failures:    len(s.st.Failures),
		Stopped:     s.stopped,
		WorkflowRun: s.st.WorkflowRuns,
		Retrain:     s.retrainRef,

		PromptTokens:     s.st.PromptTokens,
		CompletionTokens: s.st.CompletionTokens,
		CostUSD:          s.st.CostUSD,
		UnpricedTokens:   s.st.UnpricedTokens,
	}
	if s.stopped != "" {
		p.Iteration = s.st.Done
	}
	if n := len(s.st.Iterations); n > 0 {
		last := s.st.Iterations[n-1]
		p.Last = &last
	}
	return p, nil
}

func (s *search) isLLM() bool { return s.spec.Proposer.Kind == specs.ProposerLLM }

func (s *search) benchmarkLabel() string {
	b := s.spec.Benchmark
	if b == "" {
		b = s.spec.Space
	}
	if s.spec.Dataset != "" {
		b += "/" + s.spec.Dataset
	}
	return b
}

func (s *search) upsertAttributes(ctx workflow.Context, all bool) error {
	if !s.spec.UseSearchAttributes() {
		return nil
	}
	var updates []temporal.SearchAttributeUpdate
	if all {
		updates = append(updates,
			BenchmarkAttribute.ValueSet(s.benchmarkLabel()),
			ProposerAttribute.ValueSet(s.spec.Proposer.Kind))
	}
	if s.st.Best != nil {
		updates = append(updates, BestAccuracyAttribute.ValueSet(s.st.Best.Accuracy))
	}
	if len(updates) == 0 {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upsert search attributes (set spec search_attributes false if the namespace lacks them): %w", err)
	}
	return nil
}

func (s *search) run(ctx workflow.Context) (*SearchResult, error) {
	runIterations := 0
	for s.st.Done < s.spec.Iterations {
		if s.stopAsked {
			return s.finish(StoppedSignal, s.stopReason), nil
		}
		if runIterations > 0 && (workflow.GetInfo(ctx).GetContinueAsNewSuggested() ||
			(s.spec.MaxIterationsPerRun > 0 && runIterations >= s.spec.MaxIterationsPerRun)) {
			s.drainStop()
			if s.stopAsked {
				return s.finish(StoppedSignal, s.stopReason), nil
			}
			return nil, workflow.NewContinueAsNewError(ctx, SearchName, SearchInput{Spec: s.input, State: s.st})
		}
		i := s.st.Done + 1
		out, err := s.iteration(ctx, i)
		if err != nil {
			if s.stopAsked && temporal.IsCanceledError(err) {
				return s.finish(StoppedSignal, s.stopReason), nil
			}
			return nil, err
		}
		switch {
		case out.capped != "":
			return s.finish(out.capped, out.capDetail), nil
		case out.giveUp != "":
			return s.finish(StoppedGiveUp, fmt.Sprintf("iteration %d: the model says it cannot improve: %q", i, clip(out.giveUp, 300))), nil
		case out.failure != nil:
			s.st.Failures = append(s.st.Failures, *out.failure)
			s.st.Done++
			runIterations++
			if s.spec.OnIterationFailure == specs.OnFailureStop {
				return s.finish(StoppedAttempts, fmt.Sprintf("iteration %d: %s", i, out.failure.Reason)), nil
			}
		default:
			s.st.Iterations = append(s.st.Iterations, *out.result)
			s.st.Done++
			runIterations++
			if r := out.result; s.st.Best == nil || r.Accuracy > s.st.Best.Accuracy {
				s.st.Best = &Best{Iteration: r.Iteration, Arch: r.Arch, Key: r.Key, Accuracy: r.Accuracy, Rank: r.Rank, TestAccuracy: r.TestAccuracy}
				if err := s.upsertAttributes(ctx, false); err != nil {
					return nil, err
				}
			}
		}
		if err := s.upsertCost(ctx); err != nil {
			return nil, err
		}
		s.showDetails(ctx)
	}
	return s.finish(StoppedBudget, fmt.Sprintf("%d iterations done", s.st.Done)), nil
}

func (s *search) finish(reason, detail string) *SearchResult {
	s.stopped = reason
	s.phase = PhaseDone
	s.attempt = 0
	iters := s.st.Iterations
	if iters == nil {
		iters = []IterationResult{}
	}
	model := ""
	if s.isLLM() {
		model = s.spec.Proposer.Model
	}
	return &SearchResult{
		Best:             s.st.Best,
		Iterations:       iters,
		Stopped:          reason,
		StopDetail:       detail,
		Failures:         s.st.Failures,
		Name:             s.spec.Name,
		Space:            s.spec.Space,
		Benchmark:        s.spec.Benchmark,
		Dataset:          s.spec.Dataset,
		Proposer:         s.spec.Proposer.Kind,
		Model:            model,
		PromptTokens:     s.st.PromptTokens,
		CompletionTokens: s.st.CompletionTokens,
		CostUSD:          s.st.CostUSD,
		UnpricedTokens:   s.st.UnpricedTokens,
		WorkflowRuns:     s.st.WorkflowRuns,
	}
}

type iterationOutcome struct {
	result  *IterationResult
	failure *IterationFailure
	giveUp  string // the reply that gave up
	// capped is the stop reason of a spending cap reached before a
	// proposal; the unfinished iteration is dropped.
	capped, capDetail string
}

func (s *search) measured() []activities.Measured {
	m := make([]activities.Measured, len(s.st.Iterations))
	for i, r := range s.st.Iterations {
		m[i] = activities.Measured{Iteration: r.Iteration, Arch: r.Arch, Key: r.Key, Canonical: r.Canonical, Accuracy: r.Accuracy, FLOPsM: r.FLOPsM}
	}
	return m
}

// iteration runs the constraint loop and the evaluation of iteration i.
func (s *search) iteration(ctx workflow.Context, i int) (iterationOutcome, error) {
	history := s.measured()
	var msgs []chat.Message
	next := activities.Next{Kind: activities.NextTask}
	// Chat mode answers the last proposal in the same chat; after a failed
	// iteration (the chat was reset) or at the start it sends the task.
	if s.isLLM() && s.spec.Conversation == specs.ConversationChat && len(s.st.Conversation) > 0 && len(history) > 0 {
		msgs = append(msgs, s.st.Conversation...)
		last := history[len(history)-1]
		next = activities.Next{Kind: activities.NextFeedback, Last: &last}
	}
	var rejected []Rejection
	var accepted *activities.CheckResult
	attempts := 0
	for attempt := 1; attempt <= s.spec.MaxAttempts && accepted == nil; attempt++ {
		attempts = attempt
		if reason, detail := s.capReached(); reason != "" {
			return iterationOutcome{capped: reason, capDetail: fmt.Sprintf("before iteration %d attempt %d: %s", i, attempt, detail)}, nil
		}
		s.phase, s.attempt = PhaseProposing, attempt
		p, err := s.propose(i, attempt, history, msgs, next)
		if err != nil {
			return iterationOutcome{}, fmt.Errorf("iteration %d attempt %d: propose: %w", i, attempt, err)
		}
		s.account(p)
		if s.isLLM() {
			if len(msgs) == 0 {
				msgs = append(msgs, chat.Message{Role: chat.RoleSystem, Content: p.System})
			}
			msgs = append(msgs, chat.Message{Role: chat.RoleUser, Content: p.Prompt}, chat.Message{Role: chat.RoleAssistant, Content: p.Reply})
			s.lastChat = msgs
		}
		s.phase = PhaseChecking
		c, err := s.check(p.Reply, history)
		if err != nil {
			return iterationOutcome{}, fmt.Errorf("iteration %d attempt %d: check proposal: %w", i, attempt, err)
		}
		switch c.Outcome {
		case activities.OutcomeOK:
			accepted = &c
		case activities.OutcomeGiveUp:
			return iterationOutcome{giveUp: p.Reply}, nil
		default:
			rejected = append(rejected, Rejection{Attempt: attempt, Outcome: c.Outcome, Reason: c.Reason, FLOPsM: c.FLOPsM})
			next = activities.Next{Kind: activities.NextText, Text: c.Feedback}
		}
	}
	if accepted == nil {
		s.st.Conversation = nil
		reason := fmt.Sprintf("no acceptable proposal in %d attempts", attempts)
		if n := len(rejected); n > 0 {
			reason += "; last: " + rejected[n-1].Reason
		}
		return iterationOutcome{failure: &IterationFailure{Iteration: i, Attempts: attempts, Reason: reason, Rejected: rejected}}, nil
	}
	s.phase = PhaseEvaluating
	r, err := s.evaluate(i, *accepted)
	if err != nil {
		return iterationOutcome{}, fmt.Errorf("iteration %d: evaluate %v: %w", i, accepted.Arch, err)
	}
	r.Attempts = attempts
	r.Rejected = rejected
	if s.isLLM() && s.spec.Conversation == specs.ConversationChat {
		s.st.Conversation = msgs
	}
	return iterationOutcome{result: &r}, nil
}

func (s *search) propose(i, attempt int, history []activities.Measured, msgs []chat.Message, next activities.Next) (activities.ProposeResult, error) {
	p := s.spec.Proposer
	ctx := workflow.WithActivityOptions(s.actx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Duration(p.TimeoutS) * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        int32(p.MaxRetries),
			NonRetryableErrorTypes: []string{activities.ErrLLMRequest, activities.ErrBadInput},
		},
	})
	in := activities.ProposeInput{
		Space: s.spec.Space, Benchmark: s.spec.Benchmark, Dataset: s.spec.Dataset,
		Proposer: p, FLOPs: s.spec.FLOPs, PromptDir: s.spec.PromptDir, Seed: s.spec.Seed,
		Iteration: i, Attempt: attempt, Total: s.spec.Iterations,
		History: history, Messages: msgs, Next: next,
		NeedPrice: s.spec.CostCap() > 0 && p.Price == nil,
	}
	var out activities.ProposeResult
	err := workflow.ExecuteActivity(ctx, activities.ProposeName, in).Get(ctx, &out)
	return out, err
}

// shortRetry is the retry policy of the quick, deterministic activities
// (checks and look-ups): a failure there is a bug or a missing table, so a
// few retries suffice.
func shortRetry() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		MaximumAttempts:        5,
		NonRetryableErrorTypes: []string{activities.ErrBadInput},
	}
}

// runShort runs a quick, deterministic activity and decodes its result into
// out. With localChecksChange it runs as a local activity on this worker,
// unless queue names another task queue (a table served elsewhere); before
// it, as a regular activity.
func (s *search) runShort(queue, name string, in, out any) error {
	if s.local && (queue == "" || queue == workflow.GetInfo(s.actx).TaskQueueName) {
		lctx := workflow.WithLocalActivityOptions(s.actx, workflow.LocalActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         shortRetry(),
		})
		return workflow.ExecuteLocalActivity(lctx, name, in).Get(lctx, out)
	}
	actx := workflow.WithActivityOptions(s.actx, workflow.ActivityOptions{
		TaskQueue:           queue,
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         shortRetry(),
	})
	return workflow.ExecuteActivity(actx, name, in).Get(actx, out)
}

func (s *search) check(reply string, history []activities.Measured) (activities.CheckResult, error) {
	var out activities.CheckResult
	err := s.runShort("", activities.CheckProposalName, activities.CheckInput{
		Space: s.spec.Space, Reply: reply, FLOPs: s.spec.FLOPs, Measured: history, GiveUp: s.isLLM(),
	}, &out)
	return out, err
}

func (s *search) evaluate(i int, c activities.CheckResult) (IterationResult, error) {
	r := IterationResult{Iteration: i, Arch: c.Arch, Key: c.Key, Canonical: c.Canonical, FLOPsM: c.FLOPsM, ParamsM: c.ParamsM}
	e := s.spec.Evaluator
	switch e.Kind {
	case specs.EvaluatorLookup:
		var out activities.EvaluateResult
		err := s.runShort(e.TaskQueue, activities.EvaluateName, activities.EvaluateInput{
			Benchmark: s.spec.Benchmark, Dataset: s.spec.Dataset, Space: s.spec.Space, Arch: c.Arch, Key: c.Key,
		}, &out)
		if err != nil {
			return r, err
		}
		r.Accuracy, r.Rank, r.Of = out.Accuracy, out.Rank, out.Of
		r.TestAccuracy, r.ValAccuracy = out.TestAccuracy, out.ValAccuracy
		return r, nil
	case specs.EvaluatorProxyTrain:
		t := specs.Train{}
		if e.Train != nil {
			t = *e.Train
		}
		ctx := workflow.WithActivityOptions(s.actx, workflow.ActivityOptions{
			TaskQueue:           e.TaskQueue,
			StartToCloseTimeout: time.Duration(t.TimeoutM) * time.Minute,
			HeartbeatTimeout:    time.Duration(t.HeartbeatS) * time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    10 * time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    10 * time.Minute,
				MaximumAttempts:    int32(t.MaxRetries),
			},
		})
		// Every candidate is validated on the same held-out images, picked
		// by the search's seed; each has its own initialisation seed. Only
		// the activity input changes (no command), so older histories replay.
		splitSeed := s.spec.Seed
		var out activities.TrainResult
		err := workflow.ExecuteActivity(ctx, activities.ProxyTrainName, activities.ProxyTrainInput{
			Space: s.spec.Space, Arch: c.Arch,
			Data:    activities.DataSpec{Dir: t.DataDir, Format: t.DataFormat},
			Classes: t.Classes, Input: t.Input, Recipe: t.Recipe, ValFraction: t.ValFraction,
			Seed: s.spec.Seed*1000 + int64(i), SplitSeed: &splitSeed,
		}).Get(ctx, &out)
		if err != nil {
			return r, err
		}
		r.Accuracy = out.Top1 * 100
		if out.ParamsM > 0 {
			r.ParamsM = out.ParamsM
		}
		return r, nil
	}
	return r, temporal.NewNonRetryableApplicationError("unknown evaluator kind "+e.Kind, ErrInvalidSpec, nil)
}

// retrain starts GeniusRetrain for the search's best architecture (spec
// retrain) and, with retrain.wait, waits for its result. Failures are
// reported in the handoff: the search's own result stands.
func (s *search) retrain(ctx workflow.Context, res *SearchResult) *RetrainHandoff {
	opt := s.spec.Retrain
	s.drainStop()
	switch {
	case s.stopAsked:
		return &RetrainHandoff{Skipped: "the search was stopped (" + s.stopReason + "): start the retraining with genius retrain --arch if you still want it"}
	case res.Best == nil:
		return &RetrainHandoff{Skipped: "no architecture was measured"}
	}
	in := RetrainInput{Spec: *opt.Spec}
	in.Arch = slices.Clone(res.Best.Arch)
	h := &RetrainHandoff{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + RetrainIDSuffix}
	// Without wait the retraining outlives the search; with wait it is part
	// of it: a stop signal (s.actx) or closing the search cancels it.
	base, policy := ctx, enumspb.PARENT_CLOSE_POLICY_ABANDON
	if opt.Wait {
		base, policy = s.actx, enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL
	}
	cctx := workflow.WithChildOptions(base, workflow.ChildWorkflowOptions{
		WorkflowID:        h.WorkflowID,
		ParentClosePolicy: policy,
	})
	f := workflow.ExecuteChildWorkflow(cctx, RetrainName, in)
	// Wait for the start even without wait: an abandoned child must have
	// started before its parent closes, and the run ID is reported.
	var exec workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		h.Error = fmt.Sprintf("start %s %s: %v", RetrainName, h.WorkflowID, err)
		return h
	}
	h.RunID = exec.RunID
	s.retrainRef = h
	if !opt.Wait {
		return h
	}
	s.phase = PhaseRetraining
	defer func() { s.phase = PhaseDone }()
	var out RetrainResult
	if err := f.Get(ctx, &out); err != nil {
		if s.stopAsked && temporal.IsCanceledError(err) {
			h.Error = "cancelled by the " + s.stopReason
		} else {
			h.Error = fmt.Sprintf("%s %s: %v", RetrainName, h.WorkflowID, err)
		}
		return h
	}
	h.Result = &out
	return h
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
