package cocoeval

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// synthetic is a generated COCO-like set, as files.
type synthetic struct {
	gt, dt []byte
}

// synthesize writes a deterministic set shaped like val2017: 80 of the
// category ids 1..90, about 7.4 objects an image with COCO's mix of
// small, medium and large ones and 1% crowd regions, and 86 detections an
// image on average (jittered copies of the objects, some with the wrong
// category, and background boxes), never more than 100, scores on a
// 3-decimal grid so that ties occur.
func synthesize(images int, seed uint64) synthetic {
	r := rand.New(rand.NewPCG(seed, 1))
	var cats []int
	for id := 1; len(cats) < 80; id++ {
		if id%9 != 0 { // skip some ids, as COCO does
			cats = append(cats, id)
		}
	}
	gt := []byte(`{"info": {"description": "synthetic"}, "images": [`)
	for i := range images {
		if i > 0 {
			gt = append(gt, ", "...)
		}
		gt = append(gt, `{"id": `...)
		gt = strconv.AppendInt(gt, int64(100000+i*3), 10)
		gt = append(gt, `, "width": 640, "height": 480}`...)
	}
	gt = append(gt, `], "categories": [`...)
	for i, c := range cats {
		if i > 0 {
			gt = append(gt, ", "...)
		}
		gt = append(gt, `{"id": `...)
		gt = strconv.AppendInt(gt, int64(c), 10)
		gt = append(gt, `, "name": "c`...)
		gt = strconv.AppendInt(gt, int64(c), 10)
		gt = append(gt, `"}`...)
	}
	gt = append(gt, `], "annotations": [`...)

	num := func(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', 2, 64) }
	box := func(b []byte, x [4]float64) []byte {
		b = append(b, '[')
		for i, v := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = num(b, v)
		}
		return append(b, ']')
	}
	randomBox := func() [4]float64 {
		// Side lengths spread so that about 41% are small, 34% medium
		// and 25% large, as in COCO.
		side := math.Exp(r.NormFloat64()*1.0 + 3.7)
		w := math.Max(2, side*math.Exp(r.NormFloat64()*0.3))
		h := math.Max(2, side*side/w)
		return [4]float64{r.Float64() * (640 - math.Min(w, 600)), r.Float64() * (480 - math.Min(h, 440)), w, h}
	}

	dt := make([]byte, 0, 100*86*images)
	dt = append(dt, '[')
	annID, firstAnn, firstDt := 1, true, true
	for i := range images {
		img := int64(100000 + i*3)
		type object struct {
			cat int
			b   [4]float64
		}
		var objects []object
		n := r.IntN(14) + 1
		for range n {
			o := object{cat: cats[r.IntN(len(cats))], b: randomBox()}
			objects = append(objects, o)
			if !firstAnn {
				gt = append(gt, ", "...)
			}
			firstAnn = false
			gt = append(gt, `{"id": `...)
			gt = strconv.AppendInt(gt, int64(annID), 10)
			annID++
			gt = append(gt, `, "image_id": `...)
			gt = strconv.AppendInt(gt, img, 10)
			gt = append(gt, `, "category_id": `...)
			gt = strconv.AppendInt(gt, int64(o.cat), 10)
			gt = append(gt, `, "segmentation": [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], "area": `...)
			gt = num(gt, o.b[2]*o.b[3]*(0.6+0.3*r.Float64()))
			gt = append(gt, `, "bbox": `...)
			gt = box(gt, o.b)
			crowd := "0"
			if r.IntN(100) == 0 {
				crowd = "1"
			}
			gt = append(gt, `, "iscrowd": `+crowd+`}`...)
		}
		dets := min(100, max(0, int(90+r.NormFloat64()*20)))
		for d := range dets {
			var b [4]float64
			cat := cats[r.IntN(len(cats))]
			if d < 3*len(objects) {
				o := objects[d%len(objects)]
				j := 0.15 * (1 + float64(d/len(objects)))
				b = o.b
				b[0] += r.NormFloat64() * j * b[2] / 2
				b[1] += r.NormFloat64() * j * b[3] / 2
				b[2] *= math.Exp(r.NormFloat64() * j)
				b[3] *= math.Exp(r.NormFloat64() * j)
				if r.IntN(5) != 0 {
					cat = o.cat
				}
			} else {
				b = randomBox()
			}
			if !firstDt {
				dt = append(dt, ", "...)
			}
			firstDt = false
			dt = append(dt, `{"image_id": `...)
			dt = strconv.AppendInt(dt, img, 10)
			dt = append(dt, `, "category_id": `...)
			dt = strconv.AppendInt(dt, int64(cat), 10)
			dt = append(dt, `, "bbox": `...)
			dt = box(dt, b)
			dt = append(dt, `, "score": `...)
			dt = strconv.AppendFloat(dt, math.Round(r.Float64()*1000)/1000, 'f', 3, 64)
			dt = append(dt, '}')
		}
	}
	gt = append(gt, "]}"...)
	dt = append(dt, ']')
	return synthetic{gt: gt, dt: dt}
}

var val2017 = sync.OnceValue(func() synthetic { return synthesize(5000, 2017) })

func parseSynthetic(tb testing.TB, s synthetic) (*GroundTruth, []Detection) {
	gt, err := ParseGroundTruth(s.gt)
	if err != nil {
		tb.Fatal(err)
	}
	dts, err := ParseDetections(s.dt)
	if err != nil {
		tb.Fatal(err)
	}
	return gt, dts
}

// TestWorkersAgree checks that parallel evaluation gives the serial result
// to the bit on a generated set with crowds, ties and >100 candidates.
func TestWorkersAgree(t *testing.T) {
	gt, dts := parseSynthetic(t, synthesize(300, 1))
	ctx := context.Background()
	one, err := Evaluate(ctx, gt, dts, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Small chunks, so that categories are split across workers.
	many, err := Evaluate(ctx, gt, dts, Options{Workers: 7, chunk: 50})
	if err != nil {
		t.Fatal(err)
	}
	if one.Stats != many.Stats {
		t.Errorf("1 worker: %+v\n7 workers: %+v", one.Stats, many.Stats)
	}
	for k := range one.PerCategory {
		if one.PerCategory[k] != many.PerCategory[k] {
			t.Errorf("category %d: %+v vs %+v", one.PerCategory[k].ID, one.PerCategory[k], many.PerCategory[k])
		}
	}
	if one.AP <= 0 || one.AP >= 1 || one.APs < 0 || one.APl < 0 {
		t.Errorf("the generated set should score strictly between 0 and 1 in every range: %+v", one.Stats)
	}
}

// BenchmarkEvaluate times a val2017-size evaluation (5,000 images, 80
// categories, ~430,000 detections) from the files' bytes to the stats,
// with one worker and with GOMAXPROCS, and each stage alone.
func BenchmarkEvaluate(b *testing.B) {
	s := val2017()
	gt, dts := parseSynthetic(b, s)
	b.Logf("%d images, %d annotations, %d detections, results file %.1f MB",
		len(gt.Images), len(gt.Annotations), len(dts), float64(len(s.dt))/1e6)
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		workers int
	}{{"workers=1", 1}, {"workers=max", runtime.GOMAXPROCS(0)}} {
		b.Run("files/"+bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(s.gt) + len(s.dt)))
			cpu := cpuTime(b)
			for b.Loop() {
				gt, dts := parseSynthetic(b, s)
				if _, err := Evaluate(ctx, gt, dts, Options{Workers: bc.workers}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run("evaluate/"+bc.name, func(b *testing.B) {
			cpu := cpuTime(b)
			for b.Loop() {
				if _, err := Evaluate(ctx, gt, dts, Options{Workers: bc.workers}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU adds the CPU time per operation, all threads together: on a
// machine shared with other work it shows the cost that wall time hides.
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-since)/float64(b.N), "cpu-ns/op")
}

// BenchmarkParseDetections compares the results-file reader with
// encoding/json decoding the same file, the baseline it replaces.
func BenchmarkParseDetections(b *testing.B) {
	s := val2017()
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(s.dt)))
		for b.Loop() {
			if _, err := ParseDetections(s.dt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(s.dt)))
		for b.Loop() {
			var v []struct {
				ImageID    int64      `json:"image_id"`
				CategoryID int64      `json:"category_id"`
				BBox       [4]float64 `json:"bbox"`
				Score      float64    `json:"score"`
			}
			if err := json.Unmarshal(s.dt, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
