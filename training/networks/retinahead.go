package networks

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// RetinaHead is RetinaNet's classification and box subnets, shared across
// the pyramid levels as mmdetection's RetinaHead: each subnet is
// StackedConvs x (3x3 convolution to Channels with bias, ReLU), then a 3x3
// convolution to Anchors*Classes logits (sigmoid classification, no
// background class) or Anchors*4 box deltas. Weights are drawn from
// N(0, 0.01^2) with zero biases, except the class logits' bias, set so
// that every anchor starts with probability PriorProb of each class.
//
// Output channels are anchor-major, as mmdet reshapes them: logit of
// anchor a, class k at channel a*Classes+k; delta j (dx, dy, dw, dh) of
// anchor a at channel a*4+j.
type RetinaHead struct {
	Classes, Anchors, Channels, StackedConvs int

	be                 tensor.Backend
	clsConvs, boxConvs []*nn.TiedConv
	cls, box           *nn.TiedConv
	// The ReLUs run in place on the convolutions' outputs, which only the
	// subnets read: that halves the subnets' memory, which at P3 of a
	// 1333x800 image dominates the detector's.
	clsOut, boxOut [][]*tensor.Tensor // [conv][level]
	sum            []*nn.Add          // per level, the two subnets' input gradients
}

// headStd is the standard deviation of the subnets' initial weights.
const headStd = 0.01

// NewRetinaHead returns the subnets for levels pyramid levels of in
// channels.
func NewRetinaHead(be tensor.Backend, r *rand.Rand, levels, in, channels, stacked, anchors, classes int, priorProb float64) *RetinaHead {
	h := &RetinaHead{Classes: classes, Anchors: anchors, Channels: channels, StackedConvs: stacked, be: be}
	conv := func(in, out int, prefix string) *nn.TiedConv {
		c := nn.NewTiedConv(be, r, nn.ConvSpec{In: in, Out: out, K: 3, Pad: 1, Bias: true}, levels)
		for i := range c.Weight.W {
			c.Weight.W[i] = float32(r.NormFloat64() * headStd)
		}
		c.Weight.Name, c.Bias.Name = prefix+".weight", prefix+".bias"
		return c
	}
	c := in
	for i := 0; i < stacked; i++ {
		h.clsConvs = append(h.clsConvs, conv(c, channels, fmt.Sprintf("bbox_head.cls_convs.%d.conv", i)))
		h.boxConvs = append(h.boxConvs, conv(c, channels, fmt.Sprintf("bbox_head.reg_convs.%d.conv", i)))
		h.clsOut = append(h.clsOut, make([]*tensor.Tensor, levels))
		h.boxOut = append(h.boxOut, make([]*tensor.Tensor, levels))
		c = channels
	}
	h.cls = conv(c, anchors*classes, "bbox_head.retina_cls")
	h.box = conv(c, anchors*4, "bbox_head.retina_reg")
	bias := float32(-math.Log((1 - priorProb) / priorProb))
	for i := range h.cls.Bias.W {
		h.cls.Bias.W[i] = bias
	}
	for l := 0; l < levels; l++ {
		h.sum = append(h.sum, nn.NewAdd(be))
	}
	return h
}

// Forward returns the class logits and box deltas of every level.
func (h *RetinaHead) Forward(p []*tensor.Tensor) (cls, box []*tensor.Tensor) {
	if len(p) != len(h.sum) {
		panic(fmt.Sprintf("networks: retina head built for %d levels, got %d", len(h.sum), len(p)))
	}
	for l, x := range p {
		c, b := x, x
		for i := range h.clsConvs {
			c = h.clsConvs[i].Use(l).Forward(c, true)
			b = h.boxConvs[i].Use(l).Forward(b, true)
			nn.ReLUInPlace(h.be, c)
			nn.ReLUInPlace(h.be, b)
			h.clsOut[i][l], h.boxOut[i][l] = c, b
		}
		cls = append(cls, h.cls.Use(l).Forward(c, true))
		box = append(box, h.box.Use(l).Forward(b, true))
	}
	return cls, box
}

// Backward takes the gradients with respect to the logits and deltas of
// every level, writes the shared parameters' gradients (summed over the
// levels) and returns the gradient with respect to each level's input.
func (h *RetinaHead) Backward(dcls, dbox []*tensor.Tensor) []*tensor.Tensor {
	for _, c := range h.tied() {
		c.ZeroGrad()
	}
	dp := make([]*tensor.Tensor, len(h.sum))
	for l := range dp {
		c := h.cls.Use(l).Backward(dcls[l])
		b := h.box.Use(l).Backward(dbox[l])
		for i := len(h.clsConvs) - 1; i >= 0; i-- {
			// c and b are buffers of the subnets' own convolutions here,
			// so the ReLU's gradient may overwrite them.
			nn.ReLUGradInPlace(h.be, h.clsOut[i][l], c)
			nn.ReLUGradInPlace(h.be, h.boxOut[i][l], b)
			c = h.clsConvs[i].Use(l).Backward(c)
			b = h.boxConvs[i].Use(l).Backward(b)
		}
		dp[l] = h.sum[l].Forward(c, b)
	}
	return dp
}

// tied lists the shared convolutions in mmdet's parameter order.
func (h *RetinaHead) tied() []*nn.TiedConv {
	var ts []*nn.TiedConv
	ts = append(ts, h.clsConvs...)
	ts = append(ts, h.boxConvs...)
	return append(ts, h.cls, h.box)
}

// Params lists the subnets' parameters.
func (h *RetinaHead) Params() []*nn.Param {
	var ps []*nn.Param
	for _, c := range h.tied() {
		ps = append(ps, c.Params()...)
	}
	return ps
}
