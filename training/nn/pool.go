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
	n := x.N
	p.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			src := x.Data[c*x.H*x.W*n : (c+1)*x.H*x.W*n]
			dst := p.y.Data[c*oh*ow*n : (c+1)*oh*ow*n]
			for i := 0; i < oh; i++ {
				h0, h1 := p.window(i, x.H)
				for j := 0; j < ow; j++ {
					w0, w1 := p.window(j, x.W)
					d := dst[(i*ow+j)*n : (i*ow+j+1)*n]
					clear(d)
					for h := h0; h < h1; h++ {
						for w := w0; w < w1; w++ {
							s := src[(h*x.W+w)*n : (h*x.W+w+1)*n]
							for q, v := range s {
								d[q] += v
							}
						}
					}
					inv := 1 / float32((h1-h0)*(w1-w0))
					for q := range d {
						d[q] *= inv
					}
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
	oh, ow, n := dy.H, dy.W, x.N
	p.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dst := p.dx.Data[c*x.H*x.W*n : (c+1)*x.H*x.W*n]
			clear(dst)
			g := dy.Data[c*oh*ow*n : (c+1)*oh*ow*n]
			for i := 0; i < oh; i++ {
				h0, h1 := p.window(i, x.H)
				for j := 0; j < ow; j++ {
					w0, w1 := p.window(j, x.W)
					inv := 1 / float32((h1-h0)*(w1-w0))
					gv := g[(i*ow+j)*n : (i*ow+j+1)*n]
					for h := h0; h < h1; h++ {
						for w := w0; w < w1; w++ {
							d := dst[(h*x.W+w)*n : (h*x.W+w+1)*n]
							for q, v := range gv {
								d[q] += v * inv
							}
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
	hw, n := x.Plane(), x.N
	inv := 1 / float32(hw)
	p.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			d := p.y.Data[c*n : (c+1)*n]
			copy(d, x.Data[c*hw*n:(c*hw+1)*n])
			for q := 1; q < hw; q++ {
				s := x.Data[(c*hw+q)*n : (c*hw+q+1)*n]
				for i, v := range s {
					d[i] += v
				}
			}
			for i := range d {
				d[i] *= inv
			}
		}
	})
	return p.y
}

// Backward implements Layer.
func (p *GlobalAvgPool) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := p.x
	p.dx = tensor.Ensure(p.dx, x.C, x.N, x.H, x.W)
	hw, n := x.Plane(), x.N
	inv := 1 / float32(hw)
	p.be.For(x.C, grain(x.Row()), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			g := dy.Data[c*n : (c+1)*n]
			d0 := p.dx.Data[c*hw*n : (c*hw+1)*n]
			for i, v := range g {
				d0[i] = v * inv
			}
			for q := 1; q < hw; q++ {
				copy(p.dx.Data[(c*hw+q)*n:(c*hw+q+1)*n], d0)
			}
		}
	})
	return p.dx
}

// Params implements Layer.
func (p *GlobalAvgPool) Params() []*Param { return nil }

// Buffers implements Layer.
func (p *GlobalAvgPool) Buffers() []*Buffer { return nil }
