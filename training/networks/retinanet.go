package networks

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// RetinaNetConfig sizes a RetinaNet. ReferenceRetinaNet gives the values
// of mmdetection's retinanet_r50_fpn_1x_coco, which the paper's COCO
// transfer used with the backbone swapped; tests shrink them.
type RetinaNetConfig struct {
	// Classes is the number of object categories (80 for COCO).
	Classes int
	// Channels is the width of the pyramid and of the subnets (256).
	Channels int
	// StackedConvs is the number of 3x3 convolutions + ReLU in each
	// subnet before its output convolution (4).
	StackedConvs int
	// Anchors per location (9: 3 scales per octave x 3 ratios).
	Anchors int
	// FrozenStages of the backbone, as mmdet's frozen_stages (1); see
	// Backbone.
	FrozenStages int
	// ReLUBeforeP7 applies a ReLU to P6 before computing P7 (false in
	// mmdet's configuration; true in the RetinaNet paper).
	ReLUBeforeP7 bool
	// PriorProb is the initial foreground probability of every class
	// logit (0.01).
	PriorProb float64
	// Seed drives the initialisation of the pyramid and subnets.
	Seed uint64
}

// ReferenceRetinaNet returns mmdetection's RetinaNet settings for classes
// categories.
func ReferenceRetinaNet(classes int) RetinaNetConfig {
	return RetinaNetConfig{Classes: classes, Channels: 256, StackedConvs: 4, Anchors: 9, FrozenStages: 1, PriorProb: 0.01}
}

// Validate reports the first field out of range.
func (c RetinaNetConfig) Validate() error {
	switch {
	case c.Classes < 1:
		return fmt.Errorf("networks: retinanet classes %d, need at least 1", c.Classes)
	case c.Channels < 1:
		return fmt.Errorf("networks: retinanet channels %d, need at least 1", c.Channels)
	case c.StackedConvs < 0:
		return fmt.Errorf("networks: retinanet stacked convs %d is negative", c.StackedConvs)
	case c.Anchors < 1:
		return fmt.Errorf("networks: retinanet anchors %d, need at least 1", c.Anchors)
	case c.FrozenStages < -1 || c.FrozenStages > len(imageNetStages):
		return fmt.Errorf("networks: retinanet frozen stages %d outside -1..%d", c.FrozenStages, len(imageNetStages))
	case !(c.PriorProb > 0 && c.PriorProb < 1):
		return fmt.Errorf("networks: retinanet prior probability %v outside (0, 1)", c.PriorProb)
	}
	return nil
}

// RetinaNet is a one-stage detector: a backbone from the ImageNet space,
// a feature pyramid P3-P7 and class and box subnets shared by the levels.
// Like Network it is not safe for concurrent use.
type RetinaNet struct {
	Config   RetinaNetConfig
	Backbone *Backbone
	Neck     *FPN
	Head     *RetinaHead

	params  []*nn.Param
	buffers []*nn.Buffer
}

// Level is one pyramid level's predictions for a batch: Cls holds
// Anchors*Classes logits and Box Anchors*4 deltas per location (see
// RetinaHead for the channel order), over an H x W grid of cells Stride
// pixels apart.
type Level struct {
	Stride   int
	Cls, Box *tensor.Tensor
}

// NewRetinaNet builds a detector on the feature layers of backbone, an
// ImageNet-space classifier, which it takes over (see NewBackbone).
func NewRetinaNet(be tensor.Backend, backbone *Network, cfg RetinaNetConfig) (*RetinaNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backbone == nil {
		return nil, errors.New("networks: retinanet needs a backbone network")
	}
	bb, err := NewBackbone(be, backbone, cfg.FrozenStages)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 2))
	n := &RetinaNet{Config: cfg, Backbone: bb,
		Neck: NewFPN(be, r, bb.Channels, cfg.Channels, cfg.ReLUBeforeP7),
		Head: NewRetinaHead(be, r, len(PyramidStrides), cfg.Channels, cfg.Channels, cfg.StackedConvs, cfg.Anchors, cfg.Classes, cfg.PriorProb)}
	n.params = append(append(append(n.params, bb.Params()...), n.Neck.Params()...), n.Head.Params()...)
	for _, p := range n.params {
		// mmdet's 1x schedule decays every trained parameter (no
		// paramwise settings), biases included.
		p.Decay = true
	}
	n.buffers = bb.Buffers()
	return n, nil
}

// Forward returns the predictions of every level, P3 first, for a batch of
// images whose sides are multiples of 32 (as mmdet pads them) or not.
func (n *RetinaNet) Forward(x *tensor.Tensor) []Level {
	p := n.Neck.Forward(n.Backbone.Forward(x))
	cls, box := n.Head.Forward(p[:])
	levels := make([]Level, len(p))
	for i := range levels {
		levels[i] = Level{Stride: PyramidStrides[i], Cls: cls[i], Box: box[i]}
	}
	return levels
}

// Backward takes the loss gradients with respect to every level's logits
// and deltas and leaves every trained parameter's gradient in Param.G.
func (n *RetinaNet) Backward(dcls, dbox []*tensor.Tensor) {
	dp := n.Head.Backward(dcls, dbox)
	n.Backbone.Backward(n.Neck.Backward([5]*tensor.Tensor(dp)))
}

// Params lists the trained parameters: backbone, pyramid, subnets.
func (n *RetinaNet) Params() []*nn.Param { return n.params }

// Buffers lists the state saved with the weights but never trained.
func (n *RetinaNet) Buffers() []*nn.Buffer { return n.buffers }

// NumParams counts the trained parameters.
func (n *RetinaNet) NumParams() int64 {
	var s int64
	for _, p := range n.params {
		s += int64(len(p.W))
	}
	return s
}
