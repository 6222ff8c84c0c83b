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

	be       tensor.Backend
	x, s     *tensor.Tensor
	y, dx    *tensor.Tensor
	ds       *tensor.Tensor
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
	hw := x.Plane()
	e.be.For(x.C*x.N, 64, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			g := e.s.Data[pl]
			src, dst := x.Data[pl*hw:(pl+1)*hw], e.y.Data[pl*hw:(pl+1)*hw]
			for i, v := range src {
				dst[i] = v * g
			}
		}
	})
	return e.y
}

// Backward implements Layer.
func (e *SE) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := e.x
	hw := x.Plane()
	e.ds = tensor.Ensure(e.ds, x.C, x.N, 1, 1)
	e.be.For(x.C*x.N, 64, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			var s float32
			src, g := x.Data[pl*hw:(pl+1)*hw], dy.Data[pl*hw:(pl+1)*hw]
			for i, v := range src {
				s += v * g[i]
			}
			e.ds.Data[pl] = s
		}
	})
	dpool := e.pool.Backward(e.gate.Backward(e.ds))
	e.dx = tensor.Ensure(e.dx, x.C, x.N, x.H, x.W)
	e.be.For(x.C*x.N, 64, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			gs := e.s.Data[pl]
			g, dp, d := dy.Data[pl*hw:(pl+1)*hw], dpool.Data[pl*hw:(pl+1)*hw], e.dx.Data[pl*hw:(pl+1)*hw]
			for i, v := range g {
				d[i] = v*gs + dp[i]
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
	d.mask = growF(d.mask, x.Len())
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
