package specs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/secretfield"
	"github.com/genius-nas/genius/taskqueue"
)

// Proposer kinds.
const (
	ProposerLLM       = "llm"
	ProposerRandom    = "random"
	ProposerEvolution = "evolution"
)

// Conversation modes.
const (
	// ConversationFresh starts every iteration with a new two-message chat
	// (system + task listing all past results), as the paper does for the
	// table benchmarks. Corrections within an iteration extend that chat.
	ConversationFresh = "fresh"
	// ConversationChat keeps one growing chat for the whole search; each new
	// iteration sends the measured result of the last one, as the paper does
	// for NAS-Bench-201 and ImageNet.
	ConversationChat = "chat"
)

// What happens when an iteration runs out of attempts.
const (
	OnFailureContinue = "continue"
	OnFailureStop     = "stop"
)

// Evaluator kinds.
const (
	// EvaluatorLookup reads the accuracy from a benchmark table.
	EvaluatorLookup = "lookup"
	// EvaluatorProxyTrain runs the paper's proxy training (activity
	// "ProxyTrain") on the GPU task queue.
	EvaluatorProxyTrain = "proxy-train"
)

// Defaults applied by WithDefaults.
const (
	DefaultIterations      = 10
	DefaultMaxAttempts     = 10
	DefaultModel           = "gpt-4"
	DefaultLLMTimeoutS     = 180
	DefaultLLMMaxRetries   = 8
	DefaultPopulation      = 5
	DefaultSampleSize      = 2
	DefaultTrials          = 3
	DefaultParallelism     = 3
	DefaultTrainTaskQueue  = taskqueue.GPU
	DefaultTrainTimeoutM   = 24 * 60
	DefaultTrainHeartbeatS = 300
	DefaultTrainRetries    = 3
	DefaultFLOPsInput      = 224
	DefaultFLOPsClasses    = 1000

	maxIterations = 100000
	maxAttempts   = 1000
	maxTrials     = 100
)

// Spec is one search. Zero values take the defaults documented on each
// field and in schema.json (see WithDefaults).
type Spec struct {
	// Name labels the search in results and the UI. Optional.
	Name string `json:"name,omitempty"`
	// Description is free text for people. Optional.
	Description string `json:"description,omitempty"`
	// Space is the search space: nas-bench-macro, channel-bench-resnet,
	// channel-bench-mobilenet, nas-bench-201 or mobilenetv2-imagenet.
	Space string `json:"space"`
	// Benchmark names the look-up table (evaluator "lookup"); it is also
	// the GeniusBenchmark search attribute. Default: the space name.
	Benchmark string `json:"benchmark,omitempty"`
	// Dataset selects the table of a benchmark with several (NAS-Bench-201:
	// cifar10, cifar100, imagenet16-120). Optional.
	Dataset string `json:"dataset,omitempty"`
	// Iterations is T, the number of architectures to measure. Default 10.
	Iterations int `json:"iterations,omitempty"`
	// MaxAttempts bounds the proposals per iteration (constraint loop:
	// unparsable, duplicate, outside the FLOPs window). Default 10.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// OnIterationFailure is "continue" (default: the failed iteration counts
	// toward Iterations and the search goes on) or "stop".
	OnIterationFailure string `json:"on_iteration_failure,omitempty"`
	// Conversation is "fresh" (default) or "chat".
	Conversation string `json:"conversation,omitempty"`
	// Seed makes the baseline proposers reproducible (and is sent to the
	// LLM where the server supports seeds, if proposer.send_seed). Trials
	// of an experiment use Seed, Seed+1, ...
	Seed int64 `json:"seed,omitempty"`
	// Proposer picks and configures who proposes architectures.
	Proposer Proposer `json:"proposer"`
	// Evaluator says how an architecture is measured.
	Evaluator Evaluator `json:"evaluator"`
	// FLOPs, when set, is the budget window every proposal must fit.
	FLOPs *FLOPsWindow `json:"flops,omitempty"`
	// Experiment configures GeniusExperiment (ignored by GeniusSearch).
	Experiment Experiment `json:"experiment"`
	// MaxIterationsPerRun, when > 0, continues the workflow as new after
	// that many iterations in one run, besides whenever the server suggests
	// it. 0 = only when suggested.
	MaxIterationsPerRun int `json:"max_iterations_per_run,omitempty"`
	// SearchAttributes, default true, upserts GeniusBenchmark,
	// GeniusProposer, GeniusBestAccuracy and (llm) GeniusLLMCostUSD. Set
	// false on a namespace where they are not registered.
	SearchAttributes *bool `json:"search_attributes,omitempty"`
	// PromptDir, when set, is a directory on the worker holding template
	// overrides (see package prompt).
	PromptDir string `json:"prompt_dir,omitempty"`
	// Retrain, when set, hands the best architecture to workflow
	// GeniusRetrain when the search ends (GeniusSearch only).
	Retrain *Retrain `json:"retrain,omitempty"`
	// LLMBudget caps what an llm search may spend; reaching a cap stops it
	// cleanly (stopped "token-cap" or "cost-cap"). Ignored by the baselines.
	LLMBudget *LLMBudget `json:"llm_budget,omitempty"`
	// Principles, with the llm proposer, ends the search by asking the model,
	// in the same conversation, which design principles it followed (the
	// paper's section 5.3). Ignored by the baselines.
	Principles bool `json:"principles,omitempty"`
}

// LLMBudget caps an llm search's total spending. Each cap is checked before
// every LLM call, so one call may take the total past it. Zero = no cap.
type LLMBudget struct {
	// MaxTokens caps prompt plus completion tokens of the whole search.
	MaxTokens int `json:"max_tokens,omitempty"`
	// MaxCostUSD caps the cost in US dollars, priced by proposer.price or
	// the workers' price table; a model without a price then fails the
	// search before it spends anything.
	MaxCostUSD float64 `json:"max_cost_usd,omitempty"`
}

// Retrain makes a search start the final retraining of its winner: workflow
// GeniusRetrain as a child with workflow ID "<search ID>-retrain" and the
// recipe given here, its arch replaced by the best architecture. Give
// exactly one of Ready and Spec.
type Retrain struct {
	// Ready names a ready retrain spec (package specs/retrain: "paper",
	// "cpu-demo"). Both train mobilenetv2-imagenet.
	Ready string `json:"ready,omitempty"`
	// Spec is a whole retrain spec (the fields of specs/retrain/*.json). Its
	// arch is replaced by the winner; its space, when set, must be the
	// search's.
	Spec *retrain.Spec `json:"spec,omitempty"`
	// Wait, default false, starts the retraining and ends the search at
	// once: the retraining outlives it (parent close policy abandon). True
	// keeps the search open until the retraining ends and puts its result
	// in the search result; a stop signal then cancels the retraining.
	Wait bool `json:"wait,omitempty"`
}

// Resolve returns the retraining recipe for a search in searchSpace: the
// ready spec or the inline one, with defaults, and its space filled in. The
// arch is as written; the search replaces it with its winner. Ready specs
// are embedded, so the same binary always resolves a name the same way.
func (r Retrain) Resolve(searchSpace string) (retrain.Spec, error) {
	switch {
	case r.Ready != "" && r.Spec != nil:
		return retrain.Spec{}, &FieldError{Field: "retrain", Problem: "sets both ready and spec",
			Fix: "give one: ready names a recipe (" + strings.Join(retrain.Names(), ", ") + "), spec is a whole retrain spec"}
	case r.Ready != "":
		s, err := retrain.Ready(r.Ready)
		if err != nil {
			return retrain.Spec{}, &FieldError{Field: "retrain.ready", Problem: fmt.Sprintf("is %q, which is not a ready retrain spec", r.Ready),
				Fix: "use one of " + strings.Join(retrain.Names(), ", ") + ", or give retrain.spec"}
		}
		if s.Space != searchSpace {
			return retrain.Spec{}, &FieldError{Field: "retrain.ready", Problem: fmt.Sprintf("is %q, a recipe for %s, but the search's space is %s", r.Ready, s.Space, searchSpace),
				Fix: "give retrain.spec with a recipe for " + searchSpace + ", or remove retrain"}
		}
		return s, nil
	case r.Spec != nil:
		s := *r.Spec
		s.Arch = slices.Clone(s.Arch)
		if s.Space == "" {
			s.Space = searchSpace
		}
		if s.Space != searchSpace {
			return retrain.Spec{}, &FieldError{Field: "retrain.spec.space", Problem: fmt.Sprintf("is %s, but the search's space is %s", s.Space, searchSpace),
				Fix: "leave it out (the search's space is used) or set it to " + searchSpace}
		}
		return s.WithDefaults(), nil
	}
	return retrain.Spec{}, &FieldError{Field: "retrain", Problem: "names no recipe",
		Fix: "set retrain.ready to one of " + strings.Join(retrain.Names(), ", ") + ", give retrain.spec, or remove retrain"}
}

// validate checks the option for a search in searchSpace.
func (r Retrain) validate(searchSpace string) []error {
	s, err := r.Resolve(searchSpace)
	if err != nil {
		return []error{err}
	}
	if len(s.Arch) == 0 {
		s.Arch = []int{0} // the winner's, known when the search ends
	}
	err = s.Validate()
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range flattenJoin(err) {
		// retrain's messages start with the field they are about.
		field, msg := "retrain.spec", e.Error()
		if name, _, ok := strings.Cut(msg, " "); ok && retrainField.MatchString(name) {
			field += "." + name
		}
		errs = append(errs, &FieldError{Field: field, Problem: "is invalid", Fix: msg})
	}
	return errs
}

var retrainField = regexp.MustCompile(`^[a-z_.]+$`)

func flattenJoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Proposer configures the proposer.
type Proposer struct {
	// Kind is "llm" (default), "random" or "evolution".
	Kind string `json:"kind,omitempty"`
	// Model is the chat model (llm). Default "gpt-4".
	Model string `json:"model,omitempty"`
	// Temperature for sampling (llm), 0..2. Default 0, as the paper's scripts.
	Temperature float64 `json:"temperature"`
	// MaxTokens caps each reply (llm). 0 = the server's default.
	MaxTokens int `json:"max_tokens,omitempty"`
	// TimeoutS bounds one LLM call including the wait for a slow reply, in
	// seconds (activity start-to-close timeout). Default 180.
	TimeoutS int `json:"timeout_s,omitempty"`
	// MaxRetries bounds the retries of one LLM call on 429, 5xx, timeouts
	// and connection failures, with exponential backoff from 1 s to 1 min.
	// Bad requests are never retried. Default 8.
	MaxRetries int `json:"max_retries,omitempty"`
	// SendSeed sends Seed (plus the iteration) to the LLM server.
	SendSeed bool `json:"send_seed,omitempty"`
	// Population is the regularized-evolution population size (evolution):
	// the first Population iterations are random samples, later ones mutate
	// the best of Sample members drawn from the newest Population results.
	// Default 5.
	Population int `json:"population,omitempty"`
	// Sample is the tournament size (evolution). Default 2.
	Sample int `json:"sample,omitempty"`
	// Price, when set, prices this search's tokens instead of the workers'
	// price table (llm).
	Price *pricing.Price `json:"price,omitempty"`
}

// Evaluator configures measurement.
type Evaluator struct {
	// Kind is "lookup" (default for table benchmarks) or "proxy-train"
	// (default for mobilenetv2-imagenet).
	Kind string `json:"kind,omitempty"`
	// TaskQueue of the evaluation activity. Default: the workflow's queue for
	// lookup, "genius-gpu" for proxy-train.
	TaskQueue string `json:"task_queue,omitempty"`
	// Train configures proxy training (proxy-train).
	Train *Train `json:"train,omitempty"`
}

// Train configures proxy training: the activity's input
// (activities.ProxyTrainInput) takes its recipe as it is. Zero values take
// the paper's proxy recipe (20 epochs, SGD lr 0.5, momentum 0.9, weight
// decay 1e-4, dropout 0.2, batch 1024, input 196, 1% held out).
type Train struct {
	DataDir    string `json:"data_dir,omitempty"`    // empty: random tensors (throughput demos)
	DataFormat string `json:"data_format,omitempty"` // cifar10, cifar100, imagefolder (default)
	Classes    int    `json:"classes,omitempty"`
	Input      int    `json:"input,omitempty"`
	// Recipe is how each candidate trains. Its seed is the search's (each
	// candidate gets its own from it): the field is rejected here.
	recipe.Recipe
	ValFraction float64 `json:"val_fraction,omitempty"`
	// TimeoutM bounds one proxy training in minutes. Default 1440.
	TimeoutM int `json:"timeout_m,omitempty"`
	// HeartbeatS is the heartbeat timeout in seconds. Default 300.
	HeartbeatS int `json:"heartbeat_s,omitempty"`
	// MaxRetries bounds retries of a failed training. Default 3.
	MaxRetries int `json:"max_retries,omitempty"`
}

// FLOPsWindow is an inclusive budget in millions of multiply-accumulates,
// counted at Input×Input for Classes outputs (package flops).
type FLOPsWindow struct {
	MinM    float64 `json:"min_m"`
	MaxM    float64 `json:"max_m"`
	Input   int     `json:"input,omitempty"`   // default 224
	Classes int     `json:"classes,omitempty"` // default 1000
	// RoundMillions compares (and reports) FLOPs rounded to whole millions,
	// half away from zero, as the paper's ImageNet searches did: 330.2 M
	// fits a window up to 330, 330.6 M counts as 331.
	RoundMillions bool `json:"round_millions,omitempty"`
}

// Figure is the FLOPs count, in millions, that the window compares with
// its bounds and reports: fM itself, or fM rounded with RoundMillions.
func (w FLOPsWindow) Figure(fM float64) float64 {
	if w.RoundMillions {
		return math.Round(fM)
	}
	return fM
}

// Excess says where fM lies: how many millions (as Figure counts them)
// above MaxM when positive, below MinM when negative, 0 inside the
// inclusive window.
func (w FLOPsWindow) Excess(fM float64) float64 {
	f := w.Figure(fM)
	switch {
	case f > w.MaxM:
		return f - w.MaxM
	case f < w.MinM:
		return f - w.MinM
	}
	return 0
}

// Contains reports whether fM fits the window.
func (w FLOPsWindow) Contains(fM float64) bool { return w.Excess(fM) == 0 }

// Experiment configures GeniusExperiment.
type Experiment struct {
	// Trials is the number of independent searches, 1 to 100. Default 3.
	Trials int `json:"trials,omitempty"`
	// Parallelism bounds the trials running at once. Default 3.
	Parallelism int `json:"parallelism,omitempty"`
}

// TokenCap returns the cap on total tokens (0: none).
func (s Spec) TokenCap() int {
	if s.LLMBudget == nil {
		return 0
	}
	return s.LLMBudget.MaxTokens
}

// CostCap returns the cap on cost in US dollars (0: none).
func (s Spec) CostCap() float64 {
	if s.LLMBudget == nil {
		return 0
	}
	return s.LLMBudget.MaxCostUSD
}

// UseSearchAttributes reports whether the workflow upserts its search
// attributes (default true).
func (s Spec) UseSearchAttributes() bool {
	return s.SearchAttributes == nil || *s.SearchAttributes
}

// WithDefaults returns a copy of s with every zero field set to its default.
func (s Spec) WithDefaults() Spec {
	if s.Benchmark == "" && s.Space != space.ImageNetName {
		s.Benchmark = s.Space
	}
	if s.Iterations == 0 {
		s.Iterations = DefaultIterations
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.OnIterationFailure == "" {
		s.OnIterationFailure = OnFailureContinue
	}
	if s.Conversation == "" {
		s.Conversation = ConversationFresh
	}
	p := &s.Proposer
	if p.Kind == "" {
		p.Kind = ProposerLLM
	}
	if p.Kind == ProposerLLM && p.Model == "" {
		p.Model = DefaultModel
	}
	if p.TimeoutS == 0 {
		p.TimeoutS = DefaultLLMTimeoutS
	}
	if p.MaxRetries == 0 {
		p.MaxRetries = DefaultLLMMaxRetries
	}
	if p.Kind == ProposerEvolution {
		if p.Population == 0 {
			p.Population = DefaultPopulation
		}
		if p.Sample == 0 {
			p.Sample = min(DefaultSampleSize, p.Population)
		}
	}
	e := &s.Evaluator
	if e.Kind == "" {
		if s.Space == space.ImageNetName {
			e.Kind = EvaluatorProxyTrain
		} else {
			e.Kind = EvaluatorLookup
		}
	}
	if e.Kind == EvaluatorProxyTrain {
		if e.TaskQueue == "" {
			e.TaskQueue = DefaultTrainTaskQueue
		}
		t := Train{}
		if e.Train != nil {
			t = *e.Train
		}
		if t.TimeoutM == 0 {
			t.TimeoutM = DefaultTrainTimeoutM
		}
		if t.HeartbeatS == 0 {
			t.HeartbeatS = DefaultTrainHeartbeatS
		}
		if t.MaxRetries == 0 {
			t.MaxRetries = DefaultTrainRetries
		}
		e.Train = &t
	}
	if s.FLOPs != nil {
		f := *s.FLOPs
		if f.Input == 0 {
			f.Input = DefaultFLOPsInput
		}
		if f.Classes == 0 {
			f.Classes = DefaultFLOPsClasses
		}
		s.FLOPs = &f
	}
	if s.Experiment.Trials == 0 {
		s.Experiment.Trials = DefaultTrials
	}
	if s.Experiment.Parallelism == 0 {
		s.Experiment.Parallelism = DefaultParallelism
	}
	return s
}

// FieldError is a problem with one spec field.
type FieldError struct {
	Field   string // JSON path, for example "proposer.model"
	Problem string
	Fix     string
}

func (e *FieldError) Error() string {
	msg := fmt.Sprintf("spec field %q %s", e.Field, e.Problem)
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return msg
}

// Validate checks a spec after WithDefaults. It returns every problem found,
// joined, each a *FieldError.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field, problem, fix string) {
		errs = append(errs, &FieldError{Field: field, Problem: problem, Fix: fix})
	}
	if s.Space == "" {
		bad("space", "is missing", "set it to one of "+strings.Join(space.Names(), ", "))
	} else if _, err := space.New(s.Space); err != nil {
		bad("space", fmt.Sprintf("is %q, which is not a known search space", s.Space), "use one of "+strings.Join(space.Names(), ", "))
	}
	if s.Iterations < 1 || s.Iterations > maxIterations {
		bad("iterations", fmt.Sprintf("is %d", s.Iterations), fmt.Sprintf("give a number of iterations from 1 to %d (default %d)", maxIterations, DefaultIterations))
	}
	if s.MaxAttempts < 1 || s.MaxAttempts > maxAttempts {
		bad("max_attempts", fmt.Sprintf("is %d", s.MaxAttempts), fmt.Sprintf("give 1 to %d attempts per iteration (default %d)", maxAttempts, DefaultMaxAttempts))
	}
	if s.MaxIterationsPerRun < 0 {
		bad("max_iterations_per_run", fmt.Sprintf("is %d", s.MaxIterationsPerRun), "use 0 (continue as new only when the server suggests it) or a positive count")
	}
	switch s.OnIterationFailure {
	case OnFailureContinue, OnFailureStop:
	default:
		bad("on_iteration_failure", fmt.Sprintf("is %q", s.OnIterationFailure), `use "continue" or "stop"`)
	}
	switch s.Conversation {
	case ConversationFresh, ConversationChat:
	default:
		bad("conversation", fmt.Sprintf("is %q", s.Conversation), `use "fresh" (a new prompt with all past results each iteration) or "chat" (one growing chat)`)
	}
	p := s.Proposer
	switch p.Kind {
	case ProposerLLM:
		if strings.TrimSpace(p.Model) == "" {
			bad("proposer.model", "is empty", `name the chat model, for example "gpt-4"`)
		}
		if p.Temperature < 0 || p.Temperature > 2 || math.IsNaN(p.Temperature) {
			bad("proposer.temperature", fmt.Sprintf("is %g", p.Temperature), "use a value from 0 to 2 (the paper used 0)")
		}
		if p.MaxTokens < 0 {
			bad("proposer.max_tokens", fmt.Sprintf("is %d", p.MaxTokens), "use 0 (server default) or a positive cap")
		}
		if p.Price != nil && p.Price.Validate() != nil {
			bad("proposer.price", fmt.Sprintf("is %g/%g", p.Price.PromptUSDPerMTok, p.Price.CompletionUSDPerMTok), "give prompt_usd_per_mtok and completion_usd_per_mtok as US dollars per million tokens, 0 or more")
		}
	case ProposerRandom:
	case ProposerEvolution:
		if p.Population < 2 {
			bad("proposer.population", fmt.Sprintf("is %d", p.Population), "use at least 2")
		}
		if p.Sample < 1 || p.Sample > p.Population {
			bad("proposer.sample", fmt.Sprintf("is %d with population %d", p.Sample, p.Population), "use 1 to proposer.population")
		}
	default:
		bad("proposer.kind", fmt.Sprintf("is %q", p.Kind), `use "llm", "random" or "evolution"`)
	}
	if p.TimeoutS < 1 {
		bad("proposer.timeout_s", fmt.Sprintf("is %d", p.TimeoutS), fmt.Sprintf("give seconds > 0 (default %d)", DefaultLLMTimeoutS))
	}
	if p.MaxRetries < 1 {
		bad("proposer.max_retries", fmt.Sprintf("is %d", p.MaxRetries), fmt.Sprintf("give at least 1 (default %d)", DefaultLLMMaxRetries))
	}
	switch s.Evaluator.Kind {
	case EvaluatorLookup:
		if s.Benchmark == "" {
			bad("benchmark", "is missing", "name the look-up table, for example \"nas-bench-macro\", or use evaluator.kind \"proxy-train\"")
		}
		if s.Space == space.ImageNetName {
			bad("evaluator.kind", `is "lookup" but mobilenetv2-imagenet has no table`, `use "proxy-train"`)
		}
	case EvaluatorProxyTrain:
		if t := s.Evaluator.Train; t != nil {
			if t.Input < 0 || t.Classes < 0 {
				bad("evaluator.train", "has a negative count", "use 0 for the paper's default or a positive value")
			}
			if err := t.Recipe.Validate(); err != nil {
				for _, e := range flattenJoin(err) {
					var fe *recipe.FieldError
					if errors.As(e, &fe) {
						bad("evaluator.train."+fe.JSON(), fmt.Sprintf("%v %s", fe.Value, fe.Problem), fe.Fix)
					}
				}
			}
			if t.MicroBatch > 0 && t.Batch == 0 {
				bad("evaluator.train.micro_batch", "is set without batch", "set batch too (the paper's proxy batch is 1024)")
			}
			if t.Seed != 0 {
				bad("evaluator.train.seed", "is set", "remove it: the spec's seed seeds every candidate (set seed at the top level)")
			}
			if t.ValFraction < 0 || t.ValFraction >= 1 {
				bad("evaluator.train.val_fraction", fmt.Sprintf("is %g", t.ValFraction), "use a share in [0, 1), 0 for the paper's 0.01")
			}
		}
	default:
		bad("evaluator.kind", fmt.Sprintf("is %q", s.Evaluator.Kind), `use "lookup" or "proxy-train"`)
	}
	if f := s.FLOPs; f != nil {
		if f.MinM < 0 || f.MaxM <= 0 || f.MinM >= f.MaxM || math.IsNaN(f.MinM) || math.IsNaN(f.MaxM) {
			bad("flops", fmt.Sprintf("window [%g, %g] M is empty or negative", f.MinM, f.MaxM), "give 0 <= flops.min_m < flops.max_m, in millions, for example [280, 330]")
		}
		if s.Space != "" && s.Space != space.ImageNetName {
			bad("flops", "is set for "+s.Space, "FLOPs windows are counted for mobilenetv2-imagenet only; remove the field")
		}
		if f.Input < 1 || f.Classes < 1 {
			bad("flops.input", "or flops.classes is not positive", "leave them out for 224 and 1000")
		}
	}
	if b := s.LLMBudget; b != nil {
		if b.MaxTokens < 0 {
			bad("llm_budget.max_tokens", fmt.Sprintf("is %d", b.MaxTokens), "use 0 (no cap) or a positive number of tokens")
		}
		if b.MaxCostUSD < 0 || math.IsNaN(b.MaxCostUSD) || math.IsInf(b.MaxCostUSD, 0) {
			bad("llm_budget.max_cost_usd", fmt.Sprintf("is %g", b.MaxCostUSD), "use 0 (no cap) or a positive amount of US dollars")
		}
	}
	if r := s.Retrain; r != nil && s.Space != "" {
		errs = append(errs, r.validate(s.Space)...)
	}
	if s.Experiment.Trials < 1 || s.Experiment.Trials > maxTrials {
		bad("experiment.trials", fmt.Sprintf("is %d", s.Experiment.Trials), fmt.Sprintf("use 1 to %d", maxTrials))
	}
	if s.Experiment.Parallelism < 1 {
		bad("experiment.parallelism", fmt.Sprintf("is %d", s.Experiment.Parallelism), "use at least 1")
	}
	return errors.Join(errs...)
}

// Parse decodes a spec strictly (unknown fields are errors), applies
// defaults and validates it.
func Parse(data []byte) (Spec, error) {
	if err := SecretError(secretfield.Find(data, reflect.TypeFor[Spec]())); err != nil {
		return Spec{}, err
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, explainDecode(err)
	}
	if dec.More() {
		return Spec{}, errors.New("spec holds more than one JSON value: give exactly one object")
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// Load reads, decodes, defaults and validates the spec file at path.
func Load(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read spec: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	return s, nil
}

// SecretError reports key-like fields (paths from package secretfield) of
// a spec or workflow input, each a *FieldError; nil when there are none.
func SecretError(paths []string) error {
	var errs []error
	for _, p := range paths {
		errs = append(errs, &FieldError{Field: p, Problem: "looks like a secret (a key, token, secret or password) and must not be in a spec",
			Fix: "specs end up in workflow histories, kept and shown to anyone who can read them: remove the field, give workers the LLM key in " +
				"OPENAI_API_KEY, and rotate any secret already submitted"})
	}
	return errors.Join(errs...)
}

func explainDecode(err error) error {
	msg := err.Error()
	const unknown = "json: unknown field "
	if strings.HasPrefix(msg, unknown) {
		field := strings.Trim(strings.TrimPrefix(msg, unknown), `"`)
		return &FieldError{Field: field, Problem: "is not a spec field", Fix: "check the spelling against specs/schema.json"}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &FieldError{Field: te.Field, Problem: fmt.Sprintf("is a JSON %s", te.Value), Fix: fmt.Sprintf("give a %s", te.Type)}
	}
	return fmt.Errorf("spec is not valid JSON: %w", err)
}
