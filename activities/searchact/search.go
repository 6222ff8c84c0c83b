package searchact

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
)

// SearchActivities are the activities of GeniusSearch and GeniusExperiment
// that run on CPU workers: proposing (LLM or baseline), checking proposals,
// table look-ups and the exact random baseline. Register a pointer with
// worker.RegisterActivity; the method names are the activity names.
type SearchActivities struct {
	// LLM answers the llm proposer. Nil makes llm proposals fail, without
	// retries, with a message saying how to configure the endpoint. The
	// endpoint's key lives here, never in an activity input.
	LLM llm.Chatter
	// Catalog holds the benchmark tables (Evaluate, RandomBaseline).
	Catalog *bench.Catalog
	// Prompts loads the prompt templates of a space, with an optional
	// override directory. Nil uses package prompt.
	Prompts func(spaceName, overrideDir string) (Prompter, error)
	// Prices prices the tokens of llm proposals (ProposeResult.Price). Nil
	// uses pricing.Default().
	Prices *pricing.Table
}

func (a *SearchActivities) prices() *pricing.Table {
	if a.Prices == nil {
		return pricing.Default()
	}
	return a.Prices
}

// Prompter renders the text of an LLM conversation for one search space.
type Prompter interface {
	// System is the system message.
	System() string
	// Task is the full problem statement with every past result.
	Task(in activities.ProposeInput) (string, error)
	// Feedback reports the measured result of last and asks for the next
	// proposal (chat mode).
	Feedback(last activities.Measured, in activities.ProposeInput) (string, error)
}

func badInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), activities.ErrBadInput, nil)
}

func newSpace(name string) (space.Space, error) {
	sp, err := space.New(name)
	if err != nil {
		return nil, badInput("%v", err)
	}
	return sp, nil
}

// Propose asks the proposer for the next architecture. The llm proposer
// renders the next message, sends the conversation and returns the message
// and raw reply; the baselines return the formatted architecture as reply.
func (a *SearchActivities) Propose(ctx context.Context, in activities.ProposeInput) (activities.ProposeResult, error) {
	sp, err := newSpace(in.Space)
	if err != nil {
		return activities.ProposeResult{}, err
	}
	switch in.Proposer.Kind {
	case specs.ProposerRandom, specs.ProposerEvolution:
		return activities.ProposeResult{Proposer: in.Proposer.Kind, Reply: sp.Format(baseline(sp, in))}, nil
	case specs.ProposerLLM, "":
	default:
		return activities.ProposeResult{}, badInput("unknown proposer kind %q: use llm, random or evolution", in.Proposer.Kind)
	}
	if a.LLM == nil {
		return activities.ProposeResult{}, badInput("the llm proposer needs an OpenAI-compatible endpoint: set %s (and %s for endpoints other than OpenAI) in the worker's environment, or run a baseline with proposer.kind \"random\" or \"evolution\"", llm.EnvAPIKey, llm.EnvBaseURL)
	}
	if _, ok := a.prices().Lookup(in.Proposer.Model); in.NeedPrice && !ok {
		return activities.ProposeResult{}, badInput("the spec caps the cost (llm_budget.max_cost_usd) but this worker has no price for model %q: set proposer.price in the spec, or give the workers a price table with it (env %s; genius llm-prices prints the built-in one)", in.Proposer.Model, pricing.EnvTable)
	}
	out := activities.ProposeResult{Proposer: specs.ProposerLLM}
	msgs := in.Messages
	var p Prompter
	if len(msgs) == 0 || (in.Next.Kind != activities.NextText && in.Next.Kind != activities.NextPrinciples) {
		if p, err = a.prompter(in); err != nil {
			return out, err
		}
	}
	if len(msgs) == 0 {
		out.System = p.System()
		msgs = []llm.Message{{Role: llm.RoleSystem, Content: out.System}}
	}
	switch in.Next.Kind {
	case activities.NextTask:
		out.Prompt, err = p.Task(in)
	case activities.NextFeedback:
		if in.Next.Last == nil {
			return out, badInput("feedback message without the last result")
		}
		out.Prompt, err = p.Feedback(*in.Next.Last, in)
	case activities.NextText:
		out.Prompt = in.Next.Text
	case activities.NextPrinciples:
		out.Prompt = prompt.Principles
		if l := in.Next.Last; l != nil {
			out.Prompt = fmt.Sprintf("Your last proposal, %s, reached an accuracy of %s%%.\n\n%s", sp.Format(l.Arch), prompt.FormatAccuracy(l.Accuracy), out.Prompt)
		}
	default:
		return out, badInput("unknown next message kind %q", in.Next.Kind)
	}
	if err != nil {
		return out, badInput("render prompt: %v", err)
	}
	msgs = append(msgs[:len(msgs):len(msgs)], llm.Message{Role: llm.RoleUser, Content: out.Prompt})
	req := llm.Request{
		Model:       in.Proposer.Model,
		Messages:    msgs,
		Temperature: in.Proposer.Temperature,
		MaxTokens:   in.Proposer.MaxTokens,
	}
	if in.Proposer.SendSeed {
		seed := int(in.Seed) + in.Iteration
		req.Seed = &seed
	}
	resp, err := a.LLM.Chat(ctx, req)
	if err != nil {
		return out, llmError(err)
	}
	out.Reply = resp.Content
	out.Model = resp.Model
	out.PromptTokens = resp.PromptTokens
	out.CompletionTokens = resp.CompletionTokens
	out.LatencyMS = resp.Latency.Milliseconds()
	// Price the model that answered ("gpt-4-0613"), else the one asked for.
	if pr, ok := a.prices().Lookup(resp.Model); ok {
		out.Price = &pr
	} else if pr, ok := a.prices().Lookup(in.Proposer.Model); ok {
		out.Price = &pr
	}
	return out, nil
}

// llmError maps a client error onto the retry policy: bad requests are
// non-retryable application errors, the rest are retried with backoff, or
// after the server's Retry-After where it sent one.
func llmError(err error) error {
	var e *llm.Error
	if errors.As(err, &e) && !e.Retryable() {
		return temporal.NewNonRetryableApplicationError(e.Error(), activities.ErrLLMRequest, nil)
	}
	if e != nil && e.RetryAfter > 0 {
		return temporal.NewApplicationErrorWithOptions(err.Error(), activities.ErrLLMUnavailable, temporal.ApplicationErrorOptions{NextRetryDelay: e.RetryAfter})
	}
	return temporal.NewApplicationError(err.Error(), activities.ErrLLMUnavailable)
}

func (a *SearchActivities) prompter(in activities.ProposeInput) (Prompter, error) {
	load := a.Prompts
	if load == nil {
		load = LoadPrompter
	}
	p, err := load(in.Space, in.PromptDir)
	if err != nil {
		return nil, badInput("load prompts for %s: %v", in.Space, err)
	}
	return p, nil
}

// CheckProposal reads a reply: the architecture it proposes (or the
// parser's correction), whether it was measured already, and its FLOPs
// against the window.
func (a *SearchActivities) CheckProposal(ctx context.Context, in activities.CheckInput) (activities.CheckResult, error) {
	sp, err := newSpace(in.Space)
	if err != nil {
		return activities.CheckResult{}, err
	}
	arch, err := sp.Parse(in.Reply)
	if err != nil {
		// A reply without an architecture that says it cannot improve ends
		// the search; any other unreadable reply gets the correction.
		if in.GiveUp && space.IsGiveUp(in.Reply) {
			return activities.CheckResult{Outcome: activities.OutcomeGiveUp, Reason: "the model says it cannot improve further"}, nil
		}
		var c space.Corrector
		if !errors.As(err, &c) {
			return activities.CheckResult{}, fmt.Errorf("parse reply: %w", err)
		}
		return activities.CheckResult{Outcome: activities.OutcomeUnparsable, Reason: err.Error(), Feedback: c.Correction()}, nil
	}
	if err := sp.Validate(arch); err != nil {
		var c space.Corrector
		if errors.As(err, &c) {
			return activities.CheckResult{Outcome: activities.OutcomeUnparsable, Reason: err.Error(), Feedback: c.Correction()}, nil
		}
		return activities.CheckResult{}, fmt.Errorf("validate: %w", err)
	}
	res := activities.CheckResult{Arch: arch, Key: sp.Key(arch), Canonical: sp.Canonical(arch)}
	for _, m := range in.Measured {
		if m.Canonical != res.Canonical {
			continue
		}
		res.Outcome = activities.OutcomeDuplicate
		res.DuplicateOf = m.Iteration
		res.Reason = fmt.Sprintf("%s was measured in iteration %d", sp.Format(arch), m.Iteration)
		res.Feedback = duplicateFeedback(sp, arch, m)
		return res, nil
	}
	if w := in.FLOPs; w != nil {
		c, err := flops.MobileNetV2(arch, flops.Options{Input: w.Input, Classes: w.Classes})
		if err != nil {
			return activities.CheckResult{}, badInput("count FLOPs of %v: %v", arch, err)
		}
		res.FLOPsM, res.ParamsM = c.FLOPsM(), c.ParamsM()
		if fb, outcome := flopsFeedback(sp, arch, res.FLOPsM, w); outcome != "" {
			res.Outcome, res.Feedback = outcome, fb
			res.Reason = fmt.Sprintf("%.2f M FLOPs outside [%g, %g] M", res.FLOPsM, w.MinM, w.MaxM)
			if w.RoundMillions {
				res.Reason = fmt.Sprintf("%.2f M FLOPs (%g M in whole millions) outside [%g, %g] M", res.FLOPsM, w.Figure(res.FLOPsM), w.MinM, w.MaxM)
			}
			return res, nil
		}
	}
	res.Outcome = activities.OutcomeOK
	return res, nil
}

func duplicateFeedback(sp space.Space, arch space.Arch, m activities.Measured) string {
	same := ""
	if prev := space.Arch(m.Arch); !prev.Equal(arch) {
		same = fmt.Sprintf(" builds the same network as %s, which", sp.Format(prev))
	}
	return fmt.Sprintf("The architecture %s%s was already measured in iteration %d (accuracy %.2f%%). Please propose a different architecture that has not been measured yet.",
		sp.Format(arch), same, m.Iteration, m.Accuracy)
}

// flopsFeedback words a window violation with the figures the window
// compares (two decimals, or whole millions with round_millions); outcome
// is "" when f fits.
func flopsFeedback(sp space.Space, arch space.Arch, f float64, w *specs.FLOPsWindow) (string, string) {
	figure := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	if w.RoundMillions {
		figure = func(v float64) string { return fmt.Sprintf("%.0f", v) }
	}
	var where, outcome string
	switch d := w.Excess(f); {
	case d > 0:
		where, outcome = fmt.Sprintf("%s M above the upper bound of %g M", figure(d), w.MaxM), activities.OutcomeFLOPsAbove
	case d < 0:
		where, outcome = fmt.Sprintf("%s M below the lower bound of %g M", figure(-d), w.MinM), activities.OutcomeFLOPsBelow
	default:
		return "", ""
	}
	return fmt.Sprintf("The architecture %s has %s M FLOPs, %s. Please propose an architecture whose FLOPs lie between %g M and %g M.",
		sp.Format(arch), figure(w.Figure(f)), where, w.MinM, w.MaxM), outcome
}

// Evaluate looks an architecture up in its benchmark table.
func (a *SearchActivities) Evaluate(ctx context.Context, in activities.EvaluateInput) (activities.EvaluateResult, error) {
	t, err := a.table(in.Benchmark, in.Dataset)
	if err != nil {
		return activities.EvaluateResult{}, err
	}
	key := in.Key
	if key == "" {
		sp, err := newSpace(in.Space)
		if err != nil {
			return activities.EvaluateResult{}, err
		}
		key = sp.Key(in.Arch)
	}
	r, err := t.Lookup(key)
	if err != nil {
		return activities.EvaluateResult{}, badInput("%v", err)
	}
	return activities.EvaluateResult{
		Key: r.Key, Accuracy: r.Accuracy, ValAccuracy: r.ValAccuracy, TestAccuracy: r.TestAccuracy,
		Rank: r.Rank, Of: r.Of, Percentile: r.Percentile,
	}, nil
}

// RandomBaseline returns the table's exact expected best of Samples uniform
// samples and its optimum.
func (a *SearchActivities) RandomBaseline(ctx context.Context, in activities.BaselineInput) (activities.BaselineResult, error) {
	t, err := a.table(in.Benchmark, in.Dataset)
	if err != nil {
		return activities.BaselineResult{}, err
	}
	n := in.Samples
	if n < 1 {
		n = bench.DefaultSamples
	}
	mean, rank := t.RandomBaseline(n)
	return activities.BaselineResult{Samples: n, Accuracy: mean, Rank: rank, Of: t.Len(), Optimum: t.Stats().Optimum}, nil
}

func (a *SearchActivities) table(benchmark, dataset string) (*bench.Table, error) {
	if a.Catalog == nil {
		return nil, badInput("no benchmark catalog configured on this worker: configure its benchmark data directory")
	}
	t, err := a.Catalog.Get(benchmark, dataset)
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "fetch") {
			msg += " (get the tables with `genius data fetch`)"
		}
		return nil, badInput("benchmark table %s %s: %s", benchmark, dataset, msg)
	}
	return t, nil
}
