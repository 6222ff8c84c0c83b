package detection

import "fmt"

// Targets are what the heads of one image are trained towards, per anchor
// in the order of the concatenated levels.
type Targets struct {
	// Labels is the class (0-based) a positive anchor must score, or
	// Negative, or Ignored.
	Labels []int
	// Deltas is the box a positive anchor must regress to, encoded; zero
	// for the others.
	Deltas [][4]float64
	NumPos int
}

// MakeTargets assigns anchors to the image's boxes (gts, with 0-based
// classes) and encodes the positives' boxes. Crowd regions only make
// anchors Ignored. valid (nil: all) flags the anchors that lie on this
// image rather than on the batch's padding (Anchors.Valid); the others
// are left out of the assignment and Ignored.
func MakeTargets(anchors []Box, valid []bool, gts []Box, classes []int, crowd []Box, a Assigner, c DeltaCoder) (Targets, error) {
	if len(gts) != len(classes) {
		return Targets{}, fmt.Errorf("detection: %d boxes but %d classes", len(gts), len(classes))
	}
	if valid != nil && len(valid) != len(anchors) {
		return Targets{}, fmt.Errorf("detection: %d valid flags for %d anchors", len(valid), len(anchors))
	}
	for i, g := range gts {
		if g.Width() <= 0 || g.Height() <= 0 {
			return Targets{}, fmt.Errorf("detection: ground-truth box %d %v is empty", i, g)
		}
	}
	idx := make([]int, 0, len(anchors)) // the valid anchors' indices
	for i := range anchors {
		if valid == nil || valid[i] {
			idx = append(idx, i)
		}
	}
	sub := anchors
	if len(idx) < len(anchors) {
		sub = make([]Box, len(idx))
		for k, i := range idx {
			sub[k] = anchors[i]
		}
	}
	t := Targets{Labels: make([]int, len(anchors)), Deltas: make([][4]float64, len(anchors))}
	for i := range t.Labels {
		t.Labels[i] = Ignored
	}
	for k, g := range a.Assign(sub, gts, crowd) {
		i := idx[k]
		if g < 0 {
			t.Labels[i] = g
			continue
		}
		t.Labels[i] = classes[g]
		t.Deltas[i] = c.Encode(anchors[i], gts[g])
		t.NumPos++
	}
	return t, nil
}

// Normaliser is what a batch's losses are divided by: the number of
// positive anchors, counting at least one per image (as mmdetection does)
// so an image without objects still trains its negatives.
func Normaliser(batch ...Targets) float64 {
	n := 0
	for _, t := range batch {
		n += max(t.NumPos, 1)
	}
	return float64(n)
}
