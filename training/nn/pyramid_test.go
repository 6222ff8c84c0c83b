package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// graph adapts a small computation with several paths to Layer, so
// checkGradients can test the layers that take or feed two tensors.
type graph struct {
	fwd    func(x *tensor.Tensor) *tensor.Tensor
	bwd    func(dy *tensor.Tensor) *tensor.Tensor
	params []*Param
}

func (g *graph) Forward(x *tensor.Tensor, train bool) *tensor.Tensor { return g.fwd(x) }
func (g *graph) Backward(dy *tensor.Tensor) *tensor.Tensor           { return g.bwd(dy) }
func (g *graph) Params() []*Param                                    { return g.params }
func (g *graph) Buffers() []*Buffer                                  { return nil }

// sizedUpsample resizes to a fixed size through ForwardTo.
type sizedUpsample struct {
	*Upsample
	h, w int
}

func (s sizedUpsample) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	return s.ForwardTo(x, s.h, s.w)
}

func TestPyramidLayerGradients(t *testing.T) {
	cases := []gradCase{
		{name: "conv1x1-bias", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return NewConv(be, r, ConvSpec{In: 5, Out: 4, K: 1, Bias: true})
		}, c: 5, h: 4},
		{name: "conv3x3-s2-bias", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return NewConv(be, r, ConvSpec{In: 3, Out: 4, K: 3, Stride: 2, Pad: 1, Bias: true})
		}, c: 3, h: 5},
		{name: "upsample2x", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewUpsample(be, 2) }, c: 3, h: 3},
		{name: "upsample-3to5", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return sizedUpsample{NewUpsample(be, 2), 5, 6}
		}, c: 2, h: 3},
		{name: "add", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			// a(x) + b(x): the input gradient is the sum of both paths.
			a := NewConv(be, r, ConvSpec{In: 3, Out: 4, K: 1, Bias: true})
			b := NewConv(be, r, ConvSpec{In: 3, Out: 4, K: 3, Pad: 1})
			s, sum := NewAdd(be), NewAdd(be)
			return &graph{
				fwd: func(x *tensor.Tensor) *tensor.Tensor { return s.Forward(a.Forward(x, true), b.Forward(x, true)) },
				bwd: func(dy *tensor.Tensor) *tensor.Tensor {
					da, db := s.Backward(dy)
					return sum.Forward(a.Backward(da), b.Backward(db))
				},
				params: slices.Concat(a.Params(), b.Params()),
			}
		}, c: 3, h: 4},
		{name: "tied-conv", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			// One 3x3 convolution used on x and on relu(x), the two outputs
			// summed: the shared weight gradient is the sum of both uses'.
			tc := NewTiedConv(be, r, ConvSpec{In: 3, Out: 4, K: 3, Pad: 1, Bias: true}, 2)
			relu := NewAct(be, ReLU)
			s, sum := NewAdd(be), NewAdd(be)
			return &graph{
				fwd: func(x *tensor.Tensor) *tensor.Tensor {
					return s.Forward(tc.Use(0).Forward(x, true), tc.Use(1).Forward(relu.Forward(x, true), true))
				},
				bwd: func(dy *tensor.Tensor) *tensor.Tensor {
					tc.ZeroGrad()
					d0 := tc.Use(0).Backward(dy)
					d1 := relu.Backward(tc.Use(1).Backward(dy))
					return sum.Forward(d0, d1)
				},
				params: tc.Params(),
			}
		}, c: 3, h: 4},
		{name: "conv-relu-in-place", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			c := NewConv(be, r, ConvSpec{In: 3, Out: 4, K: 3, Pad: 1, Bias: true})
			var y *tensor.Tensor
			g := &tensor.Tensor{}
			return &graph{
				fwd: func(x *tensor.Tensor) *tensor.Tensor {
					y = c.Forward(x, true)
					ReLUInPlace(be, y)
					return y
				},
				bwd: func(dy *tensor.Tensor) *tensor.Tensor {
					g = tensor.Ensure(g, dy.C, dy.N, dy.H, dy.W)
					copy(g.Data, dy.Data) // the test's gradient is not ours to overwrite
					ReLUGradInPlace(be, y, g)
					return c.Backward(g)
				},
				params: c.Params(),
			}
		}, c: 3, h: 4},
		{name: "tied-depthwise", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			tc := NewTiedConv(be, r, ConvSpec{In: 3, Out: 3, K: 3, Pad: 1, Groups: 3}, 2)
			up := NewUpsample(be, 2)
			return &graph{
				fwd: func(x *tensor.Tensor) *tensor.Tensor {
					tc.Use(0).Forward(x, true)
					return up.Forward(tc.Use(1).Forward(x, true), true)
				},
				bwd: func(dy *tensor.Tensor) *tensor.Tensor {
					// Only use 1 reaches the output: use 0's gradient is zero
					// and must not disturb the shared sum.
					tc.ZeroGrad()
					tc.Use(0).Backward(tensor.New(3, dy.N, dy.H/2, dy.W/2))
					return tc.Use(1).Backward(up.Backward(dy))
				},
				params: tc.Params(),
			}
		}, c: 3, h: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkGradients(t, tc) })
	}
}

func TestUpsampleMatchesNearestRule(t *testing.T) {
	// PyTorch's rule, by hand: 4 -> 7 has scale 4/7 = 0.571..., so output
	// i reads floor(i * 0.571): 0 0 1 1 2 2 3; 3 -> 5 (scale 0.6): 0 0 1 1 2;
	// 2x reads i/2.
	for _, tc := range []struct {
		in   int
		want []int
	}{
		{4, []int{0, 0, 1, 1, 2, 2, 3}},
		{3, []int{0, 0, 1, 1, 2}},
		{3, []int{0, 0, 1, 1, 2, 2}},
		{2, []int{0, 1}},
	} {
		got := make([]int, len(tc.want))
		nearestIndex(got, tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d -> %d: sources %v, want %v", tc.in, len(tc.want), got, tc.want)
		}
	}
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	x := randTensor(rand.New(rand.NewPCG(3, 3)), 2, 3, 4, 3, 1)
	y := NewUpsample(be, 2).ForwardTo(x, 7, 5)
	rows, cols := []int{0, 0, 1, 1, 2, 2, 3}, []int{0, 0, 1, 1, 2}
	for n := 0; n < 3; n++ {
		for c := 0; c < 2; c++ {
			for i, h := range rows {
				for j, w := range cols {
					if y.At(n, c, i, j) != x.At(n, c, h, w) {
						t.Fatalf("y(%d,%d,%d,%d) = %v, want x(%d,%d) = %v", n, c, i, j, y.At(n, c, i, j), h, w, x.At(n, c, h, w))
					}
				}
			}
		}
	}
}

func TestConvAccumulateAddsGradients(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	r := rand.New(rand.NewPCG(8, 8))
	for _, s := range []ConvSpec{
		{In: 3, Out: 4, K: 3, Pad: 1, Bias: true},
		{In: 3, Out: 4, K: 1, Bias: true},
		{In: 4, Out: 4, K: 3, Pad: 1, Groups: 4},
	} {
		c := NewConv(be, r, s)
		x := randTensor(r, s.In, 2, 5, 5, 1)
		dy := randTensor(r, s.Out, 2, 5, 5, 1)
		c.Forward(x, true)
		c.Backward(dy)
		once := slices.Clone(c.Weight.G)
		c.Accumulate = true
		c.Backward(dy)
		for i, g := range c.Weight.G {
			if d := g - 2*once[i]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%+v: accumulated dW[%d] = %v, want 2 x %v", s, i, g, once[i])
			}
		}
	}
}
