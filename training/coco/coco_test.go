package coco

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/detection"
)

func TestSyntheticLoads(t *testing.T) {
	dir := t.TempDir()
	sums, err := WriteSynthetic(dir, SyntheticOptions{Train: 5, Val: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[0].Images != 5 || sums[1].Images != 3 {
		t.Fatalf("summaries %+v", sums)
	}
	seenCat := map[int]bool{}
	for _, sum := range sums {
		if sum.Crowd < 1 || sum.Objects < sum.Images {
			t.Errorf("%s: %d objects and %d crowd regions in %d images", sum.Split, sum.Objects, sum.Crowd, sum.Images)
		}
		ds, err := Open(AnnotationPath(dir, sum.Split), ImageDir(dir, sum.Split))
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != sum.Images || len(ds.Classes) != 3 {
			t.Fatalf("%s: %d images, %d classes", sum.Split, ds.Len(), len(ds.Classes))
		}
		objects, crowd := 0, 0
		for i := range ds.Len() {
			s, err := ds.Sample(i)
			if err != nil {
				t.Fatal(err)
			}
			objects += len(s.Boxes)
			crowd += len(s.Crowd)
			for k, b := range append(s.Boxes, s.Crowd...) {
				if b.X1 < 0 || b.Y1 < 0 || b.X2 > float64(s.Image.W) || b.Y2 > float64(s.Image.H) || b.Width() < 1 || b.Height() < 1 {
					t.Errorf("%s image %d box %d %v outside its %d×%d image", sum.Split, i, k, b, s.Image.W, s.Image.H)
				}
			}
			for _, c := range s.Classes {
				seenCat[c] = true
			}
		}
		if objects != sum.Objects || crowd != sum.Crowd {
			t.Errorf("%s: loader read %d objects and %d crowd regions, generator wrote %d and %d", sum.Split, objects, crowd, sum.Objects, sum.Crowd)
		}
		// Segmentations are written (the loader skips them).
		raw, err := os.ReadFile(sum.Annotations)
		if err != nil {
			t.Fatal(err)
		}
		var written Instances
		if err := json.Unmarshal(raw, &written); err != nil {
			t.Fatal(err)
		}
		for _, a := range written.Annotations {
			boxArea := a.BBox[2] * a.BBox[3]
			// A shape covers between about half (a triangle) and π/4 (an
			// ellipse) to all (a rectangle) of its box; a crowd less.
			if a.IsCrowd == 1 {
				// Run-length encoding: runs cover the image, the runs of
				// ones (odd positions) add up to the area.
				var rle struct {
					Counts []int `json:"counts"`
					Size   []int `json:"size"`
				}
				if err := json.Unmarshal(a.Segmentation, &rle); err != nil || len(rle.Size) != 2 {
					t.Fatalf("crowd annotation %d: segmentation %s: %v", a.ID, a.Segmentation, err)
				}
				total, ones := 0, 0
				for k, c := range rle.Counts {
					total += c
					if k%2 == 1 {
						ones += c
					}
				}
				if total != rle.Size[0]*rle.Size[1] || float64(ones) != a.Area {
					t.Errorf("crowd annotation %d: runs cover %d of %v pixels, %d ones for area %v", a.ID, total, rle.Size, ones, a.Area)
				}
			}
			if a.Area <= 0 || a.Area > boxArea || (a.IsCrowd == 0 && a.Area < 0.4*boxArea) || len(a.Segmentation) == 0 {
				t.Errorf("annotation %d: area %v for box %v (crowd %d)", a.ID, a.Area, a.BBox, a.IsCrowd)
			}
		}
	}
	if len(seenCat) != 3 {
		t.Errorf("classes seen %v, want all three", seenCat)
	}
	// The same seed writes the same bytes; another seed other images.
	again := t.TempDir()
	if _, err := WriteSynthetic(again, SyntheticOptions{Train: 5, Val: 3, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := WriteSynthetic(other, SyntheticOptions{Train: 5, Val: 3, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"annotations/instances_train2017.json", "annotations/instances_val2017.json", "train2017/000000000001.jpg", "val2017/000000000008.jpg"} {
		a, _ := os.ReadFile(filepath.Join(dir, rel))
		b, _ := os.ReadFile(filepath.Join(again, rel))
		c, _ := os.ReadFile(filepath.Join(other, rel))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with seed 7", rel)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s is the same for seeds 7 and 8", rel)
		}
	}
	if _, err := WriteSynthetic(dir, SyntheticOptions{Train: 1, Val: 1}); !errors.Is(err, ErrExists) {
		t.Errorf("writing over a dataset: %v", err)
	}
	if _, err := WriteSynthetic(dir, SyntheticOptions{Train: 1, Val: 1, Overwrite: true}); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

// paint fills box (pixel centres inside it) of img with red.
func paint(img data.Image, b detection.Box) {
	for y := range img.H {
		for x := range img.W {
			px, py := float64(x)+0.5, float64(y)+0.5
			if px > b.X1 && px < b.X2 && py > b.Y1 && py < b.Y2 {
				copy(img.Pix[3*(y*img.W+x):], []uint8{255, 0, 0})
			}
		}
	}
}

// redBox is the box of the pixels that are mostly red.
func redBox(img data.Image) detection.Box {
	b := detection.Box{X1: 1e9, Y1: 1e9, X2: -1, Y2: -1}
	for y := range img.H {
		for x := range img.W {
			p := img.Pix[3*(y*img.W+x):]
			if p[0] > 128+64 && p[1] < 128-32 {
				b.X1, b.Y1 = min(b.X1, float64(x)), min(b.Y1, float64(y))
				b.X2, b.Y2 = max(b.X2, float64(x+1)), max(b.Y2, float64(y+1))
			}
		}
	}
	return b
}

func TestTransformFollowsPixels(t *testing.T) {
	tr := RetinaNetTransform()
	for _, c := range []struct {
		w, h   int
		box    detection.Box
		nw, nh int
	}{
		// 200×150: ×min(1333/200, 800/150) = ×5.333 → 1067×800.
		{200, 150, detection.Box{X1: 40, Y1: 30, X2: 90, Y2: 70}, 1067, 800},
		// 150×300 (tall): ×min(1333/300, 800/150) = ×4.443 → 667×1333.
		{150, 300, detection.Box{X1: 10, Y1: 200, X2: 37, Y2: 290}, 667, 1333},
		// 2000×1000 (large): ×min(1333/2000, 800/1000) = ×0.6665 → 1333×667.
		{2000, 1000, detection.Box{X1: 1500, Y1: 100, X2: 1990, Y2: 400}, 1333, 667},
	} {
		img := data.Image{W: c.w, H: c.h, Pix: bytes.Repeat([]uint8{90, 140, 90}, c.w*c.h)}
		paint(img, c.box)
		for _, flip := range []bool{false, true} {
			out, objs, meta := tr.Apply(img, Objects{Boxes: []detection.Box{c.box}, Classes: []int{0}}, flip)
			if out.W != c.nw || out.H != c.nh || meta.W != c.nw || meta.H != c.nh {
				t.Fatalf("%d×%d resized to %d×%d, want %d×%d", c.w, c.h, out.W, out.H, c.nw, c.nh)
			}
			got, drawn := objs.Boxes[0], redBox(out)
			if !boxWithin(got, drawn, 1) {
				t.Errorf("%d×%d flip %v: box maps to %v, the red pixels span %v", c.w, c.h, flip, got, drawn)
			}
			if back := meta.Back(got); !boxWithin(back, c.box, 1e-9) {
				t.Errorf("%d×%d flip %v: box maps back to %v, want %v", c.w, c.h, flip, back, c.box)
			}
		}
	}
}

func boxWithin(a, b detection.Box, tol float64) bool {
	d := max(abs(a.X1-b.X1), abs(a.Y1-b.Y1), abs(a.X2-b.X2), abs(a.Y2-b.Y2))
	return d <= tol
}

func abs(v float64) float64 { return max(v, -v) }

func TestTransformClipsAndPads(t *testing.T) {
	tr := RetinaNetTransform()
	m := Meta{OrigW: 100, OrigH: 50, W: 200, H: 100, ScaleX: 2, ScaleY: 2}
	// A box reaching past the image is clipped to it.
	if b := m.Forward(detection.Box{X1: -5, Y1: 10, X2: 120, Y2: 60}); b != (detection.Box{X1: 0, Y1: 20, X2: 200, Y2: 100}) {
		t.Errorf("clipped box %v", b)
	}
	m.Flipped = true
	if b := m.Forward(detection.Box{X1: 10, Y1: 0, X2: 30, Y2: 5}); b != (detection.Box{X1: 140, Y1: 0, X2: 180, Y2: 10}) {
		t.Errorf("flipped box %v", b)
	}
	if w, h := PadSize(1067, 800, 32); w != 1088 || h != 800 {
		t.Errorf("padded 1067×800 to %d×%d", w, h)
	}
	// A batch is padded to its largest sides, rounded up to 32.
	w, h := tr.BatchSize([]Meta{{W: 1067, H: 800}, {W: 667, H: 1333}})
	if w != 1088 || h != 1344 {
		t.Errorf("batch of 1067×800 and 667×1333 padded to %d×%d, want 1088×1344", w, h)
	}
	img := data.Image{W: 2, H: 1, Pix: []uint8{123, 116, 103, 255, 0, 0}}
	dst := make([]float32, 3*2*4)
	for i := range dst {
		dst[i] = 7 // stale values must go
	}
	if err := tr.Normalise(img, 4, 2, dst); err != nil {
		t.Fatal(err)
	}
	// Red of pixel 1: (255-123.675)/58.395 = 2.2489; padding 0.
	if v := dst[1]; abs(float64(v)-2.24891) > 1e-4 {
		t.Errorf("normalised red %v", v)
	}
	if dst[2] != 0 || dst[4] != 0 || dst[3*2*4-1] != 0 {
		t.Errorf("padding not zero: %v", dst)
	}
	if err := tr.Normalise(img, 1, 2, make([]float32, 6)); err == nil {
		t.Error("image wider than the input accepted")
	}
}

func TestObjectsFilterAndClasses(t *testing.T) {
	in, err := ParseInstances([]byte(`{
	 "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
	 "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 5, "name": "airplane"}],
	 "annotations": [
	  {"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 10, 20, 30], "area": 600, "iscrowd": 0},
	  {"id": 2, "image_id": 1, "category_id": 90, "bbox": [0, 0, 100, 80], "area": 3000, "iscrowd": 1},
	  {"id": 3, "image_id": 1, "category_id": 1, "bbox": [10, 10, 0.5, 30], "area": 15, "iscrowd": 0},
	  {"id": 4, "image_id": 1, "category_id": 1, "bbox": [120, 10, 5, 5], "area": 25, "iscrowd": 0},
	  {"id": 5, "image_id": 1, "category_id": 1, "bbox": [10, 10, 5, 5], "area": 0, "iscrowd": 0},
	  {"id": 6, "image_id": 1, "category_id": 1, "bbox": [10, 10, 5, 5], "area": 25, "iscrowd": 0, "ignore": true},
	  {"id": 7, "image_id": 1, "category_id": 90, "bbox": [50, 40, 60, 50], "area": 100, "iscrowd": 0}
	 ]}`))
	if err != nil {
		t.Fatal(err)
	}
	o := New(in, "").Objects(0)
	// Classes by category id: 1 → 0, 5 → 1, 90 → 2. Kept: 1 (airplane)
	// and 7 (toothbrush, partly outside); 3 is under a pixel wide, 4
	// outside the image, 5 without area, 6 ignored; 2 is a crowd.
	want := []detection.Box{{X1: 10, Y1: 10, X2: 30, Y2: 40}, {X1: 50, Y1: 40, X2: 110, Y2: 90}}
	if len(o.Boxes) != 2 || o.Boxes[0] != want[0] || o.Boxes[1] != want[1] || o.Classes[0] != 1 || o.Classes[1] != 2 {
		t.Errorf("objects %+v", o)
	}
	if len(o.Crowd) != 1 || o.Crowd[0] != (detection.Box{X1: 0, Y1: 0, X2: 100, Y2: 80}) {
		t.Errorf("crowd %v", o.Crowd)
	}
}

func TestMalformedInstances(t *testing.T) {
	good := `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12}`
	doc := func(anns ...string) string {
		return `{"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
"categories": [{"id": 1, "name": "x"}],
"annotations": [` + strings.Join(anns, ",\n") + `]}`
	}
	for _, c := range []struct {
		name, doc, want string
	}{
		{"syntax", doc(good, `{"id": 2,, }`), "line 4"},
		{"truncated", doc(good)[:60], "ends early"},
		{"bbox type", doc(good, `{"id": 2, "image_id": 1, "category_id": 1, "bbox": "1 2 3 4"}`), `annotations[1]: "bbox"`},
		{"bbox length", doc(good, `{"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}`), "annotations[1] (id 2): bbox has 3 numbers"},
		{"negative box", doc(`{"id": 9, "image_id": 1, "category_id": 1, "bbox": [1, 2, -3, 4]}`), "annotations[0] (id 9): bbox [1 2 -3 4] has a negative width"},
		{"missing bbox", doc(good, good, `{"id": 3, "image_id": 1, "category_id": 1}`), `annotations[2]: "bbox" is missing`},
		{"unknown image", doc(`{"id": 5, "image_id": 99, "category_id": 1, "bbox": [1, 2, 3, 4]}`), "annotations[0] (id 5): image_id 99 is not in images"},
		{"unknown category", doc(`{"id": 5, "image_id": 1, "category_id": 7, "bbox": [1, 2, 3, 4]}`), "annotations[0] (id 5): category_id 7"},
		{"duplicate annotation", doc(good, good), "annotations[1] (id 1): id appears twice"},
		{"crowd flag", doc(`{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 2}`), "iscrowd is 2"},
		{"image size", `{"images": [{"id": 3, "file_name": "a.jpg", "width": 0, "height": 10}], "categories": []}`, "images[0] (id 3): width 0"},
		{"annotation not object", doc(`[1, 2]`), "annotations[0]: not a JSON object"},
		{"not instances", `{"results": []}`, `"images" and "categories" are required`},
	} {
		_, err := ParseInstances([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// Through a file, the error also names it.
	path := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(path, []byte(doc(good, good)), 0o644)
	if _, err := ReadInstances(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("file error %v does not name %s", err, path)
	}
}

func TestSampleSizeMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteSynthetic(dir, SyntheticOptions{Train: 1, Val: 1}); err != nil {
		t.Fatal(err)
	}
	in, err := ReadInstances(AnnotationPath(dir, ValSplit))
	if err != nil {
		t.Fatal(err)
	}
	in.Images[0].Width++
	if _, err := New(in, ImageDir(dir, ValSplit)).Sample(0); err == nil || !strings.Contains(err.Error(), "the entry says") {
		t.Errorf("size mismatch: %v", err)
	}
	in.Images[0].FileName = "missing.jpg"
	if _, err := New(in, ImageDir(dir, ValSplit)).Sample(0); err == nil || !strings.Contains(err.Error(), "images[0] (id 2)") {
		t.Errorf("missing image: %v", err)
	}
}

func TestBatchAndResults(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteSynthetic(dir, SyntheticOptions{Train: 3, Val: 1, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(AnnotationPath(dir, TrainSplit), ImageDir(dir, TrainSplit))
	if err != nil {
		t.Fatal(err)
	}
	tr := RetinaNetTransform()
	tr.MaxLong, tr.MaxShort = 333, 200 // small inputs keep the test fast
	b, err := tr.Batch(ds, []int{0, 2}, []bool{false, true})
	if err != nil {
		t.Fatal(err)
	}
	if b.N != 2 || b.W%32 != 0 || b.H%32 != 0 || len(b.Input) != 2*3*b.H*b.W {
		t.Fatalf("batch %d×3×%d×%d with %d values", b.N, b.H, b.W, len(b.Input))
	}
	for k, m := range b.Metas {
		long, short := max(m.W, m.H), min(m.W, m.H)
		if m.W > b.W || m.H > b.H || long > 333 || short > 200 || (long != 333 && short != 200) {
			t.Errorf("image %d resized to %d×%d in a %d×%d batch", k, m.W, m.H, b.W, b.H)
		}
		// Right of the image, the input is padding: zero.
		if m.W < b.W && b.Input[k*3*b.H*b.W+b.W-1] != 0 {
			t.Errorf("image %d: padding is not zero", k)
		}
	}
	if !b.Metas[1].Flipped || b.Metas[0].Flipped || b.ImageIDs[1] != ds.Instances.Images[2].ID {
		t.Errorf("metas %+v, ids %v", b.Metas, b.ImageIDs)
	}
	// Ground truth run through Results as perfect detections comes back
	// as the instances file's boxes and category ids.
	s, _ := ds.Sample(2)
	var dets []detection.Detection
	for i, box := range b.Objects[1].Boxes {
		dets = append(dets, detection.Detection{Box: box, Score: 1, Class: b.Objects[1].Classes[i]})
	}
	res, err := ds.Results(b.ImageIDs[1], b.Metas[1], dets)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want := s.Boxes[i]
		cat := ds.Classes[s.Classes[i]].ID
		if r.CategoryID != cat || !boxWithin(detection.Box{X1: r.BBox[0], Y1: r.BBox[1], X2: r.BBox[0] + r.BBox[2], Y2: r.BBox[1] + r.BBox[3]}, want, 1e-9) {
			t.Errorf("result %d = %+v, want box %v category %d", i, r, want, cat)
		}
	}
	if _, err := ds.Results(1, b.Metas[0], []detection.Detection{{Class: 3}}); err == nil {
		t.Error("class 3 of 3 accepted")
	}
	// Flip draws are reproducible and about half true.
	n, same, first := 0, 0, make([]bool, 1000)
	for i := range first {
		first[i] = Flip(1, 2, i)
	}
	for i := range first {
		if Flip(1, 2, i) != first[i] {
			t.Fatal("Flip is not reproducible")
		}
		if first[i] {
			n++
		}
		if Flip(1, 3, i) == first[i] {
			same++
		}
	}
	if n < 430 || n > 570 || same > 570 {
		t.Errorf("%d of 1000 flips; %d the same in the next epoch", n, same)
	}
}

// meanIn is the mean colour of the pixels whose centres lie in b shrunk by
// margin on every side, and the largest distance of one channel from it.
func meanIn(img data.Image, b detection.Box, margin float64) (mean [3]float64, spread float64) {
	n := 0.0
	var pts [][]uint8
	for y := range img.H {
		for x := range img.W {
			px, py := float64(x)+0.5, float64(y)+0.5
			if px > b.X1+margin && px < b.X2-margin && py > b.Y1+margin && py < b.Y2-margin {
				p := img.Pix[3*(y*img.W+x):]
				pts = append(pts, p[:3])
				for c := range 3 {
					mean[c] += float64(p[c])
				}
				n++
			}
		}
	}
	for c := range 3 {
		mean[c] /= n
	}
	for _, p := range pts {
		for c := range 3 {
			spread = max(spread, abs(float64(p[c])-mean[c]))
		}
	}
	return mean, spread
}

// The generator's rectangles, read back and transformed, lie where their
// mapped boxes say: inside a mapped box is the rectangle's one colour.
func TestSyntheticRectanglesFollowTransform(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteSynthetic(dir, SyntheticOptions{Train: 6, Val: 1, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(AnnotationPath(dir, TrainSplit), ImageDir(dir, TrainSplit))
	if err != nil {
		t.Fatal(err)
	}
	tr := RetinaNetTransform()
	tr.MaxLong, tr.MaxShort = 666, 400 // enlarged ×~1.6, still fast
	checked := 0
	for i := range ds.Len() {
		s, err := ds.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		out, objs, meta := tr.Apply(s.Image, s.Objects, i%2 == 1)
		for k, b := range s.Boxes {
			if ds.Classes[s.Classes[k]].Name != "rectangle" {
				continue
			}
			want, _ := meanIn(s.Image, b, 2)
			got, spread := meanIn(out, objs.Boxes[k], 2*meta.ScaleX)
			for c := range 3 {
				if abs(got[c]-want[c]) > 6 || spread > 40 {
					t.Errorf("image %d (flip %v) rectangle %v → %v: mean colour %v, was %v; spread %v",
						i, meta.Flipped, b, objs.Boxes[k], got, want, spread)
					break
				}
			}
			checked++
		}
	}
	if checked < 3 {
		t.Errorf("only %d rectangles checked", checked)
	}
}
