package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// TiedConv is one convolution applied to several inputs with the same
// parameters, as RetinaNet's subnets run on every pyramid level. Each use
// is a Conv with its own buffers (the inputs are live at the same time)
// that adds its parameter gradients into the shared ones.
type TiedConv struct {
	Weight, Bias *Param
	uses         []*Conv
}

// NewTiedConv returns a convolution with uses separate applications.
func NewTiedConv(be tensor.Backend, r *rand.Rand, s ConvSpec, uses int) *TiedConv {
	if uses < 1 {
		panic(fmt.Sprintf("nn: tied conv needs at least one use, got %d", uses))
	}
	first := NewConv(be, r, s)
	t := &TiedConv{Weight: first.Weight, Bias: first.Bias}
	for i := 0; i < uses; i++ {
		c := first
		if i > 0 {
			c = &Conv{ConvSpec: first.ConvSpec, Weight: first.Weight, Bias: first.Bias, be: be}
		}
		c.Accumulate = true
		t.uses = append(t.uses, c)
	}
	return t
}

// Use returns the i-th application (a Layer over the shared parameters).
func (t *TiedConv) Use(i int) *Conv { return t.uses[i] }

// Uses is the number of applications.
func (t *TiedConv) Uses() int { return len(t.uses) }

// ZeroGrad clears the shared gradients; call it before the backward passes
// of the uses, which add to them.
func (t *TiedConv) ZeroGrad() {
	for _, p := range t.Params() {
		clear(p.G)
	}
}

// Params lists the shared parameters.
func (t *TiedConv) Params() []*Param { return t.uses[0].Params() }
