package detection

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Detection is one box the detector reports.
type Detection struct {
	Box   Box
	Score float64 // sigmoid of the class logit
	Class int     // 0-based
}

// PostProcess turns a network's outputs into detections, as mmdetection's
// dense-head test configuration.
type PostProcess struct {
	ScoreThr    float64 // (anchor, class) pairs scoring ≤ ScoreThr are dropped
	PreNMS      int     // per level, only the PreNMS best pairs are decoded; ≤ 0: all
	NMSIoU      float64 // a box overlapping a better one of its class by > NMSIoU is dropped
	MaxPerImage int     // ≤ 0: no limit
}

// RetinaNetPostProcess is score threshold 0.05, top 1000 per level,
// per-class NMS at IoU 0.5, 100 detections per image.
func RetinaNetPostProcess() PostProcess {
	return PostProcess{ScoreThr: 0.05, PreNMS: 1000, NMSIoU: 0.5, MaxPerImage: 100}
}

// Level is one pyramid level's outputs for one image: Logits anchor-major
// with numClasses per anchor, Deltas 4 per anchor, and its anchors.
type Level[F Float] struct {
	Logits, Deltas []F
	Anchors        []Box
}

// Detect returns an image's detections, best first, with boxes clipped to
// the image (imgW×imgH: the resized image before padding).
func Detect[F Float](p PostProcess, c DeltaCoder, levels []Level[F], numClasses int, imgW, imgH float64) ([]Detection, error) {
	var cand []Detection
	for l, lv := range levels {
		n := len(lv.Anchors)
		if len(lv.Logits) != n*numClasses || len(lv.Deltas) != 4*n {
			return nil, fmt.Errorf("detection: level %d has %d anchors but %d logits and %d deltas (want %d and %d)",
				l, n, len(lv.Logits), len(lv.Deltas), n*numClasses, 4*n)
		}
		type pair struct {
			idx   int // anchor*numClasses + class
			score float64
		}
		var pairs []pair
		// Most logits are far below the threshold: compare in logit space
		// first (with a margin for rounding), take the sigmoid after.
		cut := math.Log(p.ScoreThr/(1-p.ScoreThr)) - 1e-6
		for i, x := range lv.Logits {
			if float64(x) <= cut {
				continue
			}
			if s := sigmoid(float64(x)); s > p.ScoreThr {
				pairs = append(pairs, pair{i, s})
			}
		}
		// Ties keep the anchor order, so results do not depend on the sort.
		slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.score, a.score) })
		if p.PreNMS > 0 && len(pairs) > p.PreNMS {
			pairs = pairs[:p.PreNMS]
		}
		for _, pr := range pairs {
			a := pr.idx / numClasses
			d := [4]float64{float64(lv.Deltas[4*a]), float64(lv.Deltas[4*a+1]), float64(lv.Deltas[4*a+2]), float64(lv.Deltas[4*a+3])}
			cand = append(cand, Detection{Box: c.Decode(lv.Anchors[a], d, imgW, imgH), Score: pr.score, Class: pr.idx % numClasses})
		}
	}
	return BatchedNMS(cand, p.NMSIoU, p.MaxPerImage), nil
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// NMS is greedy non-maximum suppression: the indices of the boxes kept,
// highest score first (ties in index order). A box is dropped when its IoU
// with a kept box is greater than iou.
func NMS(boxes []Box, scores []float64, iou float64) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	suppressed := make([]bool, len(boxes))
	var keep []int
	for k, i := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, i)
		for _, j := range order[k+1:] {
			if !suppressed[j] && IoU(boxes[i], boxes[j]) > iou {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// BatchedNMS runs NMS within each class and returns at most maxDets (≤ 0:
// all) of the survivors, best first (ties in input order).
func BatchedNMS(dets []Detection, iou float64, maxDets int) []Detection {
	byClass := map[int][]int{}
	for i, d := range dets {
		byClass[d.Class] = append(byClass[d.Class], i)
	}
	var kept []int
	for _, idx := range byClass {
		boxes := make([]Box, len(idx))
		scores := make([]float64, len(idx))
		for k, i := range idx {
			boxes[k], scores[k] = dets[i].Box, dets[i].Score
		}
		for _, k := range NMS(boxes, scores, iou) {
			kept = append(kept, idx[k])
		}
	}
	// Sorting by (score, index) makes the map's order irrelevant.
	slices.SortFunc(kept, func(a, b int) int {
		if c := cmp.Compare(dets[b].Score, dets[a].Score); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if maxDets > 0 && len(kept) > maxDets {
		kept = kept[:maxDets]
	}
	out := make([]Detection, len(kept))
	for k, i := range kept {
		out[k] = dets[i]
	}
	return out
}
