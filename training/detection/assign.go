package detection

// Assignment values other than a ground-truth index.
const (
	Negative = -1 // background: trained towards "no object"
	Ignored  = -2 // neither positive nor negative: no loss
)

// Assigner matches anchors to ground-truth boxes by IoU, as mmdetection's
// MaxIoUAssigner.
type Assigner struct {
	PosIoU float64 // an anchor whose best IoU is ≥ PosIoU is positive
	NegIoU float64 // an anchor whose best IoU is < NegIoU is negative
	// MinPosIoU: each ground truth whose best IoU is ≥ MinPosIoU also takes
	// the anchors of that best IoU (all of them, tied ones included, when
	// GtMaxAssignAll), even below PosIoU, so no object goes unmatched.
	MinPosIoU      float64
	GtMaxAssignAll bool
	// IgnoreIoF: an anchor lying inside a crowd region by more than this
	// fraction of its area is Ignored. A crowd box marks many objects
	// nobody outlined, so calling such an anchor background would teach
	// the network to miss real objects. Negative disables it.
	IgnoreIoF float64
}

// RetinaNetAssigner is retinanet_r50_fpn_1x_coco's assigner (positive ≥ 0.5,
// negative < 0.4, min_pos_iou 0, gt_max_assign_all), with crowd regions
// ignored for anchors more than half inside one.
func RetinaNetAssigner() Assigner {
	return Assigner{PosIoU: 0.5, NegIoU: 0.4, MinPosIoU: 0, GtMaxAssignAll: true, IgnoreIoF: 0.5}
}

// Assign returns, for each anchor, the index into gts of the box it must
// predict, or Negative or Ignored. Crowd boxes are never targets.
func (a Assigner) Assign(anchors, gts, crowd []Box) []int {
	n := len(anchors)
	out := make([]int, n)
	if len(gts) == 0 {
		for i := range out {
			out[i] = Negative
		}
		a.ignoreCrowd(anchors, crowd, out, nil)
		return out
	}
	// overlaps[g*n+i] is IoU(anchor i, gt g); -1 for anchors in a crowd,
	// which makes them neither negative nor positive below.
	overlaps := make([]float64, len(gts)*n)
	for g, gt := range gts {
		row := overlaps[g*n : (g+1)*n]
		for i, an := range anchors {
			row[i] = IoU(an, gt)
		}
	}
	a.ignoreCrowd(anchors, crowd, nil, func(i int) {
		for g := range gts {
			overlaps[g*n+i] = -1
		}
	})
	for i := range anchors {
		best, arg := -1.0, 0
		for g := range gts {
			if v := overlaps[g*n+i]; v > best {
				best, arg = v, g
			}
		}
		switch {
		case best >= a.PosIoU:
			out[i] = arg
		case best >= 0 && best < a.NegIoU:
			out[i] = Negative
		default:
			out[i] = Ignored
		}
	}
	// Low-quality matches, in ground-truth order: a later box wins an
	// anchor that two boxes both have as their best.
	for g := range gts {
		row := overlaps[g*n : (g+1)*n]
		best, arg := -1.0, 0
		for i, v := range row {
			if v > best {
				best, arg = v, i
			}
		}
		// best > 0: an anchor that does not touch the box cannot learn
		// it. mmdetection lacks this guard; it matters only for a box
		// whose every overlapping anchor lies in a crowd region, which
		// would otherwise claim every anchor it does not touch.
		if best < a.MinPosIoU || best <= 0 {
			continue
		}
		if !a.GtMaxAssignAll {
			out[arg] = g
			continue
		}
		for i, v := range row {
			if v == best {
				out[i] = g
			}
		}
	}
	return out
}

// ignoreCrowd marks anchors inside a crowd region: in out when given, and
// through mark when given.
func (a Assigner) ignoreCrowd(anchors, crowd []Box, out []int, mark func(i int)) {
	if a.IgnoreIoF < 0 || len(crowd) == 0 {
		return
	}
	for i, an := range anchors {
		for _, c := range crowd {
			if IoF(an, c) > a.IgnoreIoF {
				if out != nil {
					out[i] = Ignored
				}
				if mark != nil {
					mark(i)
				}
				break
			}
		}
	}
}
