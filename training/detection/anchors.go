package detection

import (
	"fmt"
	"math"
)

// Anchors describes the anchors of each pyramid level, with mmdetection's
// AnchorGenerator conventions: a level's base size is its stride, the base
// anchors are centred on CenterOffset×stride of a cell's top-left corner
// (0: on the corner itself), and anchors are ordered by cell (row by row,
// left to right) and within a cell by ratio, then scale.
type Anchors struct {
	Strides         []int     // one per level, P3 first
	Ratios          []float64 // height/width
	OctaveBaseScale float64
	ScalesPerOctave int
	CenterOffset    float64 // in [0, 1), as a fraction of the stride
}

// RetinaNetAnchors are retinanet_r50_fpn_1x_coco's: levels P3–P7, 3 scales
// per octave from base scale 4, ratios 0.5, 1, 2: 9 anchors per cell.
func RetinaNetAnchors() Anchors {
	return Anchors{
		Strides:         []int{8, 16, 32, 64, 128},
		Ratios:          []float64{0.5, 1, 2},
		OctaveBaseScale: 4,
		ScalesPerOctave: 3,
	}
}

// Validate reports a configuration no detector can use.
func (a Anchors) Validate() error {
	switch {
	case len(a.Strides) == 0:
		return fmt.Errorf("detection: anchors need at least one stride")
	case len(a.Ratios) == 0:
		return fmt.Errorf("detection: anchors need at least one ratio")
	case a.OctaveBaseScale <= 0 || a.ScalesPerOctave <= 0:
		return fmt.Errorf("detection: anchor octave base scale %v and scales per octave %d must be positive", a.OctaveBaseScale, a.ScalesPerOctave)
	case a.CenterOffset < 0 || a.CenterOffset >= 1:
		return fmt.Errorf("detection: anchor centre offset %v must be in [0, 1)", a.CenterOffset)
	}
	for _, s := range a.Strides {
		if s <= 0 {
			return fmt.Errorf("detection: anchor stride %d must be positive", s)
		}
	}
	for _, r := range a.Ratios {
		if r <= 0 {
			return fmt.Errorf("detection: anchor ratio %v must be positive", r)
		}
	}
	return nil
}

// Scales are the octave scales OctaveBaseScale × 2^(i/ScalesPerOctave).
func (a Anchors) Scales() []float64 {
	s := make([]float64, a.ScalesPerOctave)
	for i := range s {
		s[i] = a.OctaveBaseScale * math.Pow(2, float64(i)/float64(a.ScalesPerOctave))
	}
	return s
}

// PerCell is the number of anchors at each location of a level.
func (a Anchors) PerCell() int { return len(a.Ratios) * a.ScalesPerOctave }

// Base are the anchors of level's cell (0, 0), ratio-major.
func (a Anchors) Base(level int) []Box {
	size := float64(a.Strides[level])
	c := a.CenterOffset * size
	out := make([]Box, 0, a.PerCell())
	for _, r := range a.Ratios {
		hr := math.Sqrt(r)
		wr := 1 / hr
		for _, s := range a.Scales() {
			w, h := size*wr*s, size*hr*s
			out = append(out, Box{c - 0.5*w, c - 0.5*h, c + 0.5*w, c + 0.5*h})
		}
	}
	return out
}

// FeatureSize is a level's feature map size (height, width) for an input
// of h×w pixels: each level halves the previous one rounding up, as
// stride-2 3×3 convolutions with padding 1 do; the first level divides by
// its stride rounding up.
func (a Anchors) FeatureSize(level, h, w int) (fh, fw int) {
	fh = (h + a.Strides[0] - 1) / a.Strides[0]
	fw = (w + a.Strides[0] - 1) / a.Strides[0]
	for l := 1; l <= level; l++ {
		f := a.Strides[l] / a.Strides[l-1]
		fh, fw = (fh+f-1)/f, (fw+f-1)/f
	}
	return fh, fw
}

// Level is every anchor of one level for a feature map of fh×fw cells.
func (a Anchors) Level(level, fh, fw int) []Box {
	base := a.Base(level)
	s := float64(a.Strides[level])
	out := make([]Box, 0, fh*fw*len(base))
	for y := 0; y < fh; y++ {
		for x := 0; x < fw; x++ {
			dx, dy := float64(x)*s, float64(y)*s
			for _, b := range base {
				out = append(out, Box{b.X1 + dx, b.Y1 + dy, b.X2 + dx, b.Y2 + dy})
			}
		}
	}
	return out
}

// Image is every level's anchors for an h×w (padded) input, P3 first.
func (a Anchors) Image(h, w int) [][]Box {
	out := make([][]Box, len(a.Strides))
	for l := range out {
		fh, fw := a.FeatureSize(l, h, w)
		out[l] = a.Level(l, fh, fw)
	}
	return out
}

// Valid flags the anchors of a level (fh×fw cells, as Level) that belong
// to an image of padded size h×w inside a larger padded batch: the cells
// within ceil(h/stride)×ceil(w/stride). The others cover only the batch's
// padding and take no part in training, as in mmdetection.
func (a Anchors) Valid(level, fh, fw, h, w int) []bool {
	s := a.Strides[level]
	vh, vw := min((h+s-1)/s, fh), min((w+s-1)/s, fw)
	out := make([]bool, 0, fh*fw*a.PerCell())
	for y := range fh {
		for x := range fw {
			for range a.PerCell() {
				out = append(out, y < vh && x < vw)
			}
		}
	}
	return out
}
