package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// ConvSpec describes a 2-D convolution.
type ConvSpec struct {
	In, Out int
	K       int // square kernel
	Stride  int // default 1
	Pad     int
	Groups  int // default 1; In for depthwise
	Bias    bool
}

// Conv is a 2-D convolution with any kernel, stride, padding and groups.
// Depthwise convolutions (Groups == In == Out) use the backend's direct
// kernel; 1x1 stride-1 convolutions are one matrix product; everything
// else goes through im2col and a matrix product per group.
type Conv struct {
	ConvSpec
	Weight, Bias *Param
	// NoInputGrad skips the input gradient (the network's first layer).
	NoInputGrad bool
	// Accumulate makes Backward add to the parameter gradients instead of
	// overwriting them, for parameters used more than once per pass (see
	// TiedConv).
	Accumulate bool

	be       tensor.Backend
	x, y, dx *tensor.Tensor
	oh, ow   int
}

// NewConv returns a convolution initialised for ReLU-family networks.
func NewConv(be tensor.Backend, r *rand.Rand, s ConvSpec) *Conv {
	if s.Stride == 0 {
		s.Stride = 1
	}
	if s.Groups == 0 {
		s.Groups = 1
	}
	if s.In%s.Groups != 0 || s.Out%s.Groups != 0 {
		panic(fmt.Sprintf("nn: conv %d->%d not divisible into %d groups", s.In, s.Out, s.Groups))
	}
	c := &Conv{ConvSpec: s, be: be}
	c.Weight = newParam("conv.weight", true, s.Out, s.In/s.Groups, s.K, s.K)
	kaimingFanOut(r, c.Weight.W, s.Out*s.K*s.K)
	if s.Bias {
		c.Bias = newParam("conv.bias", false, s.Out)
	}
	return c
}

func (c *Conv) depthwise() bool { return c.Groups > 1 && c.Groups == c.In && c.Groups == c.Out }

func (c *Conv) pointwise() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 && c.Groups == 1 }

// Forward implements Layer.
func (c *Conv) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	if x.C != c.In {
		panic(fmt.Sprintf("nn: conv expects %d input channels, got %s", c.In, x))
	}
	c.x = x
	c.oh = (x.H+2*c.Pad-c.K)/c.Stride + 1
	c.ow = (x.W+2*c.Pad-c.K)/c.Stride + 1
	c.y = tensor.Ensure(c.y, c.Out, x.N, c.oh, c.ow)
	m := x.N * c.oh * c.ow
	switch {
	case c.depthwise():
		c.be.DepthwiseForward(c.dwArgs(), x.Data, c.Weight.W, c.y.Data)
	case c.pointwise():
		c.be.Gemm(false, false, c.Out, m, c.In, c.Weight.W, c.In, x.Data, m, c.y.Data, m, false)
	default:
		rows := c.In * c.K * c.K
		// The columns are borrowed, not kept: the backward pass rebuilds
		// them (one cheap pass) rather than every convolution holding
		// K*K copies of its input.
		col := c.be.Scratch(rows * m)
		c.im2col(x, col)
		ig, og := rows/c.Groups, c.Out/c.Groups
		for g := 0; g < c.Groups; g++ {
			c.be.Gemm(false, false, og, m, ig, c.Weight.W[g*og*ig:], ig, col[g*ig*m:], m, c.y.Data[g*og*m:], m, false)
		}
		c.be.Release(col)
	}
	if c.Bias != nil {
		y, b := c.y.Data, c.Bias.W
		c.be.For(c.Out, grain(m), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := y[o*m : (o+1)*m]
				for i := range row {
					row[i] += b[o]
				}
			}
		})
	}
	return c.y
}

// Backward implements Layer.
func (c *Conv) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := c.x
	m := x.N * c.oh * c.ow
	if c.Bias != nil {
		g := c.Bias.G
		c.be.For(c.Out, grain(m), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var s float32
				for _, v := range dy.Data[o*m : (o+1)*m] {
					s += v
				}
				if c.Accumulate {
					s += g[o]
				}
				g[o] = s
			}
		})
	}
	var dx []float32
	if !c.NoInputGrad {
		c.dx = tensor.Ensure(c.dx, x.C, x.N, x.H, x.W)
		dx = c.dx.Data
	}
	switch {
	case c.depthwise():
		dw := c.Weight.G
		if c.Accumulate {
			dw = c.be.Scratch(len(dw))
		}
		c.be.DepthwiseBackward(c.dwArgs(), x.Data, c.Weight.W, dy.Data, dx, dw)
		if c.Accumulate {
			c.be.Axpby(c.Weight.G, dw, 1, 1, 0)
			c.be.Release(dw)
		}
	case c.pointwise():
		c.be.Gemm(false, true, c.Out, c.In, m, dy.Data, m, x.Data, m, c.Weight.G, c.In, c.Accumulate)
		if dx != nil {
			c.be.Gemm(true, false, c.In, m, c.Out, c.Weight.W, c.In, dy.Data, m, dx, m, false)
		}
	default:
		rows := c.In * c.K * c.K
		ig, og := rows/c.Groups, c.Out/c.Groups
		col := c.be.Scratch(rows * m)
		c.im2col(x, col)
		for g := 0; g < c.Groups; g++ {
			c.be.Gemm(false, true, og, ig, m, dy.Data[g*og*m:], m, col[g*ig*m:], m, c.Weight.G[g*og*ig:], ig, c.Accumulate)
		}
		if dx != nil {
			// Reuse the columns' buffer for their gradient.
			for g := 0; g < c.Groups; g++ {
				c.be.Gemm(true, false, ig, m, og, c.Weight.W[g*og*ig:], ig, dy.Data[g*og*m:], m, col[g*ig*m:], m, false)
			}
			c.col2im(col, c.dx)
		}
		c.be.Release(col)
	}
	if c.NoInputGrad {
		return nil
	}
	return c.dx
}

func (c *Conv) dwArgs() tensor.DepthwiseArgs {
	return tensor.DepthwiseArgs{C: c.In, N: c.x.N, H: c.x.H, W: c.x.W, K: c.K, Stride: c.Stride, Pad: c.Pad, OH: c.oh, OW: c.ow}
}

// im2col lays out x as (In*K*K) rows of OH*OW*N columns (CHWN order, so
// every copy is a run of N values).
func (c *Conv) im2col(x *tensor.Tensor, col []float32) {
	k, s, p, oh, ow, n := c.K, c.Stride, c.Pad, c.oh, c.ow, x.N
	m := oh * ow * n
	c.be.For(x.C, grain(m*k*k), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			plane := x.Data[ch*x.H*x.W*n : (ch+1)*x.H*x.W*n]
			for kh := 0; kh < k; kh++ {
				for kw := 0; kw < k; kw++ {
					row := col[((ch*k+kh)*k+kw)*m : ((ch*k+kh)*k+kw+1)*m]
					for i := 0; i < oh; i++ {
						h := i*s - p + kh
						dst := row[i*ow*n : (i+1)*ow*n]
						if h < 0 || h >= x.H {
							clear(dst)
							continue
						}
						for j := 0; j < ow; j++ {
							w := j*s - p + kw
							d := dst[j*n : (j+1)*n]
							if w < 0 || w >= x.W {
								clear(d)
							} else {
								copy(d, plane[(h*x.W+w)*n:(h*x.W+w+1)*n])
							}
						}
					}
				}
			}
		}
	})
}

// col2im sums the column gradients back into dx (overwriting it).
func (c *Conv) col2im(col []float32, dx *tensor.Tensor) {
	k, s, p, oh, ow, n := c.K, c.Stride, c.Pad, c.oh, c.ow, dx.N
	m := oh * ow * n
	c.be.For(dx.C, grain(m*k*k), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			plane := dx.Data[ch*dx.H*dx.W*n : (ch+1)*dx.H*dx.W*n]
			clear(plane)
			for kh := 0; kh < k; kh++ {
				for kw := 0; kw < k; kw++ {
					row := col[((ch*k+kh)*k+kw)*m : ((ch*k+kh)*k+kw+1)*m]
					for i := 0; i < oh; i++ {
						h := i*s - p + kh
						if h < 0 || h >= dx.H {
							continue
						}
						for j := 0; j < ow; j++ {
							w := j*s - p + kw
							if w < 0 || w >= dx.W {
								continue
							}
							src := row[(i*ow+j)*n : (i*ow+j+1)*n]
							dst := plane[(h*dx.W+w)*n : (h*dx.W+w+1)*n]
							for q, v := range src {
								dst[q] += v
							}
						}
					}
				}
			}
		}
	})
}

// Params implements Layer.
func (c *Conv) Params() []*Param {
	if c.Bias != nil {
		return []*Param{c.Weight, c.Bias}
	}
	return []*Param{c.Weight}
}

// Buffers implements Layer.
func (c *Conv) Buffers() []*Buffer { return nil }

// grow returns s with length n, reusing its memory when large enough
// (contents unspecified).
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
