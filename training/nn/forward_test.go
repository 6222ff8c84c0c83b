package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// naiveConv is the textbook definition on (n, c, h, w) coordinates.
func naiveConv(x *tensor.Tensor, c *Conv) *tensor.Tensor {
	oh := (x.H+2*c.Pad-c.K)/c.Stride + 1
	ow := (x.W+2*c.Pad-c.K)/c.Stride + 1
	y := tensor.New(c.Out, x.N, oh, ow)
	ig, og := c.In/c.Groups, c.Out/c.Groups
	for n := 0; n < x.N; n++ {
		for o := 0; o < c.Out; o++ {
			g := o / og
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var s float64
					for ci := 0; ci < ig; ci++ {
						for kh := 0; kh < c.K; kh++ {
							for kw := 0; kw < c.K; kw++ {
								h, w := i*c.Stride-c.Pad+kh, j*c.Stride-c.Pad+kw
								if h < 0 || h >= x.H || w < 0 || w >= x.W {
									continue
								}
								s += float64(c.Weight.W[((o*ig+ci)*c.K+kh)*c.K+kw]) * float64(x.At(n, g*ig+ci, h, w))
							}
						}
					}
					if c.Bias != nil {
						s += float64(c.Bias.W[o])
					}
					y.Data[y.Index(n, o, i, j)] = float32(s)
				}
			}
		}
	}
	return y
}

func TestConvForwardMatchesDefinition(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	r := rand.New(rand.NewPCG(4, 4))
	for _, s := range []ConvSpec{
		{In: 3, Out: 5, K: 3, Stride: 2, Pad: 1, Bias: true},
		{In: 4, Out: 6, K: 3, Pad: 1, Groups: 2},
		{In: 6, Out: 6, K: 5, Stride: 2, Pad: 2, Groups: 6},
		{In: 16, Out: 16, K: 3, Pad: 1, Groups: 16},
		{In: 5, Out: 7, K: 1},
		{In: 5, Out: 7, K: 1, Stride: 2},
	} {
		for _, n := range []int{3, 16} {
			c := NewConv(be, r, s)
			if c.Bias != nil {
				for i := range c.Bias.W {
					c.Bias.W[i] = float32(r.NormFloat64())
				}
			}
			x := randTensor(r, s.In, n, 7, 6, 1)
			got := c.Forward(x, true)
			want := naiveConv(x, c)
			for i := range want.Data {
				if math.Abs(float64(got.Data[i]-want.Data[i])) > 1e-4 {
					t.Fatalf("%+v n=%d: y[%d] = %v, want %v", s, n, i, got.Data[i], want.Data[i])
				}
			}
		}
	}
}

func TestPoolingForwardMatchesDefinition(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	x := tensor.New(2, 3, 3, 4)
	for i := range x.Data {
		x.Data[i] = float32(i % 7)
	}
	y := NewAvgPool(be, 3, 1, 1).Forward(x, false)
	// Corner (0,0) averages the 2x2 in-bounds window only.
	for n := 0; n < 3; n++ {
		want := (x.At(n, 1, 0, 0) + x.At(n, 1, 0, 1) + x.At(n, 1, 1, 0) + x.At(n, 1, 1, 1)) / 4
		if got := y.At(n, 1, 0, 0); math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("avgpool corner n=%d: %v want %v", n, got, want)
		}
	}
	g := NewGlobalAvgPool(be).Forward(x, false)
	var s float32
	for h := 0; h < 3; h++ {
		for w := 0; w < 4; w++ {
			s += x.At(2, 1, h, w)
		}
	}
	if got := g.At(2, 1, 0, 0); math.Abs(float64(got-s/12)) > 1e-6 {
		t.Errorf("global pool %v want %v", got, s/12)
	}
}
