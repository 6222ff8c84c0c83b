package workflows

import (
	"encoding/json"
	"reflect"

	"github.com/genius-nas/genius/llm/chat"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/specs/secretfield"
)

// Stop reasons in SearchResult.Stopped.
const (
	// StoppedBudget: all spec.iterations iterations ran.
	StoppedBudget = "budget"
	// StoppedGiveUp: the LLM said it cannot improve further.
	StoppedGiveUp = "give-up"
	// StoppedSignal: a stop signal arrived.
	StoppedSignal = "stop-signal"
	// StoppedAttempts: an iteration ran out of attempts and the spec says
	// on_iteration_failure "stop".
	StoppedAttempts = "attempts-exhausted"
	// StoppedTokenCap: the search's tokens reached spec llm_budget.max_tokens.
	StoppedTokenCap = "token-cap"
	// StoppedCostCap: the search's cost reached spec llm_budget.max_cost_usd.
	StoppedCostCap = "cost-cap"
)

// SearchInput is the workflow's single argument: a spec (its JSON fields at
// the top level, so a spec file is a valid input) plus, after
// Continue-As-New, the state carried over.
type SearchInput struct {
	specs.Spec
	State *SearchState `json:"state,omitempty"`

	// APIKey and OpenAIAPIKey catch a key pasted into a spec file so the
	// search fails with advice instead of running; they are never used.
	APIKey       string `json:"api_key,omitempty"`
	OpenAIAPIKey string `json:"openai_api_key,omitempty"`

	// secretFields are the key-like fields the input held that the schema
	// does not define (decoding would drop them, but the history keeps
	// them): the search refuses to run.
	secretFields []string
}

// UnmarshalJSON decodes the input as encoding/json would and notes its
// key-like fields.
func (in *SearchInput) UnmarshalJSON(data []byte) error {
	type plain SearchInput // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.secretFields = secretfield.Find(data, reflect.TypeFor[plain]())
	*in = SearchInput(p)
	return nil
}

// SearchState is everything a search has learnt; Continue-As-New carries it
// to the next run.
type SearchState struct {
	// Done counts finished iterations (measured or failed).
	Done       int                `json:"done"`
	Iterations []IterationResult  `json:"iterations"`
	Failures   []IterationFailure `json:"failures,omitempty"`
	Best       *Best              `json:"best,omitempty"`
	// Conversation is the growing chat (conversation "chat", llm).
	Conversation     []chat.Message `json:"conversation,omitempty"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	// CostUSD sums the priced LLM calls; UnpricedTokens counts the tokens of
	// calls whose model had no price.
	CostUSD        float64 `json:"cost_usd,omitempty"`
	UnpricedTokens int     `json:"unpriced_tokens,omitempty"`
	// WorkflowRuns counts workflow runs of this search (1 + Continue-As-News).
	WorkflowRuns int `json:"runs"`
}

// Best is the best measured architecture: highest accuracy fed back to the
// proposer (NAS-Bench-201: validation), with its reported test accuracy.
type Best struct {
	Iteration    int     `json:"iteration"`
	Arch         []int   `json:"arch"`
	Key          string  `json:"key"`
	Accuracy     float64 `json:"accuracy"`
	Rank         int     `json:"rank"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
}

// IterationResult is one measured iteration.
type IterationResult struct {
	Iteration    int     `json:"iteration"` // 1-based
	Arch         []int   `json:"arch"`
	Key          string  `json:"key"`
	Canonical    string  `json:"canonical"`
	Accuracy     float64 `json:"accuracy"`
	Rank         int     `json:"rank"` // 0 where there is no table
	Of           int     `json:"of,omitempty"`
	FLOPsM       float64 `json:"flops_m"`
	Attempts     int     `json:"attempts"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	ValAccuracy  float64 `json:"val_accuracy,omitempty"`
	ParamsM      float64 `json:"params_m,omitempty"`
	// Rejected lists the proposals of this iteration that the constraint
	// loop sent back, in order.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is a proposal sent back to the proposer.
type Rejection struct {
	Attempt int     `json:"attempt"`
	Outcome string  `json:"outcome"`
	Reason  string  `json:"reason"`
	FLOPsM  float64 `json:"flops_m,omitempty"`
}

// IterationFailure is an iteration that found no acceptable proposal.
type IterationFailure struct {
	Iteration int         `json:"iteration"`
	Attempts  int         `json:"attempts"`
	Reason    string      `json:"reason"`
	Rejected  []Rejection `json:"rejected,omitempty"`
}

// SearchResult is the workflow's result.
type SearchResult struct {
	Best       *Best              `json:"best"`
	Iterations []IterationResult  `json:"iterations"`
	Stopped    string             `json:"stopped"`
	StopDetail string             `json:"stop_detail,omitempty"`
	Failures   []IterationFailure `json:"failures,omitempty"`

	Name             string `json:"name,omitempty"`
	Space            string `json:"space"`
	Benchmark        string `json:"benchmark,omitempty"`
	Dataset          string `json:"dataset,omitempty"`
	Proposer         string `json:"proposer"`
	Model            string `json:"model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	// CostUSD is what the LLM calls cost, from the prices recorded with
	// each call (spec proposer.price, else the worker's price table).
	CostUSD float64 `json:"cost_usd"`
	// UnpricedTokens counts tokens of calls whose model had no price: they
	// are not in CostUSD.
	UnpricedTokens int `json:"unpriced_tokens,omitempty"`
	WorkflowRuns   int `json:"runs"`

	// Principles is the model's account of the design principles it
	// followed (spec principles).
	Principles *Principles `json:"principles,omitempty"`

	// Retrain is the retraining of Best that the search started (spec
	// retrain); nil when the spec has no retrain.
	Retrain *RetrainHandoff `json:"retrain,omitempty"`
}

// Principles is the last step of a search with spec principles: the
// question asked in the search's conversation and the model's answer.
type Principles struct {
	// AfterIteration is the last iteration the conversation had seen.
	AfterIteration   int    `json:"after_iteration"`
	Prompt           string `json:"prompt,omitempty"`
	Reply            string `json:"reply,omitempty"`
	Model            string `json:"model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	// Skipped says why the question was not asked.
	Skipped string `json:"skipped,omitempty"`
	// Error says why asking failed; the search's own result stands.
	Error string `json:"error,omitempty"`
}

// RetrainIDSuffix makes the workflow ID of the retraining a search starts:
// the search's workflow ID plus this suffix.
const RetrainIDSuffix = "-retrain"

// RetrainHandoff is the GeniusRetrain child a search started for its best
// architecture (spec retrain).
type RetrainHandoff struct {
	WorkflowID string `json:"workflow_id,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	// Result is the retraining's result (spec retrain.wait).
	Result *RetrainResult `json:"result,omitempty"`
	// Error says why the retraining did not start, or how it failed
	// (retrain.wait); the search's own result stands.
	Error string `json:"error,omitempty"`
	// Skipped says why no retraining was started.
	Skipped string `json:"skipped,omitempty"`
}

// Progress is the answer to the progress query.
type Progress struct {
	Iteration   int              `json:"iteration"` // the one in flight, 1-based; Done+1 while running
	Done        int              `json:"done"`
	Iterations  int              `json:"iterations"` // T
	Attempt     int              `json:"attempt"`
	Phase       string           `json:"phase"` // proposing, checking, evaluating, retraining, done
	Best        *Best            `json:"best,omitempty"`
	Last        *IterationResult `json:"last,omitempty"`
	Failures    int              `json:"failures"`
	Stopped     string           `json:"stopped,omitempty"`
	WorkflowRun int              `json:"run"`
	// Tokens and cost of the LLM calls so far.
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	UnpricedTokens   int     `json:"unpriced_tokens,omitempty"`
	// Retrain is set once the search has started its retraining.
	Retrain *RetrainHandoff `json:"retrain,omitempty"`
}

// Phases in Progress.Phase.
const (
	PhaseStarting   = "starting"
	PhaseProposing  = "proposing"
	PhaseChecking   = "checking"
	PhaseEvaluating = "evaluating"
	// PhaseRetraining: the search waits for the retraining it started
	// (spec retrain.wait).
	PhaseRetraining = "retraining"
	// PhasePrinciples: the model is asked for its design principles (spec
	// principles).
	PhasePrinciples = "principles"
	PhaseDone       = "done"
)
