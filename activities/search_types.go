package activities

import (
	"github.com/genius-nas/genius/llm/chat"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/specs"
)

// Names under which the CPU worker registers the search activities; the
// search workflow calls them by these names.
const (
	ProposeName        = "Propose"
	CheckProposalName  = "CheckProposal"
	EvaluateName       = "Evaluate"
	RandomBaselineName = "RandomBaseline"
)

// Application error types the search activities return. The workflow's
// retry policies list the non-retryable ones.
const (
	// ErrLLMRequest: the LLM endpoint refused the request (400/401/403/404);
	// asking again cannot help.
	ErrLLMRequest = "LLMRequestError"
	// ErrLLMUnavailable: 429, 5xx, timeout or connection failure; retried
	// with backoff.
	ErrLLMUnavailable = "LLMUnavailable"
	// ErrBadInput: the activity input cannot work (unknown space or table,
	// missing key, no API key configured); not retried.
	ErrBadInput = "BadInput"
)

// Measured is one architecture that was measured, as proposers and prompts
// see it.
type Measured struct {
	Iteration int     `json:"iteration"` // 1-based
	Arch      []int   `json:"arch"`
	Key       string  `json:"key"`
	Canonical string  `json:"canonical"`
	Accuracy  float64 `json:"accuracy"` // the figure fed back to the proposer
	FLOPsM    float64 `json:"flops_m,omitempty"`
}

// Kinds of the next message a Propose call sends.
const (
	// NextTask sends the task: the full problem with every past result.
	NextTask = "task"
	// NextFeedback sends the measured result of Next.Last and asks for the
	// next proposal (chat mode).
	NextFeedback = "feedback"
	// NextText sends Next.Text as it is (corrections of the constraint loop).
	NextText = "text"
	// NextPrinciples asks, after the last iteration, which design principles
	// the model followed (spec principles).
	NextPrinciples = "principles"
)

// Next is the message a Propose call adds to the conversation.
type Next struct {
	Kind string    `json:"kind"`
	Text string    `json:"text,omitempty"`
	Last *Measured `json:"last,omitempty"`
}

// ProposeInput asks the proposer for an architecture. It carries no
// secrets: the LLM endpoint and key are the activity's configuration.
type ProposeInput struct {
	Space     string             `json:"space"`
	Benchmark string             `json:"benchmark,omitempty"`
	Dataset   string             `json:"dataset,omitempty"`
	Proposer  specs.Proposer     `json:"proposer"`
	FLOPs     *specs.FLOPsWindow `json:"flops,omitempty"`
	PromptDir string             `json:"prompt_dir,omitempty"`
	Seed      int64              `json:"seed"`
	Iteration int                `json:"iteration"` // 1-based
	Attempt   int                `json:"attempt"`   // 1-based within the iteration
	Total     int                `json:"total"`     // T
	History   []Measured         `json:"history"`
	// Messages is the conversation so far; empty starts a new chat
	// with the system prompt.
	Messages []chat.Message `json:"messages,omitempty"`
	Next     Next           `json:"next"`
	// NeedPrice makes the call fail, before anything is sent, when the
	// worker has no price for Proposer.Model (a cost cap needs one).
	NeedPrice bool `json:"need_price,omitempty"`
}

// ProposeResult is one turn of the conversation. System and Prompt are the
// text sent (System only when a new chat started), Reply the model's raw
// answer, so the workflow history holds the whole conversation.
type ProposeResult struct {
	Proposer         string `json:"proposer"`
	System           string `json:"system,omitempty"`
	Prompt           string `json:"prompt,omitempty"`
	Reply            string `json:"reply"`
	Model            string `json:"model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	LatencyMS        int64  `json:"latency_ms"`
	// Price is the worker's price for Model (else the requested model);
	// nil when its table has none. The workflow computes the cost from it,
	// so replays agree whatever the table says later.
	Price *pricing.Price `json:"price,omitempty"`
}

// Outcomes of CheckProposal.
const (
	OutcomeOK         = "ok"
	OutcomeUnparsable = "unparsable"  // Feedback is the parser's correction
	OutcomeDuplicate  = "duplicate"   // already measured
	OutcomeFLOPsAbove = "flops-above" // above the window's upper bound
	OutcomeFLOPsBelow = "flops-below" // below the window's lower bound
	OutcomeGiveUp     = "give-up"     // the model says it cannot improve
)

// CheckInput asks whether a reply holds an acceptable proposal.
type CheckInput struct {
	Space string             `json:"space"`
	Reply string             `json:"reply"`
	FLOPs *specs.FLOPsWindow `json:"flops,omitempty"`
	// Measured lists what was measured so far (duplicate check).
	Measured []Measured `json:"measured,omitempty"`
	// GiveUp enables give-up detection (llm proposers only).
	GiveUp bool `json:"give_up,omitempty"`
}

// CheckResult is the parse, duplicate and FLOPs verdict on a reply.
type CheckResult struct {
	Outcome   string  `json:"outcome"`
	Arch      []int   `json:"arch,omitempty"`
	Key       string  `json:"key,omitempty"`
	Canonical string  `json:"canonical,omitempty"`
	FLOPsM    float64 `json:"flops_m,omitempty"`
	ParamsM   float64 `json:"params_m,omitempty"`
	// Feedback is the message for the proposer when Outcome is not ok.
	Feedback string `json:"feedback,omitempty"`
	// Reason says briefly what was wrong, for people reading the history.
	Reason string `json:"reason,omitempty"`
	// DuplicateOf is the iteration that measured the same network.
	DuplicateOf int `json:"duplicate_of,omitempty"`
}

// EvaluateInput asks for the table entry of an architecture.
type EvaluateInput struct {
	Benchmark string `json:"benchmark"`
	Dataset   string `json:"dataset,omitempty"`
	Space     string `json:"space"`
	Arch      []int  `json:"arch"`
	Key       string `json:"key"`
}

// EvaluateResult is a table entry. Accuracy is fed back to the proposer
// (NAS-Bench-201: validation accuracy); TestAccuracy is the reported figure.
type EvaluateResult struct {
	Key          string  `json:"key"`
	Accuracy     float64 `json:"accuracy"`
	ValAccuracy  float64 `json:"val_accuracy,omitempty"`
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	Rank         int     `json:"rank"`
	Of           int     `json:"of"`
	Percentile   float64 `json:"percentile,omitempty"`
}

// BaselineInput asks for a table's exact random baseline.
type BaselineInput struct {
	Benchmark string `json:"benchmark"`
	Dataset   string `json:"dataset,omitempty"`
	// Samples is the number of uniform samples whose best is taken (T).
	Samples int `json:"samples"`
}

// BaselineResult is the expected best of Samples uniform samples, from
// order statistics over the whole table, and the table's optimum.
type BaselineResult struct {
	Samples  int     `json:"samples"`
	Accuracy float64 `json:"accuracy"`
	Rank     float64 `json:"rank"`
	Of       int     `json:"of"`
	Optimum  float64 `json:"optimum"`
}
