package nn

import (
	"math"

	"github.com/genius-nas/genius/training/tensor"
)

// Upsample resizes feature maps by nearest-neighbour sampling with the
// index rule of PyTorch's F.interpolate(mode='nearest'): output row i reads
// input row floor(i * float32(in/out)), capped at in-1; exact for the 2x
// case. FPN calls ForwardTo with the finer level's size, which is 2x
// except when an odd size was rounded up by a stride-2 layer.
type Upsample struct {
	// Scale is the factor Forward uses.
	Scale int

	be       tensor.Backend
	x, y, dx *tensor.Tensor
	rows     []int // input row of each output row
	cols     []int
}

// NewUpsample returns nearest-neighbour upsampling by scale.
func NewUpsample(be tensor.Backend, scale int) *Upsample { return &Upsample{Scale: scale, be: be} }

// nearestIndex fills idx with the source index of each of len(idx) outputs
// for in inputs. The scale is a float32 quotient, as PyTorch computes it,
// so odd sizes pick the same rows as the reference.
func nearestIndex(idx []int, in int) {
	scale := float32(in) / float32(len(idx))
	for i := range idx {
		idx[i] = min(int(math.Floor(float64(float32(i)*scale))), in-1)
	}
}

// Forward implements Layer: x upsampled by Scale.
func (u *Upsample) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	return u.ForwardTo(x, x.H*u.Scale, x.W*u.Scale)
}

// ForwardTo returns x resized to oh x ow.
func (u *Upsample) ForwardTo(x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	u.x = x
	u.rows, u.cols = grow(u.rows, oh), grow(u.cols, ow)
	nearestIndex(u.rows, x.H)
	nearestIndex(u.cols, x.W)
	u.y = tensor.Ensure(u.y, x.C, x.N, oh, ow)
	n := x.N
	u.be.For(x.C, grain(oh*ow*n), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			src := x.Data[c*x.H*x.W*n : (c+1)*x.H*x.W*n]
			dst := u.y.Data[c*oh*ow*n : (c+1)*oh*ow*n]
			for i, h := range u.rows {
				for j, w := range u.cols {
					copy(dst[(i*ow+j)*n:(i*ow+j+1)*n], src[(h*x.W+w)*n:(h*x.W+w+1)*n])
				}
			}
		}
	})
	return u.y
}

// Backward implements Layer: each input position receives the sum of the
// gradients of the outputs that copied it.
func (u *Upsample) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := u.x
	u.dx = tensor.Ensure(u.dx, x.C, x.N, x.H, x.W)
	oh, ow, n := dy.H, dy.W, x.N
	u.be.For(x.C, grain(oh*ow*n), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dst := u.dx.Data[c*x.H*x.W*n : (c+1)*x.H*x.W*n]
			clear(dst)
			g := dy.Data[c*oh*ow*n : (c+1)*oh*ow*n]
			for i, h := range u.rows {
				for j, w := range u.cols {
					d := dst[(h*x.W+w)*n : (h*x.W+w+1)*n]
					for q, v := range g[(i*ow+j)*n : (i*ow+j+1)*n] {
						d[q] += v
					}
				}
			}
		}
	})
	return u.dx
}

// Params implements Layer.
func (u *Upsample) Params() []*Param { return nil }

// Buffers implements Layer.
func (u *Upsample) Buffers() []*Buffer { return nil }
