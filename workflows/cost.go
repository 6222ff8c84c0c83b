package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/pricing"
)

// account adds a proposal's tokens and cost to the search's totals. The
// price is the spec's, else the one the activity recorded with the call,
// so the cost follows from the history alone.
func (s *search) account(p activities.ProposeResult) {
	s.st.PromptTokens += p.PromptTokens
	s.st.CompletionTokens += p.CompletionTokens
	var price *pricing.Price
	switch {
	case s.spec.Proposer.Price != nil:
		price = s.spec.Proposer.Price
	case p.Price != nil:
		price = p.Price
	}
	if price == nil {
		s.st.UnpricedTokens += p.PromptTokens + p.CompletionTokens
		return
	}
	s.st.CostUSD += price.Cost(p.PromptTokens, p.CompletionTokens)
}

// capReached returns the stop reason and detail of the first spending cap
// the search has reached, or "".
func (s *search) capReached() (string, string) {
	if !s.isLLM() {
		return "", ""
	}
	if c := s.spec.TokenCap(); c > 0 {
		if n := s.st.PromptTokens + s.st.CompletionTokens; n >= c {
			return StoppedTokenCap, fmt.Sprintf("%d tokens used, cap %d (llm_budget.max_tokens)", n, c)
		}
	}
	if c := s.spec.CostCap(); c > 0 && s.st.CostUSD >= c {
		return StoppedCostCap, fmt.Sprintf("$%.4f spent, cap $%.4f (llm_budget.max_cost_usd)", s.st.CostUSD, c)
	}
	return "", ""
}

// fillCost copies the totals into a result finished before the last LLM
// call (the principles step).
func (s *search) fillCost(r *SearchResult) {
	r.PromptTokens, r.CompletionTokens = s.st.PromptTokens, s.st.CompletionTokens
	r.CostUSD, r.UnpricedTokens = s.st.CostUSD, s.st.UnpricedTokens
}

// upsertCost updates LLMCostAttribute when the cost changed.
func (s *search) upsertCost(ctx workflow.Context) error {
	if !s.costAttribute || s.st.CostUSD == s.costUpserted {
		return nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, LLMCostAttribute.ValueSet(s.st.CostUSD)); err != nil {
		return fmt.Errorf("upsert search attribute %s (set spec search_attributes false if the namespace lacks it): %w", LLMCostAttribute.GetName(), err)
	}
	s.costUpserted = s.st.CostUSD
	return nil
}
