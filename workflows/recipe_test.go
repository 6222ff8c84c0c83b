package workflows_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/recipe"
)

// TestProxyTrainTakesTheSpecsRecipe: every recipe setting of
// evaluator.train reaches proxy training, and each candidate's seed is
// derived from the search's.
func TestProxyTrainTakesTheSpecsRecipe(t *testing.T) {
	h := newHarness(t)
	var (
		mu  sync.Mutex
		ins []activities.ProxyTrainInput
	)
	h.env.RegisterActivityWithOptions(func(ctx context.Context, in activities.ProxyTrainInput) (activities.TrainResult, error) {
		mu.Lock()
		ins = append(ins, in)
		mu.Unlock()
		return fakeProxyTrain(ctx, in)
	}, proxyTrainOptions)
	s := baseSpec("imagenet-cpu-demo")
	s.Iterations = 2
	want := recipe.Recipe{Epochs: 1, Steps: 2, Batch: 8, MicroBatch: 4, LR: 0.2, Momentum: 0.8, Nesterov: true, WeightDecay: 4e-5,
		LabelSmoothing: 0.1, WarmupEpochs: 0.5, EMADecay: 0.99, ClipNorm: 5, Dropout: 0.1, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.2}
	s.Evaluator.Train.Recipe = want
	if err := s.WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	res := h.mustRun(s)
	if len(ins) != 2 || len(res.Iterations) != 2 {
		t.Fatalf("%d proxy trainings, want 2", len(ins))
	}
	for i, in := range ins {
		if in.Recipe != want {
			t.Errorf("candidate %d trained with %+v, want %+v", i, in.Recipe, want)
		}
		n := int64(res.Iterations[i].Iteration)
		if in.SplitSeed == nil || in.Seed != s.Seed*1000+n || *in.SplitSeed != s.Seed {
			t.Errorf("candidate %d: seed %d, split seed %v; want %d and %d", i, in.Seed, in.SplitSeed, s.Seed*1000+n, s.Seed)
		}
		if in.Input != 32 || in.Classes != 10 || !slices.Equal(in.Arch, res.Iterations[i].Arch) {
			t.Errorf("candidate %d: input %d, classes %d, arch %v", i, in.Input, in.Classes, in.Arch)
		}
	}
}
