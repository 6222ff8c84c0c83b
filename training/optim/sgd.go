package optim

import (
	"math"
	"sort"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// SGDOptions configures SGD. Zero values mean "off".
type SGDOptions struct {
	// Momentum factor (the paper uses 0.9).
	Momentum float64
	// Nesterov selects Nesterov momentum (final retraining in the paper).
	Nesterov bool
	// WeightDecay is L2 decay added to the gradient of parameters whose
	// Decay flag is set (convolution and linear weights; not BN or biases).
	WeightDecay float64
	// ClipNorm, when > 0, scales the gradients so their global L2 norm is
	// at most ClipNorm.
	ClipNorm float64
}

// SGD is stochastic gradient descent as torch.optim.SGD computes it:
// g += wd*w; v = m*v + g; w -= lr * (nesterov ? g + m*v : v).
type SGD struct {
	Options  SGDOptions
	params   []*nn.Param
	Velocity [][]float32
	be       tensor.Backend
	offsets  []int // prefix sums of parameter sizes, to split work evenly
}

// NewSGD returns an optimiser over params with zero momentum buffers.
func NewSGD(be tensor.Backend, params []*nn.Param, o SGDOptions) *SGD {
	s := &SGD{Options: o, params: params, be: be, Velocity: make([][]float32, len(params))}
	s.offsets = make([]int, len(params)+1)
	for i, p := range params {
		s.Velocity[i] = make([]float32, len(p.W))
		s.offsets[i+1] = s.offsets[i] + len(p.W)
	}
	return s
}

// GradNorm is the global L2 norm of the gradients.
func GradNorm(params []*nn.Param) float64 {
	var s float64
	for _, p := range params {
		var ps float32
		for _, g := range p.G {
			ps += g * g
		}
		s += float64(ps)
	}
	return math.Sqrt(s)
}

// Step applies one update with learning rate lr and returns the gradient
// norm before clipping (0 when clipping is off and nothing asked for it).
func (s *SGD) Step(lr float64) float64 {
	o := s.Options
	var norm float64
	scale := float32(1)
	if o.ClipNorm > 0 {
		norm = GradNorm(s.params)
		if norm > o.ClipNorm {
			scale = float32(o.ClipNorm / (norm + 1e-6))
		}
	}
	m, l := float32(o.Momentum), float32(lr)
	// Split the flattened parameters evenly: sizes range from a few
	// floats to the head's 400k.
	s.be.For(s.offsets[len(s.params)], 1<<18, func(lo, hi int) {
		i := sort.SearchInts(s.offsets, lo+1) - 1
		for ; i < len(s.params) && s.offsets[i] < hi; i++ {
			p := s.params[i]
			a, b := max(lo-s.offsets[i], 0), min(hi-s.offsets[i], len(p.W))
			wd := float32(0)
			if p.Decay {
				wd = float32(o.WeightDecay)
			}
			w, g, v := p.W[a:b], p.G[a:b], s.Velocity[i][a:b]
			if m == 0 {
				for j := range w {
					w[j] -= l * (g[j]*scale + wd*w[j])
				}
				continue
			}
			s.be.SGDMomentum(w, g, v, l, m, wd, scale, o.Nesterov)
		}
	})
	return norm
}
