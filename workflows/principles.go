package workflows

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
)

// principles asks the model, in the search's newest conversation, which
// design principles it followed (spec principles, the paper's section
// 5.3). A failure is reported in the answer: the search's result stands.
func (s *search) principles(ctx workflow.Context, stopped string) *Principles {
	p := &Principles{AfterIteration: s.st.Done}
	s.drainStop()
	if s.stopAsked {
		p.Skipped = "the search was stopped (" + s.stopReason + ")"
		return p
	}
	if reason, _ := s.capReached(); reason != "" {
		p.Skipped = "the search reached its spending cap (" + reason + ")"
		return p
	}
	msgs := s.lastChat
	if len(msgs) == 0 {
		msgs = s.st.Conversation
	}
	if len(msgs) == 0 {
		p.Skipped = "no conversation with the model to continue"
		return p
	}
	next := activities.Next{Kind: activities.NextPrinciples}
	// The model has not yet heard how its last proposal did when the
	// last iteration was measured (a give-up reply follows the results).
	if n := len(s.st.Iterations); n > 0 && stopped != StoppedGiveUp && s.st.Iterations[n-1].Iteration == s.st.Done {
		last := s.measured()[n-1]
		next.Last = &last
	}
	s.phase, s.attempt = PhasePrinciples, 0
	defer func() { s.phase = PhaseDone }()
	out, err := s.propose(s.st.Done, 1, s.measured(), slices.Clip(msgs), next)
	if err != nil {
		if s.stopAsked && temporal.IsCanceledError(err) {
			p.Error = "cancelled by the " + s.stopReason
		} else {
			p.Error = err.Error()
		}
		return p
	}
	s.account(out)
	p.Prompt, p.Reply, p.Model = out.Prompt, out.Reply, out.Model
	p.PromptTokens, p.CompletionTokens = out.PromptTokens, out.CompletionTokens
	return p
}
