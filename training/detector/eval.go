package detector

import (
	"context"
	"fmt"

	"github.com/genius-nas/genius/cocoeval"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/detection"
	"github.com/genius-nas/genius/training/networks"
)

// Detect runs inference on a batch: forward, then per image r.PostProcess
// (score threshold, top-k per level, per-class NMS, the best 100), in
// input coordinates.
func (r *Run) Detect(b coco.Batch) ([][]detection.Detection, error) {
	levels, err := r.forward(b)
	if err != nil {
		return nil, err
	}
	a := detection.RetinaNetAnchors()
	classes := r.Config.Classes
	na := networks.ImageAnchors(levels)
	cls, box := make([]float32, na*classes), make([]float32, na*4)
	anchors := make([][]detection.Box, len(levels))
	for l, lv := range levels {
		anchors[l] = a.Level(l, lv.Cls.H, lv.Cls.W)
	}
	out := make([][]detection.Detection, b.N)
	for i := range b.N {
		if err := networks.Gather(levels, i, cls, box); err != nil {
			return nil, err
		}
		lvs := make([]detection.Level[float32], len(levels))
		lo := 0
		for l := range levels {
			n := len(anchors[l])
			lvs[l] = detection.Level[float32]{Logits: cls[lo*classes : (lo+n)*classes], Deltas: box[4*lo : 4*(lo+n)], Anchors: anchors[l]}
			lo += n
		}
		m := b.Metas[i]
		dets, err := detection.Detect(r.PostProcess, detection.RetinaNetCoder(), lvs, classes, float64(m.W), float64(m.H))
		if err != nil {
			return nil, err
		}
		out[i] = dets
	}
	return out, nil
}

// Evaluate detects on every image of val (batches of batch images, no
// flips) and scores the results with COCO's bbox evaluation.
func (r *Run) Evaluate(ctx context.Context, val *coco.Dataset, batch int) (*cocoeval.Result, error) {
	if len(val.Classes) != r.Config.Classes {
		return nil, fmt.Errorf("detector: validation set has %d classes, the detector %d", len(val.Classes), r.Config.Classes)
	}
	t := r.Config.Transform()
	var dts []cocoeval.Detection
	for lo := 0; lo < val.Len(); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := make([]int, 0, batch)
		for i := lo; i < min(lo+batch, val.Len()); i++ {
			idx = append(idx, i)
		}
		b, err := t.Batch(val, idx, nil)
		if err != nil {
			return nil, err
		}
		dets, err := r.Detect(b)
		if err != nil {
			return nil, err
		}
		for i, d := range dets {
			res, err := val.Results(b.ImageIDs[i], b.Metas[i], d)
			if err != nil {
				return nil, err
			}
			for _, x := range res {
				dts = append(dts, cocoeval.Detection{ImageID: x.ImageID, CategoryID: x.CategoryID, BBox: cocoeval.Box(x.BBox), Score: x.Score})
			}
		}
	}
	return cocoeval.Evaluate(ctx, GroundTruth(val.Instances), dts, cocoeval.Options{})
}

// GroundTruth is an instances file as the COCO evaluation reads it.
func GroundTruth(in *coco.Instances) *cocoeval.GroundTruth {
	gt := &cocoeval.GroundTruth{}
	for _, im := range in.Images {
		gt.Images = append(gt.Images, cocoeval.Image{ID: im.ID})
	}
	for _, c := range in.Categories {
		gt.Categories = append(gt.Categories, cocoeval.Category{ID: c.ID, Name: c.Name})
	}
	for _, a := range in.Annotations {
		var bb cocoeval.Box
		copy(bb[:], a.BBox)
		gt.Annotations = append(gt.Annotations, cocoeval.Annotation{ID: a.ID, ImageID: a.ImageID, CategoryID: a.CategoryID,
			BBox: bb, Area: a.Area, IsCrowd: a.IsCrowd == 1})
	}
	return gt
}
