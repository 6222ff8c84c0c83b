package searchact

import (
	"context"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
)

// BenchmarkSearchStep is one iteration of the search loop as plain calls
// (baseline proposal, check, look-up): the work a GeniusSearch iteration
// does besides Temporal's own overhead.
func BenchmarkSearchStep(b *testing.B) {
	a := &SearchActivities{Catalog: bench.NewCatalog(dataDir(b))}
	ctx := context.Background()
	if _, err := a.RandomBaseline(ctx, activities.BaselineInput{Benchmark: "nas-bench-macro"}); err != nil {
		b.Fatal(err) // loads the table outside the timer
	}
	b.ResetTimer()
	for i := range b.N {
		p, err := a.Propose(ctx, activities.ProposeInput{Space: "nas-bench-macro", Proposer: specs.Proposer{Kind: specs.ProposerRandom}, Iteration: i, Attempt: 1})
		if err != nil {
			b.Fatal(err)
		}
		c, err := a.CheckProposal(ctx, activities.CheckInput{Space: "nas-bench-macro", Reply: p.Reply})
		if err != nil || c.Outcome != activities.OutcomeOK {
			b.Fatal(err, c.Outcome)
		}
		if _, err := a.Evaluate(ctx, activities.EvaluateInput{Benchmark: "nas-bench-macro", Key: c.Key}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRandomInFLOPsWindow is the random baseline's proposal under the
// imagenet-300m window (sample, repair, confirm).
func BenchmarkRandomInFLOPsWindow(b *testing.B) {
	a := &SearchActivities{}
	w := &specs.FLOPsWindow{MinM: 280, MaxM: 330, Input: 224, Classes: 1000}
	for i := range b.N {
		if _, err := a.Propose(context.Background(), activities.ProposeInput{Space: space.ImageNetName, Proposer: specs.Proposer{Kind: specs.ProposerRandom}, FLOPs: w, Iteration: i, Attempt: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckImageNet parses stage lines and counts FLOPs.
func BenchmarkCheckImageNet(b *testing.B) {
	a := &SearchActivities{}
	sp, _ := space.New(space.ImageNetName)
	in := activities.CheckInput{Space: space.ImageNetName, Reply: sp.Format(genius329), FLOPs: &specs.FLOPsWindow{MinM: 280, MaxM: 330, Input: 224, Classes: 1000}}
	for range b.N {
		if c, err := a.CheckProposal(context.Background(), in); err != nil || c.Outcome != activities.OutcomeOK {
			b.Fatal(err, c.Outcome)
		}
	}
}
