package detector

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/detection"
	"github.com/genius-nas/genius/training/tensor"
)

// benchSizes are the padded input sizes timed, smallest first: the CPU
// demo's, twice it, and the reference's short side of 800 at 4:3.
var benchSizes = [][2]int{{160, 128}, {320, 256}, {640, 480}, {1088, 800}}

// BenchmarkTrainStep times a full training step (forward, targets, focal
// and L1 losses, backward, SGD) of the reference RetinaNet (80 classes,
// 256-channel pyramid, 4-conv subnets) on GENIUS-329 for one image at each
// of benchSizes. The sizes alternate within each iteration, so load on the
// machine weighs on all alike; the figures to read are ms per step at each
// size and its ratio to the smallest.
func BenchmarkTrainStep(b *testing.B) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	cfg := Config{Space: "mobilenetv2-imagenet", Arch: genius329, Classes: 80, Batch: 1, Seed: 1}
	r, err := NewRun(be, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batches := make([]coco.Batch, len(benchSizes))
	for i, s := range benchSizes {
		w, h := s[0], s[1]
		bt := coco.Batch{N: 1, W: w, H: h, ImageIDs: []int64{1}, Input: make([]float32, 3*w*h),
			Metas: []coco.Meta{{OrigW: w, OrigH: h, W: w, H: h, ScaleX: 1, ScaleY: 1}}}
		for k := range bt.Input {
			bt.Input[k] = float32(rng.NormFloat64())
		}
		var o coco.Objects
		for range 8 {
			x, y := rng.Float64()*float64(w)*0.7, rng.Float64()*float64(h)*0.7
			o.Boxes = append(o.Boxes, detection.Box{X1: x, Y1: y, X2: x + 8 + rng.Float64()*float64(w)*0.3, Y2: y + 8 + rng.Float64()*float64(h)*0.3})
			o.Classes = append(o.Classes, rng.IntN(80))
		}
		bt.Objects = []coco.Objects{o}
		batches[i] = bt
	}
	for _, bt := range batches { // allocate every buffer before timing
		if _, err := r.TrainStep(bt); err != nil {
			b.Fatal(err)
		}
	}
	took := make([]time.Duration, len(batches))
	b.ResetTimer()
	for range b.N {
		for i, bt := range batches {
			t0 := time.Now()
			if _, err := r.TrainStep(bt); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	for i, s := range benchSizes {
		b.ReportMetric(float64(took[i].Milliseconds())/float64(b.N), fmt.Sprintf("ms/step-%dx%d", s[0], s[1]))
		if i > 0 {
			b.ReportMetric(float64(took[i])/float64(took[0]), fmt.Sprintf("x-%dx%d", s[0], s[1]))
		}
	}
}
