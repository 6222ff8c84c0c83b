package nn

import (
	"math"

	"github.com/genius-nas/genius/training/tensor"
)

// BatchNorm normalises each channel with batch statistics in training and
// running statistics in evaluation, as torch.nn.BatchNorm2d does
// (momentum 0.1, unbiased running variance, eps 1e-5). An activation can
// be fused in (NewBatchNormAct), which saves passes over the data and a
// buffer in both directions. The normalised values are recomputed from
// the input in the backward pass rather than stored.
type BatchNorm struct {
	C             int
	Gamma, Beta   *Param
	Mean, Var     *Buffer
	Momentum, Eps float32
	// Act is the fused activation when HasAct is set.
	Act    ActKind
	HasAct bool

	// Sync, when set, sums the batch statistics across the replicas of a
	// data-parallel step, so each replica normalises with the statistics
	// of the whole batch (synchronised batch norm).
	Sync Reducer
	// Follower replicas leave the running statistics to the leader (they
	// share its buffers).
	Follower bool

	be     tensor.Backend
	train  bool
	x      *tensor.Tensor
	y, dx  *tensor.Tensor
	mu     []float32 // mean used by the last forward pass, per channel
	invStd []float32
	shift  []float32 // running mean when the sums were taken
	stats  []float64 // per channel sum and sum of squares, then the count
	gstats []float64
}

// Reducer sums values element-wise across the replicas of a data-parallel
// step; every replica calls AllReduce the same number of times in the
// same order, and each gets the same sums back.
type Reducer interface {
	AllReduce(vals []float64)
}

// NewBatchNorm returns batch norm over c channels, scale 1 and shift 0.
func NewBatchNorm(be tensor.Backend, c int) *BatchNorm {
	b := &BatchNorm{C: c, Momentum: 0.1, Eps: 1e-5, be: be,
		Gamma: newParam("bn.weight", false, c), Beta: newParam("bn.bias", false, c),
		Mean:   &Buffer{Name: "bn.running_mean", Data: make([]float32, c)},
		Var:    &Buffer{Name: "bn.running_var", Data: make([]float32, c)},
		mu:     make([]float32, c),
		invStd: make([]float32, c),
		shift:  make([]float32, c)}
	for i := range b.Gamma.W {
		b.Gamma.W[i] = 1
		b.Var.Data[i] = 1
	}
	return b
}

// NewBatchNormAct returns batch norm followed by activation act, fused.
func NewBatchNormAct(be tensor.Backend, c int, act ActKind) *BatchNorm {
	b := NewBatchNorm(be, c)
	b.Act, b.HasAct = act, true
	return b
}

// code is the fused activation for the backend (ActNone without one).
func (b *BatchNorm) code() tensor.Act {
	if !b.HasAct {
		return tensor.ActNone
	}
	return b.Act.code()
}

// Forward implements Layer.
func (b *BatchNorm) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	b.train = train
	b.x = x
	b.y = tensor.Ensure(b.y, x.C, x.N, x.H, x.W)
	m := x.Row()
	code := b.code()
	if train {
		// Shifted sums keep the one-pass variance accurate in float32; the
		// shift (the running mean) is the same in every replica and is
		// saved in checkpoints, so resumed runs compute the same sums.
		b.stats = grow(b.stats, 2*b.C+1)
		b.be.For(b.C, grain(m), func(lo, hi int) {
			for c := lo; c < hi; c++ {
				b.shift[c] = b.Mean.Data[c]
				b.stats[2*c], b.stats[2*c+1] = b.be.SumShifted(x.Data[c*m:(c+1)*m], b.shift[c])
			}
		})
		b.stats[2*b.C] = float64(m)
		if b.Sync != nil {
			b.Sync.AllReduce(b.stats)
		}
	}
	b.be.For(b.C, grain(m), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			src := x.Data[c*m : (c+1)*m]
			var mean, variance float64
			if train {
				total := b.stats[2*b.C]
				ms := b.stats[2*c] / total
				mean = float64(b.shift[c]) + ms
				variance = math.Max(b.stats[2*c+1]/total-ms*ms, 0)
				if !b.Follower {
					unbiased := variance
					if total > 1 {
						unbiased = variance * total / (total - 1)
					}
					mo := b.Momentum
					b.Mean.Data[c] = (1-mo)*b.Mean.Data[c] + mo*float32(mean)
					b.Var.Data[c] = (1-mo)*b.Var.Data[c] + mo*float32(unbiased)
				}
			} else {
				mean, variance = float64(b.Mean.Data[c]), float64(b.Var.Data[c])
			}
			inv := float32(1 / math.Sqrt(variance+float64(b.Eps)))
			b.mu[c], b.invStd[c] = float32(mean), inv
			// y = act(a*x + c) with a = gamma*inv, c = beta - mean*a.
			a := b.Gamma.W[c] * inv
			b.be.AffineAct(code, src, b.y.Data[c*m:(c+1)*m], a, b.Beta.W[c]-float32(mean)*a)
		}
	})
	return b.y
}

// Backward implements Layer. With Sync set, the parameter gradients are
// this replica's share (the replicas' gradients are summed afterwards),
// while the input gradient uses the statistics of the whole batch.
func (b *BatchNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	b.dx = tensor.Ensure(b.dx, dy.C, dy.N, dy.H, dy.W)
	m := dy.Row()
	code := b.code()
	b.gstats = grow(b.gstats, 2*b.C)
	b.be.For(b.C, grain(m), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			x := b.x.Data[c*m : (c+1)*m]
			d := b.dx.Data[c*m : (c+1)*m]
			mu, inv := b.mu[c], b.invStd[c]
			a := b.Gamma.W[c] * inv
			// d = g * act'(pre-activation): the gradient at the BN output.
			sg, sgx := b.be.AffineActGrad(code, x, dy.Data[c*m:(c+1)*m], d, a, b.Beta.W[c]-mu*a, mu)
			sgh := sgx * float64(inv) // sum(d * h), h = (x-mu)*inv
			b.Gamma.G[c] = float32(sgh)
			b.Beta.G[c] = float32(sg)
			b.gstats[2*c], b.gstats[2*c+1] = sg, sgh
			if !b.train {
				b.be.Axpby(d, x, a, 0, 0)
			}
		}
	})
	if !b.train {
		return b.dx
	}
	if b.Sync != nil {
		b.Sync.AllReduce(b.gstats)
	}
	total := b.stats[2*b.C]
	b.be.For(b.C, grain(m), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			x := b.x.Data[c*m : (c+1)*m]
			d := b.dx.Data[c*m : (c+1)*m]
			mu, inv := b.mu[c], b.invStd[c]
			a := b.Gamma.W[c] * inv
			// dx = a*(d - mean(d) - h*mean(d*h)), affine in d and x.
			mg, mgh := float32(b.gstats[2*c]/total), float32(b.gstats[2*c+1]/total)*inv
			b.be.Axpby(d, x, a, -a*mgh, a*(mu*mgh-mg))
		}
	})
	return b.dx
}

// Params implements Layer.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Buffers implements Layer.
func (b *BatchNorm) Buffers() []*Buffer { return []*Buffer{b.Mean, b.Var} }
