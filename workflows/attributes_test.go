package workflows_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/workflows"
)

func TestSearchAttributesTrackBest(t *testing.T) {
	h := newHarness(t)
	var bench, proposer []string
	var best []float64
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(workflows.BenchmarkAttribute); ok {
			bench = append(bench, v)
		}
		if v, ok := sa.GetKeyword(workflows.ProposerAttribute); ok {
			proposer = append(proposer, v)
		}
		if v, ok := sa.GetFloat64(workflows.BestAccuracyAttribute); ok {
			best = append(best, v)
		}
	}).Return(nil)
	s := randomSpec(5)
	s.Dataset = "cifar10"
	res := h.mustRun(s)
	if !slices.Equal(bench, []string{"nas-bench-macro/cifar10"}) || !slices.Equal(proposer, []string{"random"}) {
		t.Errorf("benchmark %v proposer %v", bench, proposer)
	}
	if len(best) == 0 || best[len(best)-1] != res.Best.Accuracy || !slices.IsSorted(best) {
		t.Errorf("best accuracy upserts %v, final best %v", best, res.Best.Accuracy)
	}

	// With search_attributes false nothing is upserted.
	h2 := newHarness(t)
	calls := 0
	h2.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { calls++ }).Return(nil).Maybe()
	off := false
	s.SearchAttributes = &off
	h2.mustRun(s)
	if calls != 0 {
		t.Errorf("%d upserts with search_attributes false", calls)
	}
}

func TestDevServerFlags(t *testing.T) {
	want := []string{
		"--search-attribute", "GeniusBenchmark=Keyword",
		"--search-attribute", "GeniusProposer=Keyword",
		"--search-attribute", "GeniusBestAccuracy=Double",
		"--search-attribute", "GeniusLLMCostUSD=Double",
	}
	if got := workflows.DevServerSearchAttributeFlags(); !slices.Equal(got, want) {
		t.Errorf("flags %v", got)
	}
}
