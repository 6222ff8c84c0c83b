package networks

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// PyramidStrides are the strides of the detector's levels P3 to P7.
var PyramidStrides = [5]int{8, 16, 32, 64, 128}

// FPN is the feature pyramid of mmdetection's RetinaNet configuration
// (FPN with start_level 1 over a ResNet, add_extra_convs='on_input',
// num_outs 5):
//   - a 1x1 lateral convolution brings each of C3, C4, C5 to Channels;
//   - top-down, each lateral gets the coarser merged lateral added,
//     upsampled by nearest neighbour to its own size (mmdet passes the
//     finer size, not a factor, so odd sizes work);
//   - a 3x3 convolution on each merged lateral gives P3, P4, P5;
//   - P6 is a 3x3 stride-2 convolution on C5 itself (the "on_input"
//     choice), and P7 a 3x3 stride-2 convolution on P6. mmdet's FPN applies
//     a ReLU before that last convolution only when relu_before_extra_convs
//     is set, which the RetinaNet configuration leaves off; ReLUBeforeP7
//     gives the original RetinaNet paper's variant.
//
// Every convolution has a bias and no normalisation or activation, and is
// initialised as mmdet's FPN does: Xavier-uniform weights, zero biases.
type FPN struct {
	Channels     int
	ReLUBeforeP7 bool

	lateral, output [3]*nn.Conv
	p6, p7          *nn.Conv
	relu            *nn.Act
	up              [2]*nn.Upsample // P4's lateral to P3's size, P5's to P4's
	merge           [2]*nn.Add
	gsum            [4]*nn.Add // gradient sums
}

// NewFPN returns a pyramid over inputs with the given channels.
func NewFPN(be tensor.Backend, r *rand.Rand, in [3]int, channels int, reluBeforeP7 bool) *FPN {
	f := &FPN{Channels: channels, ReLUBeforeP7: reluBeforeP7, relu: nn.NewAct(be, nn.ReLU)}
	conv := func(s nn.ConvSpec) *nn.Conv {
		s.Bias = true
		c := nn.NewConv(be, r, s)
		xavierUniform(r, c.Weight.W, s.In*s.K*s.K, s.Out*s.K*s.K)
		return c
	}
	for i := range in {
		f.lateral[i] = conv(nn.ConvSpec{In: in[i], Out: channels, K: 1})
		f.output[i] = conv(nn.ConvSpec{In: channels, Out: channels, K: 3, Pad: 1})
	}
	f.p6 = conv(nn.ConvSpec{In: in[2], Out: channels, K: 3, Stride: 2, Pad: 1})
	f.p7 = conv(nn.ConvSpec{In: channels, Out: channels, K: 3, Stride: 2, Pad: 1})
	for i := range f.up {
		f.up[i], f.merge[i] = nn.NewUpsample(be, 2), nn.NewAdd(be)
	}
	for i := range f.gsum {
		f.gsum[i] = nn.NewAdd(be)
	}
	for i := range f.lateral {
		name(f.lateral[i], fmt.Sprintf("neck.lateral_convs.%d.conv", i))
		name(f.output[i], fmt.Sprintf("neck.fpn_convs.%d.conv", i))
	}
	name(f.p6, "neck.fpn_convs.3.conv")
	name(f.p7, "neck.fpn_convs.4.conv")
	return f
}

// name gives a convolution's parameters mmdetection's names.
func name(c *nn.Conv, prefix string) {
	c.Weight.Name = prefix + ".weight"
	if c.Bias != nil {
		c.Bias.Name = prefix + ".bias"
	}
}

// xavierUniform fills w from U(-a, a), a = sqrt(6 / (fanIn + fanOut)).
func xavierUniform(r *rand.Rand, w []float32, fanIn, fanOut int) {
	a := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = float32((2*r.Float64() - 1) * a)
	}
}

// Forward returns P3 to P7 from C3, C4, C5.
func (f *FPN) Forward(c [3]*tensor.Tensor) [5]*tensor.Tensor {
	var lat [3]*tensor.Tensor
	lat[2] = f.lateral[2].Forward(c[2], true)
	for i := 1; i >= 0; i-- {
		l := f.lateral[i].Forward(c[i], true)
		lat[i] = f.merge[i].Forward(l, f.up[i].ForwardTo(lat[i+1], l.H, l.W))
	}
	var p [5]*tensor.Tensor
	for i := range lat {
		p[i] = f.output[i].Forward(lat[i], true)
	}
	p[3] = f.p6.Forward(c[2], true)
	in7 := p[3]
	if f.ReLUBeforeP7 {
		in7 = f.relu.Forward(in7, true)
	}
	p[4] = f.p7.Forward(in7, true)
	return p
}

// Backward takes the gradients with respect to P3 to P7, writes the
// parameters' gradients and returns the gradients with respect to C3, C4,
// C5 (buffers the pyramid owns).
func (f *FPN) Backward(dp [5]*tensor.Tensor) [3]*tensor.Tensor {
	g := f.p7.Backward(dp[4])
	if f.ReLUBeforeP7 {
		g = f.relu.Backward(g)
	}
	dc5Extra := f.p6.Backward(f.gsum[0].Forward(dp[3], g))
	// dl is the gradient at each merged lateral; walking down, the finer
	// level's gradient flows back through its upsampling into the coarser.
	var dl [3]*tensor.Tensor
	for i := range dl {
		dl[i] = f.output[i].Backward(dp[i])
	}
	var dc [3]*tensor.Tensor
	for i := 0; i < 2; i++ {
		dLateral, dUp := f.merge[i].Backward(dl[i])
		dc[i] = f.lateral[i].Backward(dLateral)
		dl[i+1] = f.gsum[i+1].Forward(dl[i+1], f.up[i].Backward(dUp))
	}
	dc[2] = f.gsum[3].Forward(f.lateral[2].Backward(dl[2]), dc5Extra)
	return dc
}

// Params lists the pyramid's parameters: laterals, then output
// convolutions P3 to P7 (mmdet's order).
func (f *FPN) Params() []*nn.Param {
	var ps []*nn.Param
	for _, c := range f.lateral {
		ps = append(ps, c.Params()...)
	}
	for _, c := range append(f.output[:], f.p6, f.p7) {
		ps = append(ps, c.Params()...)
	}
	return ps
}
