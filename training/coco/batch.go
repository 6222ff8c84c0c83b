package coco

import (
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/detection"
)

// Batch is a training or evaluation batch: N images normalised into one
// N×3×H×W input (zero padding right and below), with each image's objects
// and transform in input coordinates.
type Batch struct {
	Input    []float32
	N, H, W  int
	ImageIDs []int64
	Objects  []Objects
	Metas    []Meta
}

// Batch loads the images at indices, transforms them (flipping those whose
// flips entry is set; nil: none), pads them to a shared size and
// normalises them.
func (t Transform) Batch(ds *Dataset, indices []int, flips []bool) (Batch, error) {
	if flips != nil && len(flips) != len(indices) {
		return Batch{}, fmt.Errorf("coco: %d flips for %d images", len(flips), len(indices))
	}
	if err := t.Validate(); err != nil {
		return Batch{}, err
	}
	b := Batch{N: len(indices)}
	var imgs []Sample
	for k, i := range indices {
		s, err := ds.Sample(i)
		if err != nil {
			return Batch{}, err
		}
		img, objs, m := t.Apply(s.Image, s.Objects, flips != nil && flips[k])
		s.Image, s.Objects = img, objs
		imgs = append(imgs, s)
		b.ImageIDs = append(b.ImageIDs, s.ImageID)
		b.Objects = append(b.Objects, objs)
		b.Metas = append(b.Metas, m)
	}
	b.W, b.H = t.BatchSize(b.Metas)
	b.Input = make([]float32, b.N*3*b.H*b.W)
	for k, s := range imgs {
		if err := t.Normalise(s.Image, b.W, b.H, b.Input[k*3*b.H*b.W:(k+1)*3*b.H*b.W]); err != nil {
			return Batch{}, err
		}
	}
	return b, nil
}

// Flip is the horizontal-flip draw (probability ½) for a sample in an
// epoch: the same seed, epoch and index always give the same answer, so a
// resumed run sees the images it would have seen.
func Flip(seed uint64, epoch, index int) bool {
	return rand.New(rand.NewPCG(seed, uint64(epoch)<<32|uint64(uint32(index)))).IntN(2) == 1
}

// Result is one line of a COCO results file, as COCO's evaluation reads
// it.
type Result struct {
	ImageID    int64      `json:"image_id"`
	CategoryID int64      `json:"category_id"`
	BBox       [4]float64 `json:"bbox"` // x, y, width, height in the original image
	Score      float64    `json:"score"`
}

// Results turns one image's detections (in input coordinates, 0-based
// classes) into results on the original image with category ids.
func (d *Dataset) Results(imageID int64, m Meta, dets []detection.Detection) ([]Result, error) {
	out := make([]Result, 0, len(dets))
	for i, det := range dets {
		if det.Class < 0 || det.Class >= len(d.Classes) {
			return nil, fmt.Errorf("coco: detection %d has class %d of %d", i, det.Class, len(d.Classes))
		}
		b := m.Back(det.Box)
		out = append(out, Result{ImageID: imageID, CategoryID: d.Classes[det.Class].ID,
			BBox: [4]float64{b.X1, b.Y1, b.Width(), b.Height()}, Score: det.Score})
	}
	return out, nil
}
