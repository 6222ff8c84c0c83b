package nn

import (
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// SE is squeeze-and-excitation: global average pool, 1x1 conv C->Mid with
// bias, ReLU, 1x1 conv Mid->C with bias, hard-sigmoid gate, and the input
// scaled per channel by the gate.
type SE struct {
	C, Mid int
	pool   *GlobalAvgPool
	gate   *Sequential

	be    tensor.Backend
	x, s  *tensor.Tensor
	y, dx *tensor.Tensor
	ds    *tensor.Tensor
}

// NewSE returns squeeze-and-excitation over c channels with mid channels in
// the bottleneck.
func NewSE(be tensor.Backend, r *rand.Rand, c, mid int) *SE {
	return &SE{C: c, Mid: mid, be: be, pool: NewGlobalAvgPool(be),
		gate: NewSequential(
			NewConv(be, r, ConvSpec{In: c, Out: mid, K: 1, Bias: true}),
			NewAct(be, ReLU),
			NewConv(be, r, ConvSpec{In: mid, Out: c, K: 1, Bias: true}),
			NewAct(be, HardSigmoid),
		)}
}

// Forward implements Layer.
func (e *SE) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	e.x = x
	e.s = e.gate.Forward(e.pool.Forward(x, train), train)
	e.y = tensor.Ensure(e.y, x.C, x.N, x.H, x.W)
	hw, n := x.Plane(), x.N
	e.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			g := e.s.Data[c*n : (c+1)*n]
			for q := 0; q < hw; q++ {
				src, dst := x.Data[(c*hw+q)*n:(c*hw+q+1)*n], e.y.Data[(c*hw+q)*n:(c*hw+q+1)*n]
				for i, v := range src {
					dst[i] = v * g[i]
				}
			}
		}
	})
	return e.y
}

// Backward implements Layer.
func (e *SE) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := e.x
	hw, n := x.Plane(), x.N
	e.ds = tensor.Ensure(e.ds, x.C, x.N, 1, 1)
	e.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			d := e.ds.Data[c*n : (c+1)*n]
			clear(d)
			for q := 0; q < hw; q++ {
				src, g := x.Data[(c*hw+q)*n:(c*hw+q+1)*n], dy.Data[(c*hw+q)*n:(c*hw+q+1)*n]
				for i, v := range src {
					d[i] += v * g[i]
				}
			}
		}
	})
	dpool := e.pool.Backward(e.gate.Backward(e.ds))
	e.dx = tensor.Ensure(e.dx, x.C, x.N, x.H, x.W)
	e.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			gs := e.s.Data[c*n : (c+1)*n]
			for q := 0; q < hw; q++ {
				o := (c*hw + q) * n
				g, dp, d := dy.Data[o:o+n], dpool.Data[o:o+n], e.dx.Data[o:o+n]
				for i, v := range g {
					d[i] = v*gs[i] + dp[i]
				}
			}
		}
	})
	return e.dx
}

// Params implements Layer.
func (e *SE) Params() []*Param { return e.gate.Params() }

// Buffers implements Layer.
func (e *SE) Buffers() []*Buffer { return nil }

// Linear is a fully connected layer over 1x1 feature maps (after global
// pooling): y = W x + b with W of Out x In.
type Linear struct {
	conv *Conv
}

// NewLinear returns a linear layer initialised N(0, 0.01) with zero bias,
// as MobileNet classifiers are.
func NewLinear(be tensor.Backend, r *rand.Rand, in, out int) *Linear {
	c := NewConv(be, r, ConvSpec{In: in, Out: out, K: 1, Bias: true})
	for i := range c.Weight.W {
		c.Weight.W[i] = float32(r.NormFloat64() * 0.01)
	}
	c.Weight.Name, c.Bias.Name = "linear.weight", "linear.bias"
	return &Linear{conv: c}
}

// Forward implements Layer.
func (l *Linear) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if x.H != 1 || x.W != 1 {
		panic("nn: linear layer needs 1x1 inputs; put a global average pool before it")
	}
	return l.conv.Forward(x, train)
}

// Backward implements Layer.
func (l *Linear) Backward(dy *tensor.Tensor) *tensor.Tensor { return l.conv.Backward(dy) }

// Params implements Layer.
func (l *Linear) Params() []*Param { return l.conv.Params() }

// Buffers implements Layer.
func (l *Linear) Buffers() []*Buffer { return nil }

// Dropout zeroes elements with probability P in training and scales the
// rest by 1/(1-P); it is the identity in evaluation.
type Dropout struct {
	P     float64
	rng   *rand.Rand
	train bool
	mask  []float32
	y, dx *tensor.Tensor
}

// NewDropout returns dropout drawing from rng (the network's generator, so
// a checkpoint's RNG state covers it).
func NewDropout(rng *rand.Rand, p float64) *Dropout { return &Dropout{P: p, rng: rng} }

// Forward implements Layer.
func (d *Dropout) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	d.train = train && d.P > 0
	if !d.train {
		return x
	}
	d.mask = grow(d.mask, x.Len())
	d.y = tensor.Ensure(d.y, x.C, x.N, x.H, x.W)
	scale := float32(1 / (1 - d.P))
	for i, v := range x.Data {
		if d.rng.Float64() < d.P {
			d.mask[i] = 0
		} else {
			d.mask[i] = scale
		}
		d.y.Data[i] = v * d.mask[i]
	}
	return d.y
}

// Backward implements Layer.
func (d *Dropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !d.train {
		return dy
	}
	d.dx = tensor.Ensure(d.dx, dy.C, dy.N, dy.H, dy.W)
	for i, v := range dy.Data {
		d.dx.Data[i] = v * d.mask[i]
	}
	return d.dx
}

// Params implements Layer.
func (d *Dropout) Params() []*Param { return nil }

// Buffers implements Layer.
func (d *Dropout) Buffers() []*Buffer { return nil }

// Children implements Container.
func (e *SE) Children() []Layer { return []Layer{e.pool, e.gate} }

// Children implements Container.
func (l *Linear) Children() []Layer { return []Layer{l.conv} }
