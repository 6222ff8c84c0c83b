// Package cocoeval scores object detections against COCO ground truth the
// way pycocotools' COCOeval does for bounding boxes (iouType "bbox",
// default parameters), to the last decision: IoU thresholds .50:.05:.95,
// 101 recall points with interpolated precision, the small/medium/large
// area ranges taken from the ground truth's area, 1/10/100 detections per
// image, crowd regions (IoU over the detection's area, matched any number of
// times, ignored), detections sorted by score with ties in file order, and
// -1 wherever there is nothing to average.
package cocoeval

import "fmt"

// Box is [x, y, width, height] in pixels, as COCO files write it.
type Box [4]float64

// Image is a ground-truth image; only its id matters here.
type Image struct {
	ID int64
}

// Category is a ground-truth category.
type Category struct {
	ID   int64
	Name string
}

// Annotation is a ground-truth object.
type Annotation struct {
	ID         int64
	ImageID    int64
	CategoryID int64
	BBox       Box
	// Area decides the object's area range (not BBox's width × height).
	Area float64
	// IsCrowd marks a region of many objects: a detection on it is
	// neither a hit nor a miss. The reference also takes it as the
	// annotation's ignore flag, overwriting any "ignore" in the file.
	IsCrowd bool
}

// Detection is one entry of a COCO results file.
type Detection struct {
	ImageID    int64
	CategoryID int64
	BBox       Box
	Score      float64
}

// GroundTruth is a COCO instances file as far as bbox evaluation reads it.
type GroundTruth struct {
	Images      []Image
	Categories  []Category
	Annotations []Annotation
}

// Stats are the twelve summary numbers, in the reference's order, as
// fractions; -1 where there is nothing to average.
type Stats struct {
	AP    float64 `json:"AP"`   // IoU .50:.95, all areas, 100 detections
	AP50  float64 `json:"AP50"` // IoU .50
	AP75  float64 `json:"AP75"` // IoU .75
	APs   float64 `json:"APs"`  // area < 32²
	APm   float64 `json:"APm"`  // 32² ≤ area ≤ 96²
	APl   float64 `json:"APl"`  // area > 96²
	AR1   float64 `json:"AR1"`  // recall with 1 detection per image
	AR10  float64 `json:"AR10"`
	AR100 float64 `json:"AR100"`
	ARs   float64 `json:"ARs"`
	ARm   float64 `json:"ARm"`
	ARl   float64 `json:"ARl"`
}

// Slice returns the stats in the reference's order.
func (s Stats) Slice() []float64 {
	return []float64{s.AP, s.AP50, s.AP75, s.APs, s.APm, s.APl, s.AR1, s.AR10, s.AR100, s.ARs, s.ARm, s.ARl}
}

// CategoryAP is one category's AP (IoU .50:.95, all areas, 100
// detections); -1 when the category has no ground truth.
type CategoryAP struct {
	ID   int64
	Name string
	AP   float64
}

// Result is what Evaluate computes.
type Result struct {
	Stats
	// PerCategory is sorted by category id.
	PerCategory []CategoryAP
	// Images, Annotations and Detections count what was evaluated.
	Images, Annotations, Detections int
}

// EntryError is a bad entry of the ground truth or the detections.
type EntryError struct {
	List  string // "images", "categories", "annotations" or "detections"
	Index int    // position in the list
	Label string // the entry's ids, e.g. "id 17" or "image_id 5, category_id 3"
	Err   error
}

func (e *EntryError) Error() string {
	if e.Label == "" {
		return fmt.Sprintf("%s[%d]: %v", e.List, e.Index, e.Err)
	}
	return fmt.Sprintf("%s[%d] (%s): %v", e.List, e.Index, e.Label, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }
