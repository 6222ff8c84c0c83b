package cocoeval

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func evaluate(t *testing.T, gtJSON, dtJSON string) *Result {
	t.Helper()
	gt, err := ParseGroundTruth([]byte(gtJSON))
	if err != nil {
		t.Fatalf("ground truth: %v", err)
	}
	dts, err := ParseDetections([]byte(dtJSON))
	if err != nil {
		t.Fatalf("detections: %v", err)
	}
	res, err := Evaluate(context.Background(), gt, dts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.17g, want %.17g", name, got, want)
	}
}

const oneImage = `{"images": [{"id": 7}], "categories": [{"id": 3, "name": "box"}, {"id": 9, "name": "empty"}], "annotations": [`

// Equal scores keep file order: a miss listed before a hit ranks first.
func TestTiedScoresKeepFileOrder(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`
	miss := `{"image_id": 7, "category_id": 3, "bbox": [200, 200, 50, 50], "score": 0.5}`
	hit := `{"image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}`

	res := evaluate(t, gt, "["+miss+","+hit+"]")
	// Miss then hit: precision 0 then 1/2, made monotone: 1/2 at every point.
	near(t, "AP", res.AP, 0.5)
	near(t, "AR1", res.AR1, 0) // the one detection allowed is the miss
	near(t, "AR10", res.AR10, 1)

	res = evaluate(t, gt, "["+hit+","+miss+"]")
	near(t, "AP", res.AP, 1)
	near(t, "AR1", res.AR1, 1)
}

// A detection overlapping two objects equally takes the later one, which
// leaves the earlier one to the next detection only at low thresholds.
func TestEqualOverlapTakesLaterObject(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [-1, 0, 10, 10], "area": 100, "iscrowd": 0},
		{"id": 2, "image_id": 7, "category_id": 3, "bbox": [1, 0, 10, 10], "area": 100, "iscrowd": 0}]}`
	dt := `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 10, 10], "score": 0.9},
		{"image_id": 7, "category_id": 3, "bbox": [1, 0, 10, 10], "score": 0.8}]`
	res := evaluate(t, gt, dt)
	// The first detection has IoU 90/110 with both objects and takes the
	// second; the other detection (the second object's box) has IoU 80/120
	// with the first object. Thresholds .50–.65: both hit, AP 1.
	// .70–.80: hit then miss, precision 1 up to recall .5 (51 of 101
	// points). .85–.95: the first misses, the second hits its own box:
	// precision 1/2 up to recall .5.
	want := (4 + 3*51.0/101 + 3*25.5/101) / 10
	near(t, "AP", res.AP, want)
}

// Area ranges include both ends, for objects (by their area field) and
// for unmatched detections (by width × height).
func TestAreaRangeBoundaries(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 40, 40], "area": 1024, "iscrowd": 0}]}`
	hit := `{"image_id": 7, "category_id": 3, "bbox": [0, 0, 40, 40], "score": 0.5}`
	res := evaluate(t, gt, "["+hit+"]")
	near(t, "APs", res.APs, 1) // area 1024 = 32² is small ...
	near(t, "APm", res.APm, 1) // ... and medium
	near(t, "APl", res.APl, -1)
	near(t, "ARl", res.ARl, -1)

	// An unmatched 32×32 detection is inside the small range: a false
	// positive there, ranked first.
	miss := `{"image_id": 7, "category_id": 3, "bbox": [300, 300, 32, 32], "score": 0.9}`
	res = evaluate(t, gt, "["+miss+","+hit+"]")
	near(t, "APs", res.APs, 0.5)
	// A 33×33 one lies outside it and is ignored there.
	miss = `{"image_id": 7, "category_id": 3, "bbox": [300, 300, 33, 33], "score": 0.9}`
	res = evaluate(t, gt, "["+miss+","+hit+"]")
	near(t, "APs", res.APs, 1)
	near(t, "AP", res.AP, 0.5)
}

// The reference overwrites an annotation's ignore flag with iscrowd.
func TestIgnoreFlagFollowsIsCrowd(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0, "ignore": 1}]}`
	res := evaluate(t, gt, `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}]`)
	near(t, "AP", res.AP, 1)
}

// A crowd region takes any number of detections (IoU over the detection's
// own area) and they count neither way; with no other object there is
// nothing to average.
func TestCrowdRegion(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 100, 100], "area": 10000, "iscrowd": 1},
		{"id": 2, "image_id": 7, "category_id": 3, "bbox": [300, 300, 50, 50], "area": 2500, "iscrowd": 0}]}`
	// Two small detections inside the crowd (IoU 1 by the crowd rule,
	// 0.04 by the usual one), ranked above the one hit.
	dt := `[{"image_id": 7, "category_id": 3, "bbox": [10, 10, 20, 20], "score": 0.9},
		{"image_id": 7, "category_id": 3, "bbox": [50, 50, 20, 20], "score": 0.8},
		{"image_id": 7, "category_id": 3, "bbox": [300, 300, 50, 50], "score": 0.7}]`
	res := evaluate(t, gt, dt)
	near(t, "AP", res.AP, 1)
	near(t, "AR100", res.AR100, 1)
	near(t, "AR1", res.AR1, 0) // the top detection is in the crowd
}

// A category without ground truth is -1 and left out of the means;
// detections in it do not count against the others.
func TestCategoryWithoutGroundTruth(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`
	res := evaluate(t, gt, `[{"image_id": 7, "category_id": 9, "bbox": [0, 0, 50, 50], "score": 0.9},
		{"image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}]`)
	near(t, "AP", res.AP, 1)
	if len(res.PerCategory) != 2 || res.PerCategory[0].ID != 3 || res.PerCategory[1].ID != 9 {
		t.Fatalf("per category = %+v", res.PerCategory)
	}
	near(t, "AP of category 9", res.PerCategory[1].AP, -1)
	near(t, "AP of category 3", res.PerCategory[0].AP, 1)

	// No detections at all: zero where there is ground truth.
	res = evaluate(t, gt, `[]`)
	near(t, "AP", res.AP, 0)
	near(t, "AR100", res.AR100, 0)
	near(t, "APs", res.APs, -1)
}

// The reference records a match by the object's id, so an object with id
// 0 never counts as found.
func TestObjectIDZeroNeverMatches(t *testing.T) {
	gt := oneImage + `{"id": 0, "image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`
	res := evaluate(t, gt, `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}]`)
	near(t, "AP", res.AP, 0)
}

func TestLinspaceMatchesNumpy(t *testing.T) {
	// numpy.linspace's start + i·(stop-start)/(num-1), evaluated in
	// Python floats and printed with repr(): .9 is one ulp low.
	wantIoU := []float64{0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95}
	for i, w := range wantIoU {
		if iouThresholds[i] != w {
			t.Errorf("IoU threshold %d = %.17g, want %.17g", i, iouThresholds[i], w)
		}
	}
	if recallThresholds[57] != 0.5700000000000001 || recallThresholds[58] != 0.58 || recallThresholds[100] != 1 {
		t.Errorf("recall thresholds 57, 58, 100 = %.17g, %.17g, %.17g", recallThresholds[57], recallThresholds[58], recallThresholds[100])
	}
	if thresholdIndex(0.75) != 5 || thresholdIndex(0.5) != 0 {
		t.Errorf("thresholdIndex(.75), (.5) = %d, %d", thresholdIndex(0.75), thresholdIndex(0.5))
	}
}

func TestBadInput(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`
	good := `{"image_id": 7, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}`
	tests := []struct {
		name, gt, dt string
		want         []string
	}{
		{"detections not JSON", gt, `[` + good + `,{"image_id": 7,, }]`, []string{"detections[1]", "not valid JSON at byte"}},
		{"detections truncated", gt, `[` + good, []string{"not valid JSON", "end of the file"}},
		{"detections an object", gt, gt, []string{"JSON array of detections", "ground-truth file?"}},
		{"unknown image", gt, `[` + good + `,{"image_id": 8, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.1}]`,
			[]string{"detections[1] (image_id 8, category_id 3)", "image_id 8 is not among the ground truth's images"}},
		{"unknown category", gt, `[{"image_id": 7, "category_id": 4, "bbox": [0, 0, 5, 5], "score": 0.1}]`,
			[]string{"detections[0] (image_id 7, category_id 4)", "category_id 4 is not among"}},
		{"negative box", gt, `[` + good + `,` + good + `,{"image_id": 7, "category_id": 3, "bbox": [0, 0, -5, 5], "score": 0.1}]`,
			[]string{"detections[2] (image_id 7, category_id 3)", "negative width or height"}},
		{"no score", gt, `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5]}]`, []string{"detections[0]", `no "score"`}},
		{"short bbox", gt, `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5], "score": 1}]`, []string{"detections[0]", "bbox has 3 numbers"}},
		{"string id", gt, `[{"image_id": "7", "category_id": 3, "bbox": [0, 0, 5, 5], "score": 1}]`, []string{"detections[0]", "image_id", "want a number"}},
		{"trailing text", gt, `[` + good + `] x`, []string{"after the top-level value"}},
		{"ground truth not JSON", `{"images": [}`, `[]`, []string{"not valid JSON"}},
		{"ground truth a list", `[]`, `[]`, []string{"COCO instances file is a JSON object"}},
		{"annotation on unknown image", oneImage + `{"id": 5, "image_id": 1, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25}]}`, `[]`,
			[]string{"annotations[0] (id 5)", "image_id 1 is not in the images list"}},
		{"annotation negative box", oneImage + `{"id": 5, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, -5], "area": 25}]}`, `[]`,
			[]string{"annotations[0] (id 5)", "negative"}},
		{"annotation without area", oneImage + `{"id": 5, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5]}]}`, `[]`,
			[]string{"annotations[0] (id 5)", `no "area"`}},
		{"repeated annotation id", oneImage + `{"id": 5, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25},
			{"id": 5, "image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25}]}`, `[]`,
			[]string{"annotations[1] (id 5)", "repeats annotations[0]"}},
		{"repeated image id", `{"images": [{"id": 1}, {"id": 1}], "categories": [], "annotations": []}`, `[]`,
			[]string{"images[1] (id 1)", "repeats images[0]"}},
		{"no categories", `{"images": [], "annotations": []}`, `[]`, []string{`no "categories"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := evaluateErr(tt.gt, tt.dt)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func evaluateErr(gtJSON, dtJSON string) error {
	gt, err := ParseGroundTruth([]byte(gtJSON))
	if err != nil {
		return err
	}
	dts, err := ParseDetections([]byte(dtJSON))
	if err != nil {
		return err
	}
	_, err = Evaluate(context.Background(), gt, dts, Options{})
	return err
}

func TestEntryErrorUnwraps(t *testing.T) {
	gt := oneImage + `]}`
	err := evaluateErr(gt, `[{"image_id": 7, "category_id": 4, "bbox": [0, 0, 5, 5], "score": 0.1}]`)
	var ee *EntryError
	if !errors.As(err, &ee) || ee.List != "detections" || ee.Index != 0 {
		t.Fatalf("error %v is not an EntryError for detections[0]", err)
	}
}

func TestCancelled(t *testing.T) {
	gt, _ := ParseGroundTruth([]byte(oneImage + `]}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, gt, nil, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// An IoU equal to a threshold matches at that threshold.
func TestIoUExactlyAtThreshold(t *testing.T) {
	gt := oneImage + `{"id": 1, "image_id": 7, "category_id": 3, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}`
	// Half the object: intersection 50, union 100.
	res := evaluate(t, gt, `[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 10, 5], "score": 0.5}]`)
	near(t, "AP50", res.AP50, 1)
	near(t, "AP75", res.AP75, 0)
	near(t, "AP", res.AP, 0.1)
}

// Escaped member names and unknown members of any shape are read as JSON.
func TestParseEscapesAndUnknownMembers(t *testing.T) {
	gt := `{"info": {"a": [1, {"b": null}], "c": "x\"y"}, "images": [{"id": 7, "flickr": true}],
		"categories": [{"id": 3, "name": "caf\u00e9"}],
		"annotations": [{"id": 1, "image_\u0069d": 7, "category_id": 3, "segmentation": [[1.5e1, -2E-1]],
			"bbox": [0, 0, 50, 50], "area": 2500.0, "iscrowd": false}]}`
	dt := `[{"image_id": 7.0, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5, "extra": {"k": []}}]`
	res := evaluate(t, gt, dt)
	near(t, "AP", res.AP, 1)
	if res.PerCategory[0].Name != "café" {
		t.Errorf("category name %q, want café", res.PerCategory[0].Name)
	}
	for _, bad := range []string{`[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.5, "x": tru}]`,
		`[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 01}]`,
		`[{"image_id": 7.5, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 1}]`,
		`[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 1e999}]`,
		`[{"image_id": 7, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 1, "s": "open}]`} {
		if _, err := ParseDetections([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Ids anywhere in int64 are looked up, compact or not.
func TestExtremeIDs(t *testing.T) {
	gt := `{"images": [{"id": -5}, {"id": 9223372036854775807}], "categories": [{"id": 3}],
		"annotations": [{"id": 1, "image_id": -5, "category_id": 3, "bbox": [0, 0, 50, 50], "area": 2500}]}`
	res := evaluate(t, gt, `[{"image_id": -5, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.5}]`)
	near(t, "AP", res.AP, 1)
	gt = `{"images": [{"id": -5}, {"id": 1}], "categories": [{"id": 3}], "annotations": []}`
	err := evaluateErr(gt, `[{"image_id": 9223372036854775807, "category_id": 3, "bbox": [0, 0, 5, 5], "score": 0.5}]`)
	if err == nil || !strings.Contains(err.Error(), "not among the ground truth's images") {
		t.Errorf("err = %v", err)
	}
}
