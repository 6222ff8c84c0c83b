package networks

import "github.com/genius-nas/genius/training/nn"

// The accessors here expose a RetinaNet's layers to engines that compile
// it for another device (training/devnet); the CPU engine runs them
// through Forward and Backward.

// Layers returns the backbone's layers, the index past the layer whose
// output is each of C3, C4, C5, and the first trained layer (Backward
// stops there).
func (b *Backbone) Layers() (layers []nn.Layer, taps [3]int, trained int) {
	return b.layers, b.taps, b.trained
}

// FixedParams lists the backbone's parameters that are not trained (batch
// norms' scales and shifts, frozen stages' weights), in layer order: the
// parameters of Layers not among Params.
func (b *Backbone) FixedParams() []*nn.Param {
	trained := map[*nn.Param]bool{}
	for _, p := range b.params {
		trained[p] = true
	}
	var ps []*nn.Param
	for _, l := range b.layers {
		for _, p := range l.Params() {
			if !trained[p] {
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// Convs returns the pyramid's convolutions: the laterals and output
// convolutions of P3 to P5, P6's and P7's.
func (f *FPN) Convs() (lateral, output [3]*nn.Conv, p6, p7 *nn.Conv) {
	return f.lateral, f.output, f.p6, f.p7
}

// Subnets returns the head's shared convolutions: the stacked ones of the
// class and box subnets, and their output convolutions.
func (h *RetinaHead) Subnets() (clsConvs, boxConvs []*nn.TiedConv, cls, box *nn.TiedConv) {
	return h.clsConvs, h.boxConvs, h.cls, h.box
}
