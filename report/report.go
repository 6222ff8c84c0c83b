package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// Kinds of Report, after the workflow that ran.
const (
	KindSearch     = "search"
	KindExperiment = "experiment"
	KindRetrain    = "retrain"
)

// Report is what one workflow's history says about its search(es) or
// retraining, in the terms the plots and tables use.
type Report struct {
	Kind         string `json:"kind"`
	WorkflowType string `json:"workflow_type"`
	WorkflowID   string `json:"workflow_id,omitempty"`
	// Status is the last run's status (COMPLETED, RUNNING, FAILED, ...).
	Status    string `json:"status"`
	Name      string `json:"name,omitempty"`
	Space     string `json:"space,omitempty"`
	Benchmark string `json:"benchmark,omitempty"`
	Dataset   string `json:"dataset,omitempty"`
	Proposer  string `json:"proposer,omitempty"`
	Model     string `json:"model,omitempty"`
	// Iterations is the spec's T.
	Iterations int                `json:"iterations,omitempty"`
	FLOPs      *specs.FLOPsWindow `json:"flops,omitempty"`
	Trials     []Trial            `json:"trials,omitempty"`
	Stopped    string             `json:"stopped,omitempty"`

	// PerIteration are mean ± std over the trials per iteration index;
	// BestSoFar* there are of the reported metric (see Trial.BestSoFar).
	PerIteration []workflows.IterationStats `json:"per_iteration,omitempty"`
	// Best is mean ± std of the trials' best architectures.
	Best *workflows.SummaryStats `json:"best,omitempty"`

	// Baseline is the exact random baseline for t = 1..T samples, when the
	// benchmark table was at hand (AddBaseline).
	Baseline []BaselinePoint `json:"baseline,omitempty"`
	// RecordedBaseline is the baseline the experiment itself recorded
	// (best of T samples).
	RecordedBaseline *activities.BaselineResult `json:"recorded_baseline,omitempty"`

	Retrain *Retrain `json:"retrain,omitempty"`
	// RetrainWorkflowID is the retraining a search started without
	// waiting for it; its epochs are in its own history.
	RetrainWorkflowID string `json:"retrain_workflow_id,omitempty"`

	// Paper holds the rows of a --compare CSV that match the benchmark.
	Paper []PaperSeries `json:"paper,omitempty"`

	PromptTokens     int `json:"prompt_tokens,omitempty"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	// CostUSD is what the LLM calls cost (summed over trials); Principles
	// is the model's answer to a search's principles question.
	CostUSD    float64 `json:"cost_usd,omitempty"`
	Principles string  `json:"principles,omitempty"`

	// Notes say what the report could not show and why.
	Notes []string `json:"notes,omitempty"`
}

// Trial is one search: the only one of a GeniusSearch, or one child of a
// GeniusExperiment.
type Trial struct {
	Trial      int                         `json:"trial"` // 1-based
	WorkflowID string                      `json:"workflow_id,omitempty"`
	Seed       int64                       `json:"seed"`
	Iterations []workflows.IterationResult `json:"iterations,omitempty"`
	Best       *workflows.Best             `json:"best,omitempty"`
	Stopped    string                      `json:"stopped,omitempty"`
	Error      string                      `json:"error,omitempty"`
}

// BaselinePoint is the expected best of T uniform samples of a table.
type BaselinePoint struct {
	Samples  int     `json:"samples"`
	Accuracy float64 `json:"accuracy"`
	Rank     float64 `json:"rank"`
}

// Retrain is a GeniusRetrain's epochs, finished or so far.
type Retrain struct {
	WorkflowID  string                    `json:"workflow_id,omitempty"`
	Name        string                    `json:"name,omitempty"`
	Space       string                    `json:"space,omitempty"`
	Arch        []int                     `json:"arch,omitempty"`
	TotalEpochs int                       `json:"total_epochs,omitempty"`
	Epochs      []activities.RetrainEpoch `json:"epochs"`
	Done        bool                      `json:"done"`
	BestEpoch   int                       `json:"best_epoch,omitempty"`
	BestEMATop1 float64                   `json:"best_ema_top1,omitempty"`
	BestEMATop5 float64                   `json:"best_ema_top5,omitempty"`
}

// BaselineTable is a benchmark table's exact random baseline
// (*bench.Table).
type BaselineTable interface {
	RandomBaseline(samples int) (mean, expectedRank float64)
}

// FromTrail reads a GeniusSearch, GeniusExperiment or GeniusRetrain history.
// A running experiment is reported with the trials finished so far, a
// running retraining with the epochs finished so far; a search must have
// completed.
func FromTrail(t *history.Trail) (*Report, error) {
	r := &Report{WorkflowType: t.WorkflowType, WorkflowID: t.WorkflowID, Status: t.Status}
	name := t.WorkflowType + " " + t.WorkflowID
	switch t.WorkflowType {
	case workflows.SearchName:
		r.Kind = KindSearch
		var in workflows.SearchInput
		if err := decode(t.Input, &in); err != nil {
			return nil, fmt.Errorf("%s: input: %w", name, err)
		}
		r.setSpec(in.Spec)
		if t.Status != "COMPLETED" {
			return nil, fmt.Errorf("%s is %s: a search is reported once it has completed (its progress: temporal workflow query --workflow-id %s --type %s)",
				name, t.Status, t.WorkflowID, workflows.ProgressQuery)
		}
		var res workflows.SearchResult
		if err := decode(t.Result, &res); err != nil {
			return nil, fmt.Errorf("%s: result: %w", name, err)
		}
		r.addSearch(1, t.WorkflowID, in.Spec.Seed, res)
		r.Stopped = res.Stopped
		r.Model = res.Model
		r.CostUSD += res.CostUSD
		if p := res.Principles; p != nil && p.Reply != "" {
			r.Principles = p.Reply
		}
		if h := res.Retrain; h != nil && h.Result != nil {
			r.Retrain = retrainFromResult(h.WorkflowID, *h.Result)
		} else if h != nil {
			r.RetrainWorkflowID = h.WorkflowID
		}
	case workflows.ExperimentName:
		r.Kind = KindExperiment
		var in specs.Spec
		if err := decode(t.Input, &in); err != nil {
			return nil, fmt.Errorf("%s: input: %w", name, err)
		}
		r.setSpec(in)
		if err := r.addExperiment(t, in); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	case workflows.RetrainName:
		r.Kind = KindRetrain
		rt, err := retrainFromTrail(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r.Retrain, r.Name, r.Space = rt, rt.Name, rt.Space
	default:
		return nil, fmt.Errorf("workflow %s is a %s: genius report reads %s, %s and %s histories",
			t.WorkflowID, t.WorkflowType, workflows.SearchName, workflows.ExperimentName, workflows.RetrainName)
	}
	if t.Failure != "" {
		r.Notes = append(r.Notes, fmt.Sprintf("The workflow ended %s: %s", t.Status, t.Failure))
	}
	r.PerIteration, r.Best = Aggregate(r.Trials, r.Iterations)
	return r, nil
}

func decode(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("missing from the history")
	}
	return json.Unmarshal(raw, v)
}

func (r *Report) setSpec(s specs.Spec) {
	s = s.WithDefaults()
	r.Name, r.Space, r.Benchmark, r.Dataset = s.Name, s.Space, s.Benchmark, s.Dataset
	r.Proposer, r.Model, r.Iterations, r.FLOPs = s.Proposer.Kind, s.Proposer.Model, s.Iterations, s.FLOPs
	if s.Evaluator.Kind != specs.EvaluatorLookup {
		r.Benchmark = ""
	}
	if s.Proposer.Kind != specs.ProposerLLM {
		r.Model = "" // the spec's default model, not used
	}
}

func (r *Report) addSearch(trial int, id string, seed int64, res workflows.SearchResult) {
	tr := Trial{Trial: trial, WorkflowID: id, Seed: seed, Best: res.Best, Stopped: res.Stopped}
	for _, it := range res.Iterations {
		it.Rejected = nil
		tr.Iterations = append(tr.Iterations, it)
	}
	r.Trials = append(r.Trials, tr)
	r.PromptTokens += res.PromptTokens
	r.CompletionTokens += res.CompletionTokens
}

// addExperiment takes the trials from the result, or, while the experiment
// runs, from its finished child workflows.
func (r *Report) addExperiment(t *history.Trail, in specs.Spec) error {
	if t.Status == "COMPLETED" {
		var res workflows.ExperimentResult
		if err := decode(t.Result, &res); err != nil {
			return fmt.Errorf("result: %w", err)
		}
		r.Trials = append(r.Trials, trialsOf(res.Trials)...)
		r.Stopped, r.RecordedBaseline = res.Stopped, res.RandomBaseline
		// The trial summaries leave out tokens; the children's results
		// in the history have them.
		for _, s := range t.Steps {
			var sr workflows.SearchResult
			if s.Kind == history.KindChild && s.Status == history.StatusCompleted && json.Unmarshal(s.Result, &sr) == nil {
				r.PromptTokens += sr.PromptTokens
				r.CompletionTokens += sr.CompletionTokens
				r.CostUSD += sr.CostUSD
				if r.Model == "" {
					r.Model = sr.Model
				}
			}
		}
		return nil
	}
	started := 0
	for _, s := range t.Steps {
		if s.Kind != history.KindChild {
			continue
		}
		started++
		k := trialNumber(s.WorkflowID)
		switch s.Status {
		case history.StatusCompleted:
			var res workflows.SearchResult
			if err := json.Unmarshal(s.Result, &res); err != nil {
				return fmt.Errorf("trial %s result: %w", s.WorkflowID, err)
			}
			r.addSearch(k, s.WorkflowID, in.Seed+int64(k-1), res)
			r.CostUSD += res.CostUSD
		case history.StatusPending:
		default:
			r.Trials = append(r.Trials, Trial{Trial: k, WorkflowID: s.WorkflowID, Seed: in.Seed + int64(k-1), Error: s.Status + ": " + s.Failure})
		}
	}
	sort.SliceStable(r.Trials, func(i, j int) bool { return r.Trials[i].Trial < r.Trials[j].Trial })
	trials := in.WithDefaults().Experiment.Trials
	r.Notes = append(r.Notes, fmt.Sprintf("The experiment is %s: %d of %d trials started, %d reported here.", t.Status, started, trials, len(r.Trials)))
	return nil
}

func trialsOf(ts []workflows.TrialResult) []Trial {
	out := make([]Trial, 0, len(ts))
	for _, t := range ts {
		out = append(out, Trial{Trial: t.Trial, WorkflowID: t.WorkflowID, Seed: t.Seed, Iterations: t.Iterations, Best: t.Best, Stopped: t.Stopped, Error: t.Error})
	}
	return out
}

// trialNumber reads k from an experiment child's ID "<parent>/trial-<k>".
func trialNumber(id string) int {
	i := strings.LastIndex(id, "/trial-")
	if i < 0 {
		return 0
	}
	k, _ := strconv.Atoi(id[i+len("/trial-"):])
	return k
}

func retrainFromResult(id string, res workflows.RetrainResult) *Retrain {
	return &Retrain{WorkflowID: id, Epochs: res.Epochs, Done: true, TotalEpochs: len(res.Epochs),
		BestEpoch: res.BestEpoch, BestEMATop1: res.BestEMATop1, BestEMATop5: res.BestEMATop5}
}

// retrainFromTrail reads the result, or the finished chunks of a running
// (or failed) retraining.
func retrainFromTrail(t *history.Trail) (*Retrain, error) {
	var in workflows.RetrainInput
	if err := decode(t.Input, &in); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	spec := in.Spec.WithDefaults()
	if t.Status == "COMPLETED" {
		var res workflows.RetrainResult
		if err := decode(t.Result, &res); err != nil {
			return nil, fmt.Errorf("result: %w", err)
		}
		rt := retrainFromResult(t.WorkflowID, res)
		rt.Name, rt.Space, rt.Arch, rt.TotalEpochs = spec.Name, spec.Space, spec.Arch, spec.Epochs
		return rt, nil
	}
	rt := &Retrain{WorkflowID: t.WorkflowID, Name: spec.Name, Space: spec.Space, Arch: spec.Arch, TotalEpochs: spec.Epochs, Epochs: []activities.RetrainEpoch{}}
	for _, s := range t.Steps {
		if s.Kind != history.KindActivity || s.Name != activities.RetrainChunkName || s.Status != history.StatusCompleted {
			continue
		}
		var res activities.RetrainChunkResult
		if err := json.Unmarshal(s.Result, &res); err != nil {
			return nil, fmt.Errorf("%s result (event %d): %w", s.Name, s.EventID, err)
		}
		rt.Epochs = append(rt.Epochs, res.Epochs...)
		if res.Best != nil {
			rt.BestEpoch, rt.BestEMATop1, rt.BestEMATop5 = res.Best.Epoch, res.Best.EMATop1, res.Best.EMATop5
		}
	}
	return rt, nil
}
