package nn

import (
	"github.com/genius-nas/genius/training/tensor"
)

// AvgPool averages K x K windows; padded positions are not counted
// (count_include_pad=False, as NAS-Bench-201 uses).
type AvgPool struct {
	K, Stride, Pad int
	be             tensor.Backend
	x, y, dx       *tensor.Tensor
}

// NewAvgPool returns average pooling.
func NewAvgPool(be tensor.Backend, k, stride, pad int) *AvgPool {
	return &AvgPool{K: k, Stride: stride, Pad: pad, be: be}
}

func (p *AvgPool) window(i, size int) (lo, hi int) {
	lo = i*p.Stride - p.Pad
	hi = min(lo+p.K, size)
	return max(lo, 0), hi
}

// Forward implements Layer.
func (p *AvgPool) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	p.x = x
	oh := (x.H+2*p.Pad-p.K)/p.Stride + 1
	ow := (x.W+2*p.Pad-p.K)/p.Stride + 1
	p.y = tensor.Ensure(p.y, x.C, x.N, oh, ow)
	p.be.For(x.C*x.N, 1, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.Data[pl*x.H*x.W:]
			dst := p.y.Data[pl*oh*ow:]
			for i := 0; i < oh; i++ {
				h0, h1 := p.window(i, x.H)
				for j := 0; j < ow; j++ {
					w0, w1 := p.window(j, x.W)
					var s float32
					for h := h0; h < h1; h++ {
						for w := w0; w < w1; w++ {
							s += src[h*x.W+w]
						}
					}
					dst[i*ow+j] = s / float32((h1-h0)*(w1-w0))
				}
			}
		}
	})
	return p.y
}

// Backward implements Layer.
func (p *AvgPool) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := p.x
	p.dx = tensor.Ensure(p.dx, x.C, x.N, x.H, x.W)
	oh, ow := dy.H, dy.W
	p.be.For(x.C*x.N, 1, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := p.dx.Data[pl*x.H*x.W : (pl+1)*x.H*x.W]
			clear(dst)
			g := dy.Data[pl*oh*ow:]
			for i := 0; i < oh; i++ {
				h0, h1 := p.window(i, x.H)
				for j := 0; j < ow; j++ {
					w0, w1 := p.window(j, x.W)
					v := g[i*ow+j] / float32((h1-h0)*(w1-w0))
					for h := h0; h < h1; h++ {
						for w := w0; w < w1; w++ {
							dst[h*x.W+w] += v
						}
					}
				}
			}
		}
	})
	return p.dx
}

// Params implements Layer.
func (p *AvgPool) Params() []*Param { return nil }

// Buffers implements Layer.
func (p *AvgPool) Buffers() []*Buffer { return nil }

// GlobalAvgPool averages each feature map to 1 x 1.
type GlobalAvgPool struct {
	be       tensor.Backend
	x, y, dx *tensor.Tensor
}

// NewGlobalAvgPool returns global average pooling.
func NewGlobalAvgPool(be tensor.Backend) *GlobalAvgPool { return &GlobalAvgPool{be: be} }

// Forward implements Layer.
func (p *GlobalAvgPool) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	p.x = x
	p.y = tensor.Ensure(p.y, x.C, x.N, 1, 1)
	hw := x.Plane()
	inv := 1 / float32(hw)
	p.be.For(x.C*x.N, 256, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			var s float32
			for _, v := range x.Data[pl*hw : (pl+1)*hw] {
				s += v
			}
			p.y.Data[pl] = s * inv
		}
	})
	return p.y
}

// Backward implements Layer.
func (p *GlobalAvgPool) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := p.x
	p.dx = tensor.Ensure(p.dx, x.C, x.N, x.H, x.W)
	hw := x.Plane()
	inv := 1 / float32(hw)
	p.be.For(x.C*x.N, 256, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			v := dy.Data[pl] * inv
			d := p.dx.Data[pl*hw : (pl+1)*hw]
			for i := range d {
				d[i] = v
			}
		}
	})
	return p.dx
}

// Params implements Layer.
func (p *GlobalAvgPool) Params() []*Param { return nil }

// Buffers implements Layer.
func (p *GlobalAvgPool) Buffers() []*Buffer { return nil }
