package detection

// Box is an axis-aligned box, corners (X1, Y1) top-left and (X2, Y2)
// bottom-right, in pixels.
type Box struct{ X1, Y1, X2, Y2 float64 }

// Width is X2-X1.
func (b Box) Width() float64 { return b.X2 - b.X1 }

// Height is Y2-Y1.
func (b Box) Height() float64 { return b.Y2 - b.Y1 }

// Area is the box's area, 0 for an empty or inverted box.
func (b Box) Area() float64 { return max(b.Width(), 0) * max(b.Height(), 0) }

// intersection is the area a and b share.
func intersection(a, b Box) float64 {
	w := min(a.X2, b.X2) - max(a.X1, b.X1)
	h := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// overlapEps keeps IoU and IoF finite for empty boxes, as mmdetection's
// bbox_overlaps does.
const overlapEps = 1e-6

// IoU is the intersection over union of a and b.
func IoU(a, b Box) float64 {
	in := intersection(a, b)
	if in == 0 {
		return 0 // most pairs: skip the areas
	}
	return in / max(a.Area()+b.Area()-in, overlapEps)
}

// IoF is the intersection over a's area (the "foreground"): how much of a
// lies inside b.
func IoF(a, b Box) float64 {
	return intersection(a, b) / max(a.Area(), overlapEps)
}
