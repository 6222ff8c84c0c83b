package networks

import (
	"fmt"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// The backbone taps: the outputs of searched stages 2, 4 and 5 of the
// ImageNet space, at strides 8, 16 and 32 (C3, C4, C5). C5 is the last
// searched stage, before the classifier's 1x1 expansion to 320 channels,
// as C5 of a ResNet is its last stage.
var backboneTaps = [3]int{1, 3, 4}

// Backbone is the feature extractor of an ImageNet-space classifier for a
// detector: the stem, the first block and the searched stages, with taps
// at C3, C4 and C5. Its batch norms always use their running statistics
// and their scale and shift are not trained (frozen BN, as detectors
// fine-tuned with small batches do); the first FrozenStages stages are not
// trained at all.
type Backbone struct {
	// Channels of C3, C4, C5.
	Channels [3]int
	// FrozenStages follows mmdetection's frozen_stages: -1 trains every
	// convolution, 0 freezes the stem (the stride-2 convolution and the
	// first block), k freezes the stem and searched stages 1..k.
	FrozenStages int

	layers  []nn.Layer
	taps    [3]int // index past the layer whose output is each tap
	trained int    // first trained layer
	sums    [2]*nn.Add
	params  []*nn.Param
	buffers []*nn.Buffer
}

// NewBackbone takes the feature layers of net, an ImageNet-space
// classifier (its weights loaded, typically from a retraining
// checkpoint), and drops its classifier head. The backbone owns those
// layers afterwards: net must not be used again.
func NewBackbone(be tensor.Backend, net *Network, frozenStages int) (*Backbone, error) {
	if net.Space != space.ImageNetName {
		return nil, fmt.Errorf("networks: a detector backbone needs a %s network, got %s", space.ImageNetName, net.Space)
	}
	if frozenStages < -1 || frozenStages > len(imageNetStages) {
		return nil, fmt.Errorf("networks: frozen stages %d outside -1..%d", frozenStages, len(imageNetStages))
	}
	ends := imageNetStageEnds(net.Arch)
	b := &Backbone{FrozenStages: frozenStages, layers: net.Body.Layers[:ends[len(ends)-1]]}
	for i, st := range backboneTaps {
		b.taps[i] = ends[st]
		b.Channels[i] = imageNetStages[st].out
	}
	switch {
	case frozenStages == 0:
		b.trained = 2
	case frozenStages > 0:
		b.trained = ends[frozenStages-1]
	}
	if b.trained > 0 && b.trained < len(b.layers) {
		firstConv(b.layers[b.trained]) // nothing below needs its input gradient
	}
	for i := range b.sums {
		b.sums[i] = nn.NewAdd(be)
	}

	// Batch-norm scale and shift, and everything in frozen stages, are kept
	// as buffers: saved and restored with the weights, never updated.
	fixed := map[*nn.Param]bool{}
	for i, l := range b.layers {
		nn.Walk(l, func(l nn.Layer) {
			if bn, ok := l.(*nn.BatchNorm); ok {
				fixed[bn.Gamma], fixed[bn.Beta] = true, true
			}
		})
		if i < b.trained {
			for _, p := range l.Params() {
				fixed[p] = true
			}
		}
	}
	for _, l := range b.layers {
		for _, p := range l.Params() {
			p.Name = "backbone." + p.Name
			if fixed[p] {
				b.buffers = append(b.buffers, &nn.Buffer{Name: p.Name, Data: p.W})
			} else {
				b.params = append(b.params, p)
			}
		}
	}
	for _, l := range b.layers {
		for _, buf := range l.Buffers() {
			buf.Name = "backbone." + buf.Name
			b.buffers = append(b.buffers, buf)
		}
	}
	return b, nil
}

// imageNetStageEnds returns, for each searched stage, the index in the
// classifier's layer list just past the stage's last layer: buildImageNet
// appends the stem, the first block, then one layer per slot except the
// identity slots after a stage's first.
func imageNetStageEnds(arch []int) [len(imageNetStages)]int {
	var ends [len(imageNetStages)]int
	i := 2
	for st := range imageNetStages {
		for sl := 0; sl < imageNetSlots; sl++ {
			if sl == 0 || arch[st*imageNetSlots+sl] != 0 {
				i++
			}
		}
		ends[st] = i
	}
	return ends
}

// Forward returns C3, C4 and C5 for a batch of images. The batch norms use
// their running statistics whether or not the detector is training.
func (b *Backbone) Forward(x *tensor.Tensor) [3]*tensor.Tensor {
	var c [3]*tensor.Tensor
	t := 0
	for i, l := range b.layers {
		x = l.Forward(x, false)
		if i+1 == b.taps[t] {
			c[t] = x
			t++
		}
	}
	return c
}

// Backward takes the gradients with respect to C3, C4 and C5 and leaves
// the trained parameters' gradients in Params; it stops at the frozen
// stages.
func (b *Backbone) Backward(dc [3]*tensor.Tensor) {
	g := dc[2]
	t := 1
	for i := len(b.layers) - 1; i >= b.trained; i-- {
		if t >= 0 && i+1 == b.taps[t] {
			g = b.sums[t].Forward(g, dc[t])
			t--
		}
		g = b.layers[i].Backward(g)
	}
}

// Params lists the trained parameters, in layer order.
func (b *Backbone) Params() []*nn.Param { return b.params }

// Buffers lists the fixed state: batch-norm statistics, scales and shifts,
// and the weights of frozen stages.
func (b *Backbone) Buffers() []*nn.Buffer { return b.buffers }
