package workflows

import (
	"fmt"
	"math"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/stats"
)

// ExperimentResult aggregates the trials of a GeniusExperiment.
type ExperimentResult struct {
	Name      string        `json:"name,omitempty"`
	Space     string        `json:"space"`
	Benchmark string        `json:"benchmark,omitempty"`
	Dataset   string        `json:"dataset,omitempty"`
	Proposer  string        `json:"proposer"`
	Trials    []TrialResult `json:"trials"`
	// PerIteration holds, for each iteration index, statistics over the
	// trials that measured it (population std, ddof 0).
	PerIteration []IterationStats `json:"per_iteration"`
	// Best summarises the trials' best architectures.
	Best SummaryStats `json:"best"`
	// RandomBaseline is the table's exact expected best of `iterations`
	// uniform samples (lookup evaluator only).
	RandomBaseline *activities.BaselineResult `json:"random_baseline,omitempty"`
	Stopped        string                     `json:"stopped,omitempty"`
	// Tokens and cost summed over the trials.
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	UnpricedTokens   int     `json:"unpriced_tokens,omitempty"`
}

// TrialResult is one child search.
type TrialResult struct {
	Trial      int               `json:"trial"` // 1-based
	WorkflowID string            `json:"workflow_id"`
	Seed       int64             `json:"seed"`
	Best       *Best             `json:"best,omitempty"`
	Stopped    string            `json:"stopped,omitempty"`
	Iterations []IterationResult `json:"iterations,omitempty"`
	Error      string            `json:"error,omitempty"`

	PromptTokens     int     `json:"prompt_tokens,omitempty"`
	CompletionTokens int     `json:"completion_tokens,omitempty"`
	CostUSD          float64 `json:"cost_usd,omitempty"`
	UnpricedTokens   int     `json:"unpriced_tokens,omitempty"`
}

// IterationStats are statistics of one iteration index across trials.
type IterationStats struct {
	Iteration        int     `json:"iteration"`
	N                int     `json:"n"`
	AccuracyMean     float64 `json:"accuracy_mean"`
	AccuracyStd      float64 `json:"accuracy_std"`
	RankMean         float64 `json:"rank_mean"`
	RankStd          float64 `json:"rank_std"`
	TestAccuracyMean float64 `json:"test_accuracy_mean,omitempty"`
	TestAccuracyStd  float64 `json:"test_accuracy_std,omitempty"`
	// BestSoFar* are over the best accuracy each trial had reached by this
	// iteration.
	BestSoFarMean float64 `json:"best_so_far_mean"`
	BestSoFarStd  float64 `json:"best_so_far_std"`
}

// SummaryStats are mean and std of the trials' best results.
type SummaryStats struct {
	N                int     `json:"n"`
	AccuracyMean     float64 `json:"accuracy_mean"`
	AccuracyStd      float64 `json:"accuracy_std"`
	RankMean         float64 `json:"rank_mean"`
	RankStd          float64 `json:"rank_std"`
	TestAccuracyMean float64 `json:"test_accuracy_mean,omitempty"`
	TestAccuracyStd  float64 `json:"test_accuracy_std,omitempty"`
}

// ExperimentProgress answers the progress query of GeniusExperiment.
type ExperimentProgress struct {
	Trials   int `json:"trials"`
	Started  int `json:"started"`
	Finished int `json:"finished"`
	Failed   int `json:"failed"`
	// CostUSD sums the finished trials.
	CostUSD float64 `json:"cost_usd"`
}

// GeniusExperiment runs spec.experiment.trials searches as child
// workflows, at most spec.experiment.parallelism at once, trial k with seed
// spec.seed+k-1, and aggregates them. Register it under ExperimentName.
func GeniusExperiment(ctx workflow.Context, in ExperimentInput) (*ExperimentResult, error) {
	if err := refuseSecrets(ctx, in.secretFields, specs.SecretError); err != nil {
		return nil, err
	}
	spec := in.Spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid search spec: "+err.Error(), ErrInvalidSpec, nil)
	}
	if spec.Retrain != nil {
		// Retraining every trial's winner would start one long training
		// per trial; the user picks the winner to retrain instead.
		err := &specs.FieldError{Field: "retrain", Problem: "is for GeniusSearch, not experiments",
			Fix: "remove it and retrain the experiment's best with genius retrain --arch, or run a single search with it"}
		return nil, temporal.NewNonRetryableApplicationError("invalid search spec: "+err.Error(), ErrInvalidSpec, nil)
	}
	n, par := spec.Experiment.Trials, spec.Experiment.Parallelism
	prog := ExperimentProgress{Trials: n}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (ExperimentProgress, error) { return prog, nil }); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	res := &ExperimentResult{
		Name: spec.Name, Space: spec.Space, Benchmark: spec.Benchmark, Dataset: spec.Dataset,
		Proposer: spec.Proposer.Kind, Trials: make([]TrialResult, n),
	}

	// The exact random baseline is cheap; ask for it first so a table
	// problem shows before any LLM money is spent.
	if spec.Evaluator.Kind == specs.EvaluatorLookup {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrBadInput}},
		})
		var b activities.BaselineResult
		err := workflow.ExecuteActivity(actx, activities.RandomBaselineName, activities.BaselineInput{
			Benchmark: spec.Benchmark, Dataset: spec.Dataset, Samples: spec.Iterations,
		}).Get(ctx, &b)
		if err != nil {
			return nil, fmt.Errorf("random baseline: %w", err)
		}
		res.RandomBaseline = &b
	}

	stopCh := workflow.GetSignalChannel(ctx, StopSignal)
	var stopReason any
	stopped := false
	parentID := workflow.GetInfo(ctx).WorkflowExecution.ID
	running := map[int]workflow.ChildWorkflowFuture{}
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(stopCh, func(c workflow.ReceiveChannel, more bool) {
		c.Receive(ctx, &stopReason)
		if stopped {
			return
		}
		stopped = true
		res.Stopped = StoppedSignal
		// Trials are stopped in index order so the history is deterministic.
		for k := 1; k <= n; k++ {
			if f, ok := running[k]; ok {
				f.SignalChildWorkflow(ctx, StopSignal, stopReason)
			}
		}
	})
	next, pending := 1, 0
	for {
		for !stopped && pending < par && next <= n {
			k := next
			next++
			trialSpec := spec
			trialSpec.Seed = spec.Seed + int64(k-1)
			if spec.Name != "" {
				trialSpec.Name = fmt.Sprintf("%s/trial-%d", spec.Name, k)
			}
			id := fmt.Sprintf("%s/trial-%d", parentID, k)
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:        id,
				ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
				// Metadata for the UI only: replays do not compare it.
				StaticSummary: fmt.Sprintf("trial %d of %d: %s", k, n, Summary(trialSpec)),
			})
			f := workflow.ExecuteChildWorkflow(cctx, SearchName, SearchInput{Spec: trialSpec})
			running[k] = f
			res.Trials[k-1] = TrialResult{Trial: k, WorkflowID: id, Seed: trialSpec.Seed}
			pending++
			prog.Started++
			sel.AddFuture(f, func(f workflow.Future) {
				delete(running, k)
				pending--
				prog.Finished++
				var r SearchResult
				if err := f.Get(ctx, &r); err != nil {
					prog.Failed++
					res.Trials[k-1].Error = err.Error()
					return
				}
				res.Trials[k-1].Best = r.Best
				res.Trials[k-1].Stopped = r.Stopped
				res.Trials[k-1].PromptTokens, res.Trials[k-1].CompletionTokens = r.PromptTokens, r.CompletionTokens
				res.Trials[k-1].CostUSD, res.Trials[k-1].UnpricedTokens = r.CostUSD, r.UnpricedTokens
				prog.CostUSD += r.CostUSD
				// Keep the trial summary small: the rejected proposals stay in
				// the child's own history and result.
				its := make([]IterationResult, len(r.Iterations))
				for j, it := range r.Iterations {
					it.Rejected = nil
					its[j] = it
				}
				res.Trials[k-1].Iterations = its
			})
		}
		if pending == 0 && (stopped || next > n) {
			break
		}
		sel.Select(ctx)
	}
	if stopped {
		// Trials never started are left out of the result.
		var started []TrialResult
		for _, t := range res.Trials {
			if t.WorkflowID != "" {
				started = append(started, t)
			}
		}
		res.Trials = started
	}
	res.PerIteration, res.Best = aggregate(res.Trials, spec.Iterations)
	// Summed in trial order, so the total does not depend on which trial
	// finished first.
	for _, t := range res.Trials {
		res.PromptTokens += t.PromptTokens
		res.CompletionTokens += t.CompletionTokens
		res.CostUSD += t.CostUSD
		res.UnpricedTokens += t.UnpricedTokens
	}
	return res, nil
}

// aggregate computes per-iteration and best-of-trial statistics.
func aggregate(trials []TrialResult, iterations int) ([]IterationStats, SummaryStats) {
	per := []IterationStats{}
	bestSoFar := make([]float64, len(trials))
	for it := 1; it <= iterations; it++ {
		var acc, rank, test, best []float64
		for ti, t := range trials {
			for _, r := range t.Iterations {
				if r.Iteration != it {
					continue
				}
				acc = append(acc, r.Accuracy)
				rank = append(rank, float64(r.Rank))
				if r.TestAccuracy != 0 {
					test = append(test, r.TestAccuracy)
				}
				bestSoFar[ti] = math.Max(bestSoFar[ti], r.Accuracy)
			}
			if bestSoFar[ti] > 0 {
				best = append(best, bestSoFar[ti])
			}
		}
		if len(acc) == 0 {
			continue
		}
		s := IterationStats{Iteration: it, N: len(acc)}
		s.AccuracyMean, s.AccuracyStd = stats.MeanStd(acc)
		s.RankMean, s.RankStd = stats.MeanStd(rank)
		s.TestAccuracyMean, s.TestAccuracyStd = stats.MeanStd(test)
		s.BestSoFarMean, s.BestSoFarStd = stats.MeanStd(best)
		per = append(per, s)
	}
	var acc, rank, test []float64
	for _, t := range trials {
		if t.Best == nil {
			continue
		}
		acc = append(acc, t.Best.Accuracy)
		rank = append(rank, float64(t.Best.Rank))
		if t.Best.TestAccuracy != 0 {
			test = append(test, t.Best.TestAccuracy)
		}
	}
	sum := SummaryStats{N: len(acc)}
	sum.AccuracyMean, sum.AccuracyStd = stats.MeanStd(acc)
	sum.RankMean, sum.RankStd = stats.MeanStd(rank)
	sum.TestAccuracyMean, sum.TestAccuracyStd = stats.MeanStd(test)
	return per, sum
}
