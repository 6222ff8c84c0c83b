package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/pricing"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// Render writes the trail for a reader: the spec, then each prompt and
// reply (with tokens and latency), proposal check (with FLOPs) and
// measurement in order, signals, Continue-As-New, and the result.
func Render(w io.Writer, t *Trail) error {
	p := &printer{w: w}
	p.f("%s %s, %d run(s), %s\n", t.WorkflowType, orDash(t.WorkflowID), len(t.RunIDs), t.Status)
	if t.WorkflowType == workflows.SearchName {
		var in workflows.SearchInput
		if json.Unmarshal(t.Input, &in) == nil {
			s := in.Spec.WithDefaults()
			p.spec = &s
			p.f("spec: space %s", s.Space)
			if s.Benchmark != "" {
				p.f(", benchmark %s", s.Benchmark)
			}
			if s.Dataset != "" {
				p.f("/%s", s.Dataset)
			}
			p.f(", proposer %s", s.Proposer.Kind)
			if s.Proposer.Kind == "llm" {
				p.f(" (%s, temperature %g)", s.Proposer.Model, s.Proposer.Temperature)
				p.price = s.Proposer.Price
			}
			p.f(", %d iterations, %d attempts each, conversation %s", s.Iterations, s.MaxAttempts, s.Conversation)
			if f := s.FLOPs; f != nil {
				p.f(", FLOPs window %g–%g M", f.MinM, f.MaxM)
				if f.RoundMillions {
					p.f(" in whole millions")
				}
			}
			if s.Proposer.Kind == "llm" {
				if c := s.TokenCap(); c > 0 {
					p.f(", token cap %d", c)
				}
				if c := s.CostCap(); c > 0 {
					p.f(", cost cap $%.4f", c)
				}
				if s.Principles {
					p.f(", asks for its design principles at the end")
				}
			}
			p.f("\n")
		}
	} else if len(t.Input) > 0 {
		p.f("input: %s\n", compact(t.Input))
	}
	for _, s := range t.Steps {
		p.step(s)
	}
	p.f("\n")
	switch {
	case len(t.Result) > 0:
		p.result(t)
	case t.Failure != "":
		p.f("%s: %s\n", t.Status, t.Failure)
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
	// price is the spec's proposer.price, which overrides the price each
	// proposal recorded.
	price *pricing.Price
	// spec is the search's spec: it fills in what local activity steps
	// do not record (their input).
	spec *specs.Spec
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// block writes a labelled multi-line text, indented.
func (p *printer) block(label, text string) {
	p.f("  %s:\n", label)
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		p.f("    %s\n", line)
	}
}

func (p *printer) step(s Step) {
	switch s.Kind {
	case KindSignal:
		p.f("\nsignal %q at %s: %s\n", s.Name, s.Time.Format(time.RFC3339), orDash(string(s.Input)))
		return
	case KindContinuedAsNew:
		p.f("\n— run %d continued as new (run %s) —\n", s.Run, s.Name)
		return
	case KindChild:
		p.f("\nchild %s %s", s.Name, s.WorkflowID)
		if s.Status != StatusCompleted {
			p.failed(s)
			return
		}
		var r workflows.SearchResult
		if s.Name == workflows.SearchName && json.Unmarshal(s.Result, &r) == nil && r.Best != nil {
			p.f(": %d iterations, stopped: %s, best %s accuracy %.2f", len(r.Iterations), r.Stopped, ints(r.Best.Arch), r.Best.Accuracy)
			if r.Best.Rank > 0 {
				p.f(" rank %d", r.Best.Rank)
			}
			p.f(" (genius audit --workflow-id %s)\n", s.WorkflowID)
			return
		}
		if s.Name == workflows.TransferName {
			p.f(": ")
			if p.transferLine(s.Result) {
				p.f(" (genius audit --workflow-id %s)\n", s.WorkflowID)
				return
			}
		}
		p.f(" → %s\n", compact(s.Result))
		return
	}
	failed := s.Status != StatusCompleted
	switch s.Name {
	case activities.ProposeName:
		var in activities.ProposeInput
		var out activities.ProposeResult
		_ = json.Unmarshal(s.Input, &in)
		_ = json.Unmarshal(s.Result, &out)
		if in.Next.Kind == activities.NextPrinciples {
			p.f("\n── design principles, asked after iteration %d", in.Iteration)
		} else {
			p.f("\n── iteration %d/%d, attempt %d: proposal from %s", in.Iteration, in.Total, in.Attempt, orDash(in.Proposer.Kind))
		}
		if out.Model != "" {
			p.f(" (%s)", out.Model)
		}
		if out.PromptTokens+out.CompletionTokens > 0 {
			p.f(", %d prompt + %d completion tokens", out.PromptTokens, out.CompletionTokens)
			price := out.Price
			if p.price != nil {
				price = p.price
			}
			if price != nil {
				p.f(" ($%.4f)", price.Cost(out.PromptTokens, out.CompletionTokens))
			} else {
				p.f(" (no price)")
			}
		}
		p.f(", %d ms", out.LatencyMS)
		p.attempt(s)
		p.f("\n")
		if failed {
			p.failed(s)
			return
		}
		if out.System != "" {
			p.block("system", out.System)
		}
		if out.Prompt != "" {
			p.block("prompt", out.Prompt)
		}
		p.block("reply", out.Reply)
	case activities.CheckProposalName:
		var in activities.CheckInput
		var out activities.CheckResult
		_ = json.Unmarshal(s.Input, &in)
		_ = json.Unmarshal(s.Result, &out)
		if s.Local && p.spec != nil {
			in.FLOPs = p.spec.FLOPs
		}
		if failed {
			p.f("  check:")
			p.failed(s)
			return
		}
		p.f("  check: %s", out.Outcome)
		if len(out.Arch) > 0 {
			p.f(", arch %s", ints(out.Arch))
		}
		if out.Key != "" {
			p.f(", key %s", out.Key)
		}
		if out.FLOPsM > 0 {
			p.f(", %.2f M FLOPs", out.FLOPsM)
			if in.FLOPs != nil {
				p.f(" (window %g–%g M", in.FLOPs.MinM, in.FLOPs.MaxM)
				if in.FLOPs.RoundMillions {
					p.f(" in whole millions")
				}
				p.f(")")
			}
		}
		if out.ParamsM > 0 {
			p.f(", %.2f M parameters", out.ParamsM)
		}
		if out.DuplicateOf > 0 {
			p.f(", same network as iteration %d", out.DuplicateOf)
		}
		if out.Reason != "" {
			p.f(": %s", out.Reason)
		}
		p.f("\n")
		if out.Outcome != activities.OutcomeOK && out.Feedback != "" {
			p.block("sent back", out.Feedback)
		}
	case activities.EvaluateName:
		var in activities.EvaluateInput
		var out activities.EvaluateResult
		_ = json.Unmarshal(s.Input, &in)
		_ = json.Unmarshal(s.Result, &out)
		if s.Local && p.spec != nil {
			in.Benchmark, in.Key = p.spec.Benchmark, out.Key
		}
		if failed {
			p.f("  measured %s:", in.Key)
			p.failed(s)
			return
		}
		p.f("  measured: %s %s accuracy %.2f", in.Benchmark, orDash(out.Key), out.Accuracy)
		if out.TestAccuracy > 0 {
			p.f(" (test %.2f)", out.TestAccuracy)
		}
		if out.Rank > 0 {
			p.f(", rank %d of %d", out.Rank, out.Of)
		}
		p.f("\n")
	case activities.ProxyTrainName:
		var in activities.ProxyTrainInput
		var out activities.TrainResult
		_ = json.Unmarshal(s.Input, &in)
		_ = json.Unmarshal(s.Result, &out)
		p.f("  proxy training of %s", ints(in.Arch))
		p.attempt(s)
		if failed {
			p.failed(s)
			return
		}
		p.f(": top-1 %.2f%%, top-5 %.2f%%, loss %.4f, %d steps, %.1f s", 100*out.Top1, 100*out.Top5, out.Loss, out.Steps, s.Duration.Seconds())
		if out.HeldOut != "" {
			p.f(", validated on %s", out.HeldOut)
		}
		if out.Checkpoint != "" {
			p.f(", checkpoint %s", out.Checkpoint)
		}
		p.f("\n")
	default:
		p.f("\n%s", s.Name)
		p.attempt(s)
		p.f(": %s", compact(s.Input))
		if failed {
			p.failed(s)
			return
		}
		p.f(" → %s\n", compact(s.Result))
	}
}

func (p *printer) attempt(s Step) {
	if s.Attempt > 1 {
		p.f(" [attempt %d]", s.Attempt)
	}
}

func (p *printer) failed(s Step) {
	if s.Status == StatusPending {
		p.f(" pending (no result yet)\n")
		return
	}
	p.f(" %s after %s: %s\n", s.Status, s.Duration.Round(time.Millisecond), orDash(s.Failure))
}

func (p *printer) result(t *Trail) {
	if t.WorkflowType == workflows.ExperimentName {
		p.experiment(t)
		return
	}
	if t.WorkflowType == workflows.TransferName {
		p.transferResult(t)
		return
	}
	if t.WorkflowType != workflows.SearchName {
		p.f("result: %s\n", compact(t.Result))
		return
	}
	var r workflows.SearchResult
	if err := json.Unmarshal(t.Result, &r); err != nil {
		p.f("result: %s\n", compact(t.Result))
		return
	}
	p.f("result: %d iterations measured, %d failed, stopped: %s", len(r.Iterations), len(r.Failures), r.Stopped)
	if r.StopDetail != "" {
		p.f(" (%s)", r.StopDetail)
	}
	p.f("\n")
	if b := r.Best; b != nil {
		p.f("best: iteration %d, arch %s, accuracy %.2f", b.Iteration, ints(b.Arch), b.Accuracy)
		if b.TestAccuracy > 0 {
			p.f(" (test %.2f)", b.TestAccuracy)
		}
		if b.Rank > 0 {
			p.f(", rank %d", b.Rank)
		}
		p.f("\n")
	}
	if r.PromptTokens+r.CompletionTokens > 0 {
		p.f("tokens: %d prompt + %d completion, cost $%.4f", r.PromptTokens, r.CompletionTokens, r.CostUSD)
		if r.UnpricedTokens > 0 {
			p.f(" (%d tokens of a model without a price are not counted)", r.UnpricedTokens)
		}
		p.f("\n")
	}
	if pr := r.Principles; pr != nil {
		switch {
		case pr.Skipped != "":
			p.f("design principles: not asked: %s\n", pr.Skipped)
		case pr.Error != "":
			p.f("design principles: asking failed: %s\n", pr.Error)
		default:
			p.f("design principles (after iteration %d):\n", pr.AfterIteration)
			for _, line := range strings.Split(strings.TrimRight(pr.Reply, "\n"), "\n") {
				p.f("  %s\n", line)
			}
		}
	}
}

func ints(a []int) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "-"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	s := b.String()
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (p *printer) experiment(t *Trail) {
	var r workflows.ExperimentResult
	if err := json.Unmarshal(t.Result, &r); err != nil {
		p.f("result: %s\n", compact(t.Result))
		return
	}
	p.f("result: %d trials of %s on %s", len(r.Trials), r.Proposer, orDash(r.Benchmark))
	if r.Stopped != "" {
		p.f(", stopped: %s", r.Stopped)
	}
	p.f("\nbest per trial: mean %.2f, std %.2f\n", r.Best.AccuracyMean, r.Best.AccuracyStd)
	if r.PromptTokens+r.CompletionTokens > 0 {
		p.f("tokens (all trials): %d prompt + %d completion, cost $%.4f\n", r.PromptTokens, r.CompletionTokens, r.CostUSD)
	}
	if b := r.RandomBaseline; b != nil {
		p.f("random baseline (best of %d uniform samples): %.2f, expected rank %.0f of %d\n", b.Samples, b.Accuracy, b.Rank, b.Of)
	}
}
