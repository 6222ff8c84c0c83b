package searchact

import (
	"math/rand/v2"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
)

// maxDraws bounds the rejection sampling of the baselines (unmeasured and,
// after repair, inside the FLOPs window).
const maxDraws = 100000

// baselineRNG seeds a generator from (seed, iteration, attempt) so that a
// retried or replayed Propose returns the same proposal and every attempt a
// different one.
func baselineRNG(in activities.ProposeInput) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(in.Seed), uint64(in.Iteration)<<32|uint64(uint32(in.Attempt))))
}

// baseline proposes with the random or evolution proposer. Both skip
// architectures already measured and, with a FLOPs window, architectures
// outside it, so they rarely need the constraint loop; what they cannot
// avoid (no candidate left) the loop still catches.
func baseline(sp space.Space, in activities.ProposeInput) space.Arch {
	r := baselineRNG(in)
	seen := make(map[string]bool, len(in.History))
	for _, h := range in.History {
		seen[h.Canonical] = true
	}
	win := newWindow(sp, in.FLOPs)
	ok := func(a space.Arch) bool {
		return !seen[sp.Canonical(a)] && win.fits(a)
	}
	if in.Proposer.Kind == specs.ProposerEvolution {
		if a := evolve(sp, in, r, ok); a != nil {
			return a
		}
	}
	return sample(sp, r, win, ok)
}

func sample(sp space.Space, r *rand.Rand, win *window, ok func(space.Arch) bool) space.Arch {
	var a space.Arch
	for range maxDraws {
		a = sp.Sample(r)
		if win != nil {
			a = win.repair(a, r)
		}
		if ok(a) {
			return a
		}
	}
	return a
}

// evolve is one step of regularized evolution (Real et al., 2019): the
// population is the newest Population measured architectures (older ones
// have aged out); Sample of them are drawn, the most accurate is the
// parent, and the child is a random unmeasured neighbour (one position
// changed). It returns nil while the population is still being filled with
// random samples or when the parent has no acceptable neighbour.
func evolve(sp space.Space, in activities.ProposeInput, r *rand.Rand, ok func(space.Arch) bool) space.Arch {
	p, s := in.Proposer.Population, in.Proposer.Sample
	if p < 1 || len(in.History) < p {
		return nil
	}
	pop := in.History[len(in.History)-p:]
	s = max(1, min(s, p))
	parent := -1
	for _, idx := range r.Perm(p)[:s] {
		if parent < 0 || pop[idx].Accuracy > pop[parent].Accuracy {
			parent = idx
		}
	}
	nb := sp.Neighbours(space.Arch(pop[parent].Arch))
	for _, i := range r.Perm(len(nb)) {
		if ok(nb[i]) {
			return nb[i]
		}
	}
	return nil
}

// window tests architectures against a FLOPs window. It sums the per-slot
// table, which adds up to the full count, and confirms near the bounds with
// the exact counter, so sampling stays fast.
type window struct {
	w     *specs.FLOPsWindow
	opts  flops.Options
	t     flops.SlotTable
	fixed float64
}

// newWindow returns nil without a window (or outside the ImageNet space).
func newWindow(sp space.Space, w *specs.FLOPsWindow) *window {
	if w == nil || sp.Name() != space.ImageNetName {
		return nil
	}
	opts := flops.Options{Input: w.Input, Classes: w.Classes}
	win := &window{w: w, opts: opts, t: flops.Slots(opts)}
	for _, f := range win.t.Fixed {
		win.fixed += f.MFLOPs
	}
	return win
}

func (w *window) cost(pos, op int) float64 {
	st, slot := pos/flops.SlotsPerStage, pos%flops.SlotsPerStage
	if slot == 0 {
		return w.t.First[st][op]
	}
	return w.t.Rest[st][op]
}

func (w *window) approx(a space.Arch) float64 {
	f := w.fixed
	for i, op := range a {
		f += w.cost(i, op)
	}
	return f
}

const windowMargin = 0.01 // M; far above the per-slot tables' rounding

func (w *window) fits(a space.Arch) bool {
	if w == nil {
		return true
	}
	f := w.approx(a)
	slack := windowMargin
	if w.w.RoundMillions {
		slack += 0.5 // rounding lets up to half a million past either bound
	}
	if f < w.w.MinM-slack || f > w.w.MaxM+slack {
		return false
	}
	if f > w.w.MinM+windowMargin && f < w.w.MaxM-windowMargin {
		return true
	}
	c, err := flops.MobileNetV2(a, w.opts)
	return err == nil && w.w.Contains(c.FLOPsM())
}

// repair moves a into the window by random single-slot changes: while it
// is too expensive a random slot gets a random cheaper operator, while too
// cheap a random dearer one. Uniform samples of the ImageNet space almost
// never fit a budget (about 1 in 200,000 for [280, 330] M), so the random
// baseline under a window is "uniform sample, then random repair".
func (w *window) repair(a space.Arch, r *rand.Rand) space.Arch {
	a = a.Clone()
	for range 10000 {
		f := w.approx(a)
		var above bool
		switch {
		case f > w.w.MaxM:
			above = true
		case f < w.w.MinM:
		default:
			return a
		}
		i := r.IntN(len(a))
		var choices []int
		for op := range flops.Ops {
			c, cur := w.cost(i, op), w.cost(i, a[i])
			if (above && c < cur) || (!above && c > cur) {
				choices = append(choices, op)
			}
		}
		if len(choices) > 0 {
			a[i] = choices[r.IntN(len(choices))]
		}
	}
	return a
}
