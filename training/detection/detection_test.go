package detection

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func boxNear(a, b Box, tol float64) bool {
	return near(a.X1, b.X1, tol) && near(a.Y1, b.Y1, tol) && near(a.X2, b.X2, tol) && near(a.Y2, b.Y2, tol)
}

func TestAnchors(t *testing.T) {
	a := RetinaNetAnchors()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.PerCell() != 9 {
		t.Fatalf("%d anchors per cell, want 9", a.PerCell())
	}
	// Scales 4·2^(0/3), 4·2^(1/3), 4·2^(2/3) = 4, 5.0397, 6.3496.
	for i, want := range []float64{4, 5.039684199579493, 6.3496042078727974} {
		if got := a.Scales()[i]; !near(got, want, 1e-12) {
			t.Errorf("scale %d = %v, want %v", i, got, want)
		}
	}
	// Stride 8, ratio 0.5 (h/w), scale 4: h = 8·√0.5·4 = 22.627, w = 8/√0.5·4
	// = 45.255, centred on (0, 0) (centre offset 0). Ratio 1, scale 4:
	// 32×32. Ratio 2, scale 4·2^(2/3): w = 8/√2·6.3496 = 35.919, h = 71.838.
	base := a.Base(0)
	hw, hh := 0.5*8/math.Sqrt(0.5)*4, 0.5*8*math.Sqrt(0.5)*4
	for _, c := range []struct {
		i    int
		want Box
	}{
		{0, Box{-hw, -hh, hw, hh}},
		{3, Box{-16, -16, 16, 16}},
		{8, Box{-17.959393, -35.918786, 17.959393, 35.918786}},
	} {
		if !boxNear(base[c.i], c.want, 1e-5) {
			t.Errorf("base anchor %d = %v, want %v", c.i, base[c.i], c.want)
		}
	}
	// P7 (stride 128), ratio 1, scale 4: 512×512.
	if b := a.Base(4)[3]; !boxNear(b, Box{-256, -256, 256, 256}, 1e-9) {
		t.Errorf("P7 base anchor 3 = %v", b)
	}
	// Cells row by row, left to right, 9 anchors each: anchor 4 of cell
	// (row 1, column 2) of a 2×3 map is base[4] moved by (2·8, 1·8).
	lv := a.Level(0, 2, 3)
	if len(lv) != 2*3*9 {
		t.Fatalf("%d anchors in a 2×3 level", len(lv))
	}
	b4 := base[4]
	if got, want := lv[9*(1*3+2)+4], (Box{b4.X1 + 16, b4.Y1 + 8, b4.X2 + 16, b4.Y2 + 8}); got != want {
		t.Errorf("anchor of cell (1,2) #4 = %v, want %v", got, want)
	}
	// 800×1344 (1333 padded to a multiple of 32): P3 100×168, P4 50×84,
	// P5 25×42, P6 13×21, P7 7×11 cells; 9·22400 = 201600 anchors.
	total := 0
	for l, want := range [][2]int{{100, 168}, {50, 84}, {25, 42}, {13, 21}, {7, 11}} {
		h, w := a.FeatureSize(l, 800, 1344)
		if h != want[0] || w != want[1] {
			t.Errorf("level %d: %d×%d cells, want %v", l, h, w, want)
		}
	}
	for _, lv := range a.Image(800, 1344) {
		total += len(lv)
	}
	// An image padded to 64×96 in a 128×128 batch: at stride 32 its cells
	// are the 2×3 top-left of 4×4; at stride 128, the one cell.
	v := a.Valid(2, 4, 4, 64, 96)
	if len(v) != 4*4*9 || !v[9*(1*4+2)+8] || v[9*(1*4+3)] || v[9*(2*4+0)] {
		t.Errorf("valid flags at stride 32 wrong")
	}
	n := 0
	for _, ok := range v {
		if ok {
			n++
		}
	}
	if n != 2*3*9 {
		t.Errorf("%d valid anchors at stride 32, want 54", n)
	}
	if v := a.Valid(4, 1, 1, 64, 96); !v[0] || !v[8] {
		t.Errorf("the one P7 cell is not valid")
	}
	if total != 201600 {
		t.Errorf("%d anchors for 800×1344, want 201600", total)
	}
	bad := a
	bad.Ratios = []float64{0}
	if bad.Validate() == nil {
		t.Error("ratio 0 accepted")
	}
}

func TestAssign(t *testing.T) {
	gts := []Box{{0, 0, 10, 10}, {100, 100, 140, 140}}
	crowd := []Box{{200, 200, 300, 300}}
	anchors := []Box{
		{0, 0, 10, 10},       // 0: IoU 1 with gt 0: positive
		{0, 0, 10, 20},       // 1: IoU 100/200 = 0.5 ≥ 0.5: positive
		{0, 0, 10, 22},       // 2: IoU 100/220 = 0.45: between, ignored
		{0, 0, 10, 25},       // 3: IoU 100/250 = 0.4, not < 0.4: ignored
		{50, 50, 60, 60},     // 4: IoU 0: negative
		{100, 100, 125, 125}, // 5: IoU 625/1600 = 0.39 with gt 1, its best: positive (low quality)
		{115, 115, 140, 140}, // 6: same IoU, tied best: positive with gt_max_assign_all
		{210, 210, 250, 250}, // 7: wholly inside the crowd region: ignored
		{290, 290, 330, 330}, // 8: IoF 100/1600 with the crowd: negative
		{-50, -50, -40, -40}, // 9: far from all: negative
	}
	a := RetinaNetAssigner()
	got := a.Assign(anchors, gts, crowd)
	want := []int{0, 0, Ignored, Ignored, Negative, 1, 1, Ignored, Negative, Negative}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("anchor %d assigned %d, want %d", i, got[i], want[i])
		}
	}
	// Only one best anchor per ground truth without gt_max_assign_all: the
	// other tied one (IoU 0.39 < 0.4) is a negative.
	a.GtMaxAssignAll = false
	got = a.Assign(anchors, gts, crowd)
	if got[5] != 1 || got[6] != Negative {
		t.Errorf("without gt_max_assign_all anchors 5, 6 assigned %d, %d; want 1, Negative", got[5], got[6])
	}
	// Crowd ignoring off: the anchor inside the crowd is a negative.
	a = RetinaNetAssigner()
	a.IgnoreIoF = -1
	if got = a.Assign(anchors, gts, crowd); got[7] != Negative {
		t.Errorf("with crowd ignoring off anchor 7 assigned %d", got[7])
	}
	// An anchor inside a crowd cannot be positive either, even when it
	// matches an object (mmdetection drops its overlaps altogether).
	a = RetinaNetAssigner()
	got = a.Assign([]Box{{0, 0, 10, 10}, {20, 20, 30, 30}}, []Box{{0, 0, 10, 10}}, []Box{{-5, -5, 15, 15}})
	if got[0] != Ignored || got[1] != Negative {
		t.Errorf("anchor on an object inside a crowd: %v, want [Ignored Negative]", got)
	}
	// No objects: all negatives except in crowds.
	got = a.Assign(anchors[4:9], nil, crowd)
	if want := []int{Negative, Negative, Negative, Ignored, Negative}; !equalInts(got, want) {
		t.Errorf("no objects: %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMakeTargets(t *testing.T) {
	anchors := []Box{{0, 0, 10, 10}, {50, 50, 60, 60}, {0, 0, 10, 22}}
	tg, err := MakeTargets(anchors, nil, []Box{{0, 0, 10, 10}}, []int{2}, nil, RetinaNetAssigner(), RetinaNetCoder())
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(tg.Labels, []int{2, Negative, Ignored}) || tg.NumPos != 1 || tg.Deltas[0] != [4]float64{} {
		t.Errorf("targets %+v", tg)
	}
	if _, err := MakeTargets(anchors, nil, []Box{{0, 0, 0, 10}}, []int{0}, nil, RetinaNetAssigner(), RetinaNetCoder()); err == nil {
		t.Error("empty ground-truth box accepted")
	}
	// An anchor on the batch's padding is left out: here the one matching
	// the box, so the low-quality match falls to the best valid anchor
	// (IoU 100/220 = 0.45, below 0.5).
	tg, err = MakeTargets(anchors, []bool{false, true, true}, []Box{{0, 0, 10, 10}}, []int{2}, nil, RetinaNetAssigner(), RetinaNetCoder())
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(tg.Labels, []int{Ignored, Negative, 2}) || tg.NumPos != 1 {
		t.Errorf("targets with anchor 0 invalid: %+v", tg)
	}
	// One image with two positives, one with none: 2 + 1.
	if n := Normaliser(tg, Targets{}, tg); n != 3 {
		t.Errorf("normaliser %v, want 3", n)
	}
}

func TestBoxCoding(t *testing.T) {
	c := RetinaNetCoder()
	// Anchor (0,0,10,10): centre (5,5), size 10×10. Box (5,0,15,20): centre
	// (10,10), size 10×20. dx = (10-5)/10 = 0.5, dy = (10-5)/10 = 0.5,
	// dw = log(10/10) = 0, dh = log(20/10) = log 2.
	d := c.Encode(Box{0, 0, 10, 10}, Box{5, 0, 15, 20})
	want := [4]float64{0.5, 0.5, 0, math.Log(2)}
	for k := range d {
		if !near(d[k], want[k], 1e-12) {
			t.Errorf("delta %d = %v, want %v", k, d[k], want[k])
		}
	}
	// Round trip on random boxes, also with non-trivial means and stds.
	r := rand.New(rand.NewPCG(1, 2))
	rb := func() Box {
		x, y := r.Float64()*500, r.Float64()*500
		return Box{x, y, x + 1 + r.Float64()*300, y + 1 + r.Float64()*300}
	}
	// A box within the ratio clip of the anchor: sizes ×1/50 to ×50.
	around := func(a Box) Box {
		w, h := a.Width()*math.Exp((r.Float64()*2-1)*math.Log(50)), a.Height()*math.Exp((r.Float64()*2-1)*math.Log(50))
		x, y := a.X1+(r.Float64()-0.5)*200, a.Y1+(r.Float64()-0.5)*200
		return Box{x, y, x + w, y + h}
	}
	c2 := DeltaCoder{Means: [4]float64{0.1, -0.1, 0.2, 0}, Stds: [4]float64{0.1, 0.1, 0.2, 0.2}, WHRatioClip: c.WHRatioClip}
	for range 1000 {
		an := rb()
		gt := around(an)
		for _, cc := range []DeltaCoder{c, c2} {
			if got := cc.Decode(an, cc.Encode(an, gt), 0, 0); !boxNear(got, gt, 1e-9) {
				t.Fatalf("round trip of %v on anchor %v gave %v", gt, an, got)
			}
		}
	}
	// The clamp: dw = 10 is cut to |log(16/1000)| = 4.135, a width of
	// 10·62.5 = 625 around the centre 5; dh = -10 to a height of 10/62.5.
	b := c.Decode(Box{0, 0, 10, 10}, [4]float64{0, 0, 10, -10}, 0, 0)
	if !boxNear(b, Box{5 - 312.5, 5 - 0.08, 5 + 312.5, 5 + 0.08}, 1e-9) {
		t.Errorf("clamped decode = %v", b)
	}
	// Clipped to a 100×50 image.
	b = c.Decode(Box{90, 40, 110, 60}, [4]float64{0, 0, 0, 0}, 100, 50)
	if b != (Box{90, 40, 100, 50}) {
		t.Errorf("clipped decode = %v", b)
	}
}

func TestNMS(t *testing.T) {
	boxes := []Box{
		{0, 0, 10, 10},    // 0: score .9
		{1, 0, 11, 10},    // 1: .8, IoU with 0 = 90/110 = 0.82: dropped
		{5, 0, 15, 10},    // 2: .7, IoU with 0 = 50/150 = 0.33: kept
		{0, 0, 10, 20},    // 3: .6, IoU with 0 = 100/200 = 0.5, not > 0.5: kept
		{0, 0, 10, 10},    // 4: .95: the best, drops 0 (IoU 1)
		{100, 0, 110, 10}, // 5: .1: alone
	}
	scores := []float64{.9, .8, .7, .6, .95, .1}
	keep := NMS(boxes, scores, 0.5)
	// 4 drops 0 and 1 (IoU 90/110 with 4); 2 and 3 stay; 3 vs 2: IoU
	// 50/200 = 0.25.
	if want := []int{4, 2, 3, 5}; !equalInts(keep, want) {
		t.Errorf("NMS kept %v, want %v", keep, want)
	}
	// Per class: the same box in another class survives; the cap keeps the best.
	dets := []Detection{
		{Box{0, 0, 10, 10}, .9, 0},
		{Box{1, 0, 11, 10}, .8, 0},
		{Box{1, 0, 11, 10}, .85, 1},
		{Box{50, 50, 60, 60}, .3, 1},
	}
	got := BatchedNMS(dets, 0.5, 2)
	if len(got) != 2 || got[0] != dets[0] || got[1] != dets[2] {
		t.Errorf("batched NMS = %v", got)
	}
	if got = BatchedNMS(dets, 0.5, 100); len(got) != 3 || got[2] != dets[3] {
		t.Errorf("batched NMS without cap = %v", got)
	}
}

func TestDetect(t *testing.T) {
	anchors := []Box{{0, 0, 10, 10}, {20, 0, 30, 10}, {40, 0, 50, 10}}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	// 3 anchors × 2 classes. Scores: anchor 0 (.9, .04), anchor 1 (.049,
	// .6), anchor 2 (.7, .5). .04 and .049 are not above 0.05.
	lv := Level[float64]{
		Logits:  []float64{logit(.9), logit(.04), logit(.049), logit(.6), logit(.7), logit(.5)},
		Deltas:  []float64{0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0, 0, 0},
		Anchors: anchors,
	}
	p := RetinaNetPostProcess()
	dets, err := Detect(p, RetinaNetCoder(), []Level[float64]{lv}, 2, 45, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Best first; anchor 1 moved by 0.1×10 = 1 pixel; anchor 2 clipped at x = 45.
	want := []Detection{
		{Box{0, 0, 10, 10}, .9, 0},
		{Box{40, 0, 45, 10}, .7, 0},
		{Box{21, 0, 31, 10}, .6, 1},
		{Box{40, 0, 45, 10}, .5, 1},
	}
	if len(dets) != len(want) {
		t.Fatalf("detections %v, want %v", dets, want)
	}
	for i := range want {
		if !boxNear(dets[i].Box, want[i].Box, 1e-9) || !near(dets[i].Score, want[i].Score, 1e-9) || dets[i].Class != want[i].Class {
			t.Errorf("detection %d = %v, want %v", i, dets[i], want[i])
		}
	}
	// Top 2 (anchor, class) pairs per level only: .9 and .7.
	p.PreNMS = 2
	if dets, _ = Detect(p, RetinaNetCoder(), []Level[float64]{lv}, 2, 45, 100); len(dets) != 2 || dets[1].Score < .69 {
		t.Errorf("with 2 per level: %v", dets)
	}
	// Top-k is per level: with 1 per level, each of two levels keeps its
	// best pair, even when the second level's best is below the first
	// level's runner-up.
	lv2 := Level[float64]{Logits: []float64{logit(.3), logit(.2)}, Deltas: make([]float64, 4), Anchors: []Box{{100, 0, 110, 10}}}
	p.PreNMS = 1
	dets, _ = Detect(p, RetinaNetCoder(), []Level[float64]{lv, lv2}, 2, 200, 100)
	if len(dets) != 2 || !near(dets[0].Score, .9, 1e-9) || !near(dets[1].Score, .3, 1e-9) || dets[1].Box != lv2.Anchors[0] {
		t.Errorf("with 1 per level over two levels: %v", dets)
	}
	lv.Deltas = lv.Deltas[:4]
	if _, err := Detect(p, RetinaNetCoder(), []Level[float64]{lv}, 2, 45, 100); err == nil {
		t.Error("short deltas accepted")
	}
}

func TestSchedule1x(t *testing.T) {
	s := Schedule1x(16, 1000)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		iter int
		want float64
	}{
		{0, 0.01 * 0.001},               // warm-up starts at 0.001 of the rate
		{250, 0.01 * (1 - 0.5*0.999)},   // half-way: 1 - (1-250/500)(1-0.001)
		{499, 0.01 * (1 - 0.002*0.999)}, // last warm-up iteration
		{500, 0.01},                     // warm-up over
		{7999, 0.01},                    // last iteration of epoch 7
		{8000, 0.001},                   // epoch 8: ×0.1
		{10999, 0.001},                  //
		{11000, 0.0001},                 // epoch 11: ×0.01
		{11999, 0.0001},                 // last iteration
	} {
		if got := s.LR(c.iter); !near(got, c.want, 1e-15) {
			t.Errorf("LR(%d) = %v, want %v", c.iter, got, c.want)
		}
	}
	if s.TotalIters() != 12000 {
		t.Errorf("%d iterations, want 12000", s.TotalIters())
	}
	// A batch of 2 scales the rate by 2/16; a short epoch can put a step
	// inside the warm-up, where both apply.
	s = Schedule1x(2, 100)
	if got, want := s.LR(500), 0.01*2/16; !near(got, want, 1e-15) {
		t.Errorf("batch 2 LR(500) = %v, want %v", got, want)
	}
	s = Schedule1x(2, 50)
	if got, want := s.LR(400), 0.01*2/16*0.1*(1-0.2*0.999); !near(got, want, 1e-15) {
		t.Errorf("batch 2 LR(400) (epoch 8, warming up) = %v, want %v", got, want)
	}
	s.ItersPerEpoch = 0
	if s.Validate() == nil {
		t.Error("0 iterations per epoch accepted")
	}
}

// BenchmarkImageTargets assigns the 201,600 anchors of an 800×1344 input
// to 20 objects and one crowd region.
func BenchmarkImageTargets(b *testing.B) {
	var anchors []Box
	for _, lv := range RetinaNetAnchors().Image(800, 1344) {
		anchors = append(anchors, lv...)
	}
	r := rand.New(rand.NewPCG(1, 1))
	var gts []Box
	var classes []int
	for range 20 {
		x, y := r.Float64()*1200, r.Float64()*700
		gts = append(gts, Box{x, y, x + 10 + r.Float64()*300, y + 10 + r.Float64()*300})
		classes = append(classes, r.IntN(80))
	}
	crowd := []Box{{100, 100, 400, 300}}
	for b.Loop() {
		if _, err := MakeTargets(anchors, nil, gts, classes, crowd, RetinaNetAssigner(), RetinaNetCoder()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetect post-processes random logits of 80 classes on the same
// anchors, most of them below the score threshold as in a trained network.
func BenchmarkDetect(b *testing.B) {
	a := RetinaNetAnchors()
	r := rand.New(rand.NewPCG(2, 2))
	var levels []Level[float32]
	for _, lv := range a.Image(800, 1344) {
		l := Level[float32]{Logits: make([]float32, 80*len(lv)), Deltas: make([]float32, 4*len(lv)), Anchors: lv}
		for i := range l.Logits {
			l.Logits[i] = float32(r.NormFloat64() - 6)
		}
		for i := range l.Deltas {
			l.Deltas[i] = float32(r.NormFloat64() * 0.1)
		}
		levels = append(levels, l)
	}
	for b.Loop() {
		if _, err := Detect(RetinaNetPostProcess(), RetinaNetCoder(), levels, 80, 1333, 800); err != nil {
			b.Fatal(err)
		}
	}
}
