package specs

import "testing"

func TestLLMBudgetAndPrinciples(t *testing.T) {
	s, err := Parse([]byte(`{"space":"nas-bench-macro","llm_budget":{"max_tokens":5000,"max_cost_usd":2.5},"principles":true,
		"proposer":{"price":{"prompt_usd_per_mtok":3,"completion_usd_per_mtok":15}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.TokenCap() != 5000 || s.CostCap() != 2.5 || !s.Principles || s.Proposer.Price.CompletionUSDPerMTok != 15 {
		t.Errorf("parsed %+v, budget %+v", s, s.LLMBudget)
	}
	if none := (Spec{}); none.TokenCap() != 0 || none.CostCap() != 0 {
		t.Error("a spec without llm_budget has caps")
	}
	for _, tt := range []struct{ json, field, fix string }{
		{`{"space":"nas-bench-macro","llm_budget":{"max_tokens":-1}}`, "llm_budget.max_tokens", "0 (no cap)"},
		{`{"space":"nas-bench-macro","llm_budget":{"max_cost_usd":-0.5}}`, "llm_budget.max_cost_usd", "US dollars"},
		{`{"space":"nas-bench-macro","proposer":{"price":{"prompt_usd_per_mtok":-1,"completion_usd_per_mtok":1}}}`, "proposer.price", "per million tokens"},
		{`{"space":"nas-bench-macro","llm_budget":{"max_dollars":3}}`, "max_dollars", "schema.json"},
	} {
		if _, err := Parse([]byte(tt.json)); !namesField(err, tt.field, tt.fix) {
			t.Errorf("%s: error %v does not name %q with %q", tt.json, err, tt.field, tt.fix)
		}
	}
}
