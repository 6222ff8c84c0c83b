package nn

import (
	"math"

	"github.com/genius-nas/genius/training/tensor"
)

// BatchNorm normalises each channel with batch statistics in training and
// running statistics in evaluation, as torch.nn.BatchNorm2d does
// (momentum 0.1, unbiased running variance, eps 1e-5). An activation can
// be fused in (NewBatchNormAct): it saves a pass over the data and a buffer
// in both directions.
type BatchNorm struct {
	C             int
	Gamma, Beta   *Param
	Mean, Var     *Buffer
	Momentum, Eps float32
	// Act is the fused activation when HasAct is set.
	Act    ActKind
	HasAct bool

	be      tensor.Backend
	train   bool
	xhat, y *tensor.Tensor
	dx      *tensor.Tensor
	invStd  []float32
}

// NewBatchNorm returns batch norm over c channels, scale 1 and shift 0.
func NewBatchNorm(be tensor.Backend, c int) *BatchNorm {
	b := &BatchNorm{C: c, Momentum: 0.1, Eps: 1e-5, be: be,
		Gamma: newParam("bn.weight", false, c), Beta: newParam("bn.bias", false, c),
		Mean:   &Buffer{Name: "bn.running_mean", Data: make([]float32, c)},
		Var:    &Buffer{Name: "bn.running_var", Data: make([]float32, c)},
		invStd: make([]float32, c)}
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

// sumShifted returns the sum and the sum of squares of x - k, with eight
// float32 accumulators (independent chains the CPU overlaps).
func sumShifted(x []float32, k float32) (s, ss float64) {
	var a [8]float32
	var q [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := (*[8]float32)(x[i : i+8])
		for j := range 8 {
			d := v[j] - k
			a[j] += d
			q[j] += d * d
		}
	}
	for ; i < len(x); i++ {
		d := x[i] - k
		a[0] += d
		q[0] += d * d
	}
	for j := range 8 {
		s += float64(a[j])
		ss += float64(q[j])
	}
	return s, ss
}

// sumDot returns sum(g) and sum(g*h).
func sumDot(g, h []float32) (sg, sgh float64) {
	var a, b [8]float32
	h = h[:len(g)]
	i := 0
	for ; i+8 <= len(g); i += 8 {
		gv := (*[8]float32)(g[i : i+8])
		hv := (*[8]float32)(h[i : i+8])
		for j := range 8 {
			a[j] += gv[j]
			b[j] += gv[j] * hv[j]
		}
	}
	for ; i < len(g); i++ {
		a[0] += g[i]
		b[0] += g[i] * h[i]
	}
	for j := range 8 {
		sg += float64(a[j])
		sgh += float64(b[j])
	}
	return sg, sgh
}

// Forward implements Layer.
func (b *BatchNorm) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	b.train = train
	b.xhat = tensor.Ensure(b.xhat, x.C, x.N, x.H, x.W)
	b.y = tensor.Ensure(b.y, x.C, x.N, x.H, x.W)
	m := x.Row()
	b.be.For(b.C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			src := x.Data[c*m : (c+1)*m]
			xh := b.xhat.Data[c*m : (c+1)*m]
			dst := b.y.Data[c*m : (c+1)*m]
			var mean, variance float64
			if train {
				// Shifting by the first value keeps the one-pass variance
				// accurate in float32.
				k := src[0]
				s, ss := sumShifted(src, k)
				ms := s / float64(m)
				mean = float64(k) + ms
				variance = math.Max(ss/float64(m)-ms*ms, 0)
				unbiased := variance
				if m > 1 {
					unbiased = variance * float64(m) / float64(m-1)
				}
				mo := b.Momentum
				b.Mean.Data[c] = (1-mo)*b.Mean.Data[c] + mo*float32(mean)
				b.Var.Data[c] = (1-mo)*b.Var.Data[c] + mo*float32(unbiased)
			} else {
				mean, variance = float64(b.Mean.Data[c]), float64(b.Var.Data[c])
			}
			inv := float32(1 / math.Sqrt(variance+float64(b.Eps)))
			b.invStd[c] = inv
			mu, g, be := float32(mean), b.Gamma.W[c], b.Beta.W[c]
			for i, v := range src {
				h := (v - mu) * inv
				xh[i] = h
				dst[i] = g*h + be
			}
			if b.HasAct {
				actForward(b.Act, dst, dst)
			}
		}
	})
	return b.y
}

// Backward implements Layer.
func (b *BatchNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	b.dx = tensor.Ensure(b.dx, dy.C, dy.N, dy.H, dy.W)
	m := dy.Row()
	b.be.For(b.C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			g := dy.Data[c*m : (c+1)*m]
			xh := b.xhat.Data[c*m : (c+1)*m]
			d := b.dx.Data[c*m : (c+1)*m]
			gamma, beta := b.Gamma.W[c], b.Beta.W[c]
			if b.HasAct {
				// Recompute the pre-activation into d, then turn it into
				// the gradient that reaches the normalised values.
				for i, h := range xh {
					d[i] = gamma*h + beta
				}
				actBackward(b.Act, d, g, d)
				g = d
			}
			sg, sgx := sumDot(g, xh)
			b.Gamma.G[c] = float32(sgx)
			b.Beta.G[c] = float32(sg)
			k := gamma * b.invStd[c]
			if !b.train {
				for i, v := range g {
					d[i] = k * v
				}
				continue
			}
			mg, mgx := float32(sg/float64(m)), float32(sgx/float64(m))
			for i, v := range g {
				d[i] = k * (v - mg - xh[i]*mgx)
			}
		}
	})
	return b.dx
}

// Params implements Layer.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Buffers implements Layer.
func (b *BatchNorm) Buffers() []*Buffer { return []*Buffer{b.Mean, b.Var} }
