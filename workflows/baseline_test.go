package workflows_test

import (
	"reflect"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

func randomSpec(seed int64) specs.Spec {
	s := baseSpec("nas-bench-macro")
	s.Proposer = specs.Proposer{Kind: specs.ProposerRandom}
	s.Seed = seed
	return s.WithDefaults()
}

func TestRandomSearchMeasuresTenDistinctArchitectures(t *testing.T) {
	h := newHarness(t)
	res := h.mustRun(randomSpec(7))
	if res.Stopped != workflows.StoppedBudget || len(res.Iterations) != 10 {
		t.Fatalf("stopped %q after %d iterations", res.Stopped, len(res.Iterations))
	}
	tbl, err := sharedCatalog(t).Get("nas-bench-macro", "")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := space.New("nas-bench-macro")
	seen := map[string]bool{}
	best := res.Iterations[0]
	for i, it := range res.Iterations {
		if it.Iteration != i+1 || it.Attempts != 1 {
			t.Errorf("iteration %d: index %d attempts %d", i+1, it.Iteration, it.Attempts)
		}
		if seen[it.Canonical] {
			t.Errorf("iteration %d repeats %v", it.Iteration, it.Arch)
		}
		seen[it.Canonical] = true
		want, err := tbl.Lookup(sp.Key(it.Arch))
		if err != nil {
			t.Fatal(err)
		}
		if it.Accuracy != want.Accuracy || it.Rank != want.Rank || it.Key != want.Key {
			t.Errorf("iteration %d: %v got accuracy %v rank %d, table says %v %d", it.Iteration, it.Arch, it.Accuracy, it.Rank, want.Accuracy, want.Rank)
		}
		if it.Accuracy > best.Accuracy {
			best = it
		}
	}
	if res.Best == nil || res.Best.Accuracy != best.Accuracy || !reflect.DeepEqual(res.Best.Arch, best.Arch) {
		t.Errorf("best %+v, want iteration %d %v", res.Best, best.Iteration, best.Accuracy)
	}
	if n := len(h.srv.Requests()); n != 0 {
		t.Errorf("random proposer sent %d LLM requests", n)
	}
	var p workflows.Progress
	v, err := h.env.QueryWorkflow(workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Get(&p); err != nil {
		t.Fatal(err)
	}
	if p.Done != 10 || p.Phase != workflows.PhaseDone || p.Stopped != workflows.StoppedBudget || p.Best == nil || p.Last == nil || p.Last.Iteration != 10 {
		t.Errorf("progress %+v", p)
	}
}

func TestRandomSearchIsDeterministicPerSeed(t *testing.T) {
	archs := func(seed int64) [][]int {
		res := newHarness(t).mustRun(randomSpec(seed))
		var a [][]int
		for _, it := range res.Iterations {
			a = append(a, it.Arch)
		}
		return a
	}
	a, b, c := archs(3), archs(3), archs(4)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different proposals:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 3 and 4 proposed the same sequence %v", a)
	}
}

func TestEvolutionMutatesTournamentWinners(t *testing.T) {
	h := newHarness(t)
	s := baseSpec("channel-bench-resnet")
	s.Proposer = specs.Proposer{Kind: specs.ProposerEvolution, Population: 4, Sample: 2}
	s.Iterations = 12
	s.Seed = 11
	res := h.mustRun(s.WithDefaults())
	if len(res.Iterations) != 12 {
		t.Fatalf("%d iterations", len(res.Iterations))
	}
	for i := 4; i < len(res.Iterations); i++ {
		child := res.Iterations[i]
		// The parent is one of the previous four (the population).
		ok := false
		for _, p := range res.Iterations[i-4 : i] {
			if diff(p.Arch, child.Arch) == 1 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("iteration %d %v is not a one-position mutation of the population", child.Iteration, child.Arch)
		}
	}
}

func diff(a, b []int) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func TestRandomBaselineRespectsFLOPsWindow(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterActivityWithOptions(fakeProxyTrain, proxyTrainOptions)
	s := baseSpec("imagenet-cpu-demo")
	s.Iterations = 3
	res := h.mustRun(s)
	if len(res.Iterations) != 3 {
		t.Fatalf("%+v", res)
	}
	for _, it := range res.Iterations {
		if !s.FLOPs.Contains(it.FLOPsM) || it.Attempts != 1 {
			t.Errorf("iteration %d: %.2f M FLOPs after %d attempts, window [%g, %g]", it.Iteration, it.FLOPsM, it.Attempts, s.FLOPs.MinM, s.FLOPs.MaxM)
		}
		if it.Accuracy <= 0 {
			t.Errorf("iteration %d has no accuracy", it.Iteration)
		}
	}
}
