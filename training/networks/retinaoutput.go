package networks

import (
	"fmt"

	"github.com/genius-nas/genius/training/tensor"
)

// The detector's losses and post-processing work per image on flat
// anchor-major arrays: anchors level by level (P3 first), within a level
// cell by cell (row by row, left to right), within a cell in channel
// order; per anchor Classes logits or 4 deltas. These helpers convert
// between that order and the per-level tensors.

// ImageAnchors is the number of anchors of one image over levels.
func ImageAnchors(levels []Level) int {
	n := 0
	for _, l := range levels {
		n += l.Box.H * l.Box.W * l.Box.C / 4
	}
	return n
}

// Gather copies image img's predictions from levels into cls (anchors x
// classes logits) and box (anchors x 4 deltas), which must hold
// ImageAnchors(levels) anchors.
func Gather(levels []Level, img int, cls, box []float32) error {
	return walk(levels, img, cls, box, func(t *tensor.Tensor, flat []float32, ti, fi int) { flat[fi] = t.Data[ti] })
}

// Scatter writes image img's gradients with respect to its flat logits
// and deltas (as Gather lays them out) into per-level gradient tensors
// shaped like levels' Cls and Box; the other images' entries are left
// alone. dcls and dbox hold one tensor per level.
func Scatter(levels []Level, img int, gcls, gbox []float32, dcls, dbox []*tensor.Tensor) error {
	if len(dcls) != len(levels) || len(dbox) != len(levels) {
		return fmt.Errorf("networks: %d and %d gradient tensors for %d levels", len(dcls), len(dbox), len(levels))
	}
	grads := make([]Level, len(levels))
	for i, l := range levels {
		if !dcls[i].SameShape(l.Cls) || !dbox[i].SameShape(l.Box) {
			return fmt.Errorf("networks: level %d gradients %s and %s do not match predictions %s and %s", i, dcls[i], dbox[i], l.Cls, l.Box)
		}
		grads[i] = Level{Stride: l.Stride, Cls: dcls[i], Box: dbox[i]}
	}
	return walk(grads, img, gcls, gbox, func(t *tensor.Tensor, flat []float32, ti, fi int) { t.Data[ti] = flat[fi] })
}

// walk visits every element of image img in levels with its index in the
// tensor and in the flat arrays.
func walk(levels []Level, img int, cls, box []float32, visit func(t *tensor.Tensor, flat []float32, ti, fi int)) error {
	if len(levels) == 0 {
		return fmt.Errorf("networks: no levels")
	}
	anchors := ImageAnchors(levels)
	perCell := levels[0].Box.C / 4
	classes := levels[0].Cls.C / perCell
	if len(cls) != anchors*classes || len(box) != anchors*4 {
		return fmt.Errorf("networks: %d logits and %d deltas for %d anchors of %d classes", len(cls), len(box), anchors, classes)
	}
	if img < 0 || img >= levels[0].Cls.N {
		return fmt.Errorf("networks: image %d of a batch of %d", img, levels[0].Cls.N)
	}
	base := 0 // first anchor of the level
	for _, l := range levels {
		cells := l.Cls.H * l.Cls.W
		for _, out := range []struct {
			t     *tensor.Tensor
			flat  []float32
			width int // per anchor
		}{{l.Cls, cls, classes}, {l.Box, box, 4}} {
			n := out.t.N
			// Channel-outer: each channel's cells are one strided run.
			for c := 0; c < out.t.C; c++ {
				a, k := c/out.width, c%out.width
				for cell := 0; cell < cells; cell++ {
					visit(out.t, out.flat, (c*cells+cell)*n+img, ((base+cell*perCell+a)*out.width)+k)
				}
			}
		}
		base += cells * perCell
	}
	return nil
}
