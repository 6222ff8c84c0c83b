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
	n, ng := len(anchors), len(gts)
	out := make([]int, n)
	inCrowd := a.inCrowd(anchors, crowd)
	if ng == 0 {
		for i := range out {
			out[i] = Negative
			if inCrowd != nil && inCrowd[i] {
				out[i] = Ignored
			}
		}
		return out
	}
	// overlaps[i*ng+g] is IoU(anchor i, gt g), anchor-major so that each
	// anchor's row is contiguous; -1 for anchors in a crowd, which makes
	// them neither negative nor positive below (mmdetection's way).
	overlaps := make([]float64, n*ng)
	gtBest := make([]float64, ng)
	for g := range gtBest {
		gtBest[g] = -1
	}
	for i, an := range anchors {
		row := overlaps[i*ng : (i+1)*ng]
		best, arg := -1.0, 0
		for g, gt := range gts {
			v := -1.0
			if inCrowd == nil || !inCrowd[i] {
				v = IoU(an, gt)
			}
			row[g] = v
			if v > best {
				best, arg = v, g
			}
			gtBest[g] = max(gtBest[g], v)
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
	// Low-quality matches: each ground truth takes the anchors of its best
	// IoU; where several ground truths claim one anchor the later one wins,
	// as mmdetection's loop in ground-truth order does.
	claims := func(g int) bool {
		// best > 0: an anchor that does not touch the box cannot learn
		// it. mmdetection lacks this guard; it matters only for a box
		// whose every overlapping anchor lies in a crowd region, which
		// would otherwise claim every anchor it does not touch.
		return gtBest[g] >= a.MinPosIoU && gtBest[g] > 0
	}
	if !a.GtMaxAssignAll {
		for g := range gts {
			if !claims(g) {
				continue
			}
			for i := range anchors {
				if overlaps[i*ng+g] == gtBest[g] {
					out[i] = g // the first anchor of the best IoU only
					break
				}
			}
		}
		return out
	}
	for i := range anchors {
		row := overlaps[i*ng : (i+1)*ng]
		for g := ng - 1; g >= 0; g-- {
			if row[g] == gtBest[g] && claims(g) {
				out[i] = g
				break
			}
		}
	}
	return out
}

// inCrowd flags the anchors lying inside a crowd region (nil when none).
func (a Assigner) inCrowd(anchors, crowd []Box) []bool {
	if a.IgnoreIoF < 0 || len(crowd) == 0 {
		return nil
	}
	out := make([]bool, len(anchors))
	for i, an := range anchors {
		for _, c := range crowd {
			if IoF(an, c) > a.IgnoreIoF {
				out[i] = true
				break
			}
		}
	}
	return out
}
