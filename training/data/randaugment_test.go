package data

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// testImage is a w x h image of random values within [lo, hi].
func testImage(w, h int, lo, hi uint8, seed uint64) *augImage {
	a := newAugImage(w, h, [3]uint8{1, 2, 3})
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range a.Pix {
		a.Pix[i] = lo + uint8(r.IntN(int(hi-lo)+1))
	}
	return a
}

func (a *augImage) at(x, y, c int) uint8 { return a.Pix[(y*a.W+x)*3+c] }

func (a *augImage) clone() *augImage {
	b := newAugImage(a.W, a.H, a.fill)
	copy(b.Pix, a.Pix)
	return b
}

func channelStats(a *augImage, c int) (lo, hi uint8, mean, std float64) {
	lo = 255
	var s, s2 float64
	n := 0
	for i := c; i < len(a.Pix); i += 3 {
		v := a.Pix[i]
		lo, hi = min(lo, v), max(hi, v)
		s += float64(v)
		s2 += float64(v) * float64(v)
		n++
	}
	mean = s / float64(n)
	return lo, hi, mean, math.Sqrt(s2/float64(n) - mean*mean)
}

func meanOf(a *augImage) float64 {
	s := 0.0
	for _, p := range a.Pix {
		s += float64(p)
	}
	return s / float64(len(a.Pix))
}

func opIndex(t *testing.T, name string) int {
	t.Helper()
	for i, op := range raOps {
		if op.name == name {
			return i
		}
	}
	t.Fatalf("no RandAugment operation %q", name)
	return -1
}

func TestRandAugmentOpSet(t *testing.T) {
	var got []string
	for _, op := range raOps {
		got = append(got, op.name)
	}
	want := []string{"identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
		"contrast", "sharpness", "posterize", "solarize", "autocontrast", "equalize"}
	if !slices.Equal(got, want) {
		t.Errorf("operations %v, want torchvision's %v", got, want)
	}
}

func TestRandAugmentOps(t *testing.T) {
	type check func(t *testing.T, in, out *augImage)
	same := func(t *testing.T, in, out *augImage) {
		if !bytes.Equal(in.Pix, out.Pix) {
			t.Error("image changed, want it unchanged")
		}
	}
	tests := []struct {
		op    string
		mag   float64
		lo    uint8
		hi    uint8
		check check
	}{
		{"identity", 0, 0, 255, same},
		{"rotate", 0, 0, 255, same},
		{"shear_x", 0, 0, 255, same},
		{"translate_y", 0, 0, 255, same},
		{"brightness", 0, 0, 255, same},
		{"color", 0, 0, 255, same},
		{"contrast", 0, 0, 255, same},
		{"sharpness", 0, 0, 255, same},
		{"posterize", 0, 0, 255, same},
		{"rotate", 90, 0, 255, func(t *testing.T, in, out *augImage) {
			// Counter-clockwise: output (x, y) shows input (W-1-y, x).
			for y := 0; y < in.H; y++ {
				for x := 0; x < in.W; x++ {
					for c := 0; c < 3; c++ {
						if out.at(x, y, c) != in.at(in.W-1-y, x, c) {
							t.Fatalf("(%d,%d,%d) = %d, want input (%d,%d) = %d", x, y, c, out.at(x, y, c), in.W-1-y, x, in.at(in.W-1-y, x, c))
						}
					}
				}
			}
		}},
		{"rotate", 30, 0, 255, func(t *testing.T, in, out *augImage) {
			if bytes.Equal(in.Pix, out.Pix) {
				t.Error("30 degrees left the image as it was")
			}
			// The corners come from outside the image: fill colour.
			for c := 0; c < 3; c++ {
				if out.at(0, 0, c) != in.fill[c] {
					t.Errorf("corner channel %d = %d, want fill %d", c, out.at(0, 0, c), in.fill[c])
				}
			}
		}},
		{"translate_x", 0.25, 0, 255, func(t *testing.T, in, out *augImage) {
			for y := 0; y < in.H; y++ {
				for x := 0; x < in.W; x++ {
					k, want := in.W/4, in.fill[0]
					if x >= k {
						want = in.at(x-k, y, 0)
					}
					if out.at(x, y, 0) != want {
						t.Fatalf("(%d,%d) = %d, want %d (%d pixels right)", x, y, out.at(x, y, 0), want, k)
					}
				}
			}
		}},
		{"shear_x", 0.25, 0, 255, func(t *testing.T, in, out *augImage) {
			// Row y reads from x + 0.25*(y+0.5): row 0 stays, row 7 shifts by 2.
			for x := 0; x < in.W; x++ {
				if out.at(x, 0, 1) != in.at(x, 0, 1) {
					t.Fatalf("row 0 moved at x=%d", x)
				}
			}
			for x := 0; x < in.W; x++ {
				want := in.fill[1]
				if x+2 < in.W {
					want = in.at(x+2, 7, 1)
				}
				if out.at(x, 7, 1) != want {
					t.Fatalf("row 7 x=%d = %d, want %d (input x+2 or fill)", x, out.at(x, 7, 1), want)
				}
			}
		}},
		{"brightness", 0.5, 20, 150, func(t *testing.T, in, out *augImage) {
			if meanOf(out) <= meanOf(in)*1.4 {
				t.Errorf("mean %v -> %v, want about 1.5x", meanOf(in), meanOf(out))
			}
		}},
		{"brightness", -0.5, 0, 255, func(t *testing.T, in, out *augImage) {
			if meanOf(out) >= meanOf(in)*0.6 {
				t.Errorf("mean %v -> %v, want about 0.5x", meanOf(in), meanOf(out))
			}
		}},
		{"color", -1, 0, 255, func(t *testing.T, in, out *augImage) {
			for i := 0; i < len(out.Pix); i += 3 {
				if out.Pix[i] != out.Pix[i+1] || out.Pix[i] != out.Pix[i+2] {
					t.Fatalf("factor 0 left colour %v", out.Pix[i:i+3])
				}
			}
		}},
		{"contrast", -1, 0, 255, func(t *testing.T, in, out *augImage) {
			if _, _, _, std := channelStats(out, 0); std != 0 || out.Pix[0] != out.Pix[len(out.Pix)-1] {
				t.Errorf("factor 0: std %v, want a flat image", std)
			}
		}},
		{"contrast", 0.9, 60, 180, func(t *testing.T, in, out *augImage) {
			_, _, _, a := channelStats(in, 0)
			_, _, _, b := channelStats(out, 0)
			if b < 1.7*a {
				t.Errorf("std %v -> %v, want about 1.9x", a, b)
			}
		}},
		{"sharpness", -1, 0, 255, func(t *testing.T, in, out *augImage) {
			// Factor 0 is the smoothed image; the border stays.
			for x := 0; x < in.W; x++ {
				if out.at(x, 0, 0) != in.at(x, 0, 0) || out.at(0, x, 0) != in.at(0, x, 0) {
					t.Fatalf("border changed at %d", x)
				}
			}
			s := 5*int(in.at(3, 3, 2)) + int(in.at(2, 2, 2)) + int(in.at(3, 2, 2)) + int(in.at(4, 2, 2)) + int(in.at(2, 3, 2)) +
				int(in.at(4, 3, 2)) + int(in.at(2, 4, 2)) + int(in.at(3, 4, 2)) + int(in.at(4, 4, 2))
			if want := uint8(math.Round(float64(s) / 13)); out.at(3, 3, 2) != want {
				t.Errorf("smoothed (3,3) = %d, want %d", out.at(3, 3, 2), want)
			}
		}},
		{"posterize", 4, 0, 255, func(t *testing.T, in, out *augImage) {
			for i, p := range out.Pix {
				if p%16 != 0 || p != in.Pix[i]&0xf0 {
					t.Fatalf("%d -> %d, want the top 4 bits", in.Pix[i], p)
				}
			}
		}},
		{"solarize", 127, 0, 255, func(t *testing.T, in, out *augImage) {
			// Threshold 255-127 = 128: values >= 128 invert, the rest stay.
			for i, p := range in.Pix {
				want := p
				if p >= 128 {
					want = 255 - p
				}
				if out.Pix[i] != want {
					t.Fatalf("%d -> %d, want %d", p, out.Pix[i], want)
				}
			}
		}},
		{"solarize", 255, 0, 255, func(t *testing.T, in, out *augImage) {
			for i, p := range in.Pix {
				if out.Pix[i] != 255-p {
					t.Fatalf("threshold 0: %d -> %d, want inverted", p, out.Pix[i])
				}
			}
		}},
		{"autocontrast", 0, 50, 100, func(t *testing.T, in, out *augImage) {
			for c := 0; c < 3; c++ {
				if lo, hi, _, _ := channelStats(out, c); lo != 0 || hi != 255 {
					t.Errorf("channel %d spans %d..%d, want 0..255", c, lo, hi)
				}
			}
		}},
		{"equalize", 0, 90, 120, func(t *testing.T, in, out *augImage) {
			for c := 0; c < 3; c++ {
				lo, hi, _, _ := channelStats(out, c)
				if int(hi)-int(lo) < 200 {
					t.Errorf("channel %d spans %d..%d after equalising 90..120, want most of 0..255", c, lo, hi)
				}
			}
			// A monotone mapping: order between pixels is kept.
			for i := 0; i+3 < len(in.Pix); i += 3 {
				if in.Pix[i] < in.Pix[i+3] && out.Pix[i] > out.Pix[i+3] {
					t.Fatalf("pixels %d and %d swap order", i/3, i/3+1)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%v", tc.op, tc.mag), func(t *testing.T) {
			// 32x32: PIL's equalize leaves images of under 256 pixels alone.
			in := testImage(32, 32, tc.lo, tc.hi, 1)
			out := in.clone()
			raOps[opIndex(t, tc.op)].apply(out, tc.mag)
			tc.check(t, in, out)
		})
	}
}

// augTransform is a training transform with both augmentations on.
func augTransform(size int) Transform {
	return Transform{Size: size, Train: true, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.5}
}

func randomImage(w, h int, seed uint64) Image {
	g := rand.New(rand.NewPCG(seed, 3))
	img := Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	for i := range img.Pix {
		img.Pix[i] = uint8(g.Uint32())
	}
	return img
}

func TestAugmentationIsDeterministicAndInRange(t *testing.T) {
	tr := augTransform(16).withDefaults()
	img := randomImage(20, 24, 5)
	lo, hi := [3]float32{}, [3]float32{}
	for c := 0; c < 3; c++ {
		lo[c], hi[c] = (0-tr.Mean[c])/tr.Std[c], (1-tr.Mean[c])/tr.Std[c]
	}
	distinct := map[string]bool{}
	for s := uint64(0); s < 40; s++ {
		a, b := tensor.New(3, 1, 16, 16), tensor.New(3, 1, 16, 16)
		tr.Apply(img, rand.New(rand.NewPCG(s, 9)), a, 0)
		tr.Apply(img, rand.New(rand.NewPCG(s, 9)), b, 0)
		if !slices.Equal(a.Data, b.Data) {
			t.Fatalf("seed %d: two runs differ", s)
		}
		for i, v := range a.Data {
			c := i / (16 * 16)
			if v != 0 && (v < lo[c]-1e-6 || v > hi[c]+1e-6) { // 0: erased
				t.Fatalf("seed %d: value %v outside [%v, %v]", s, v, lo[c], hi[c])
			}
		}
		distinct[fmt.Sprint(a.Data)] = true
	}
	if len(distinct) < 35 {
		t.Errorf("%d distinct outputs from 40 seeds, want them to differ", len(distinct))
	}
}

// With the crop fixed (full image), the augmented outputs still vary with
// the per-sample random source: RandAugment draws from it.
func TestRandAugmentUsesSampleRandomness(t *testing.T) {
	img := randomImage(16, 16, 6)
	tr := Transform{Size: 16, Train: true, MinScale: 1, RandAugmentN: 2, RandAugmentM: 9}
	distinct := map[string]bool{}
	for s := uint64(0); s < 30; s++ {
		x := tensor.New(3, 1, 16, 16)
		tr.Apply(img, rand.New(rand.NewPCG(s, 1)), x, 0)
		distinct[fmt.Sprint(x.Data)] = true
	}
	// Without RandAugment only the flip varies: 2 outputs.
	if len(distinct) < 15 {
		t.Errorf("%d distinct outputs from 30 seeds, want RandAugment to vary with the seed", len(distinct))
	}
}

// Every operation at several magnitudes, on random, flat and extreme
// images, normalises to values inside the range of 0..255 pixels.
func TestRandAugmentOpsStayInRange(t *testing.T) {
	tr := Transform{Size: 8}.withDefaults()
	images := []*augImage{testImage(8, 8, 0, 255, 2), testImage(8, 8, 0, 0, 3), testImage(8, 8, 255, 255, 4), testImage(8, 8, 0, 1, 5)}
	for _, op := range raOps {
		for _, level := range []float64{0, 0.3, 0.9, 1} {
			for _, sign := range []float64{1, -1} {
				if sign < 0 && !op.signed {
					continue
				}
				for i, im := range images {
					a := im.clone()
					op.apply(a, sign*level*op.max)
					x := tensor.New(3, 1, 8, 8)
					tr.normalise(a, x, 0)
					for j, v := range x.Data {
						c := j / 64
						if v < (0-tr.Mean[c])/tr.Std[c]-1e-6 || v > (1-tr.Mean[c])/tr.Std[c]+1e-6 {
							t.Fatalf("%s level %v image %d: %v out of range", op.name, sign*level, i, v)
						}
					}
				}
			}
		}
	}
}

func TestRandomErasing(t *testing.T) {
	const S = 32
	img := Image{W: S, H: S, Pix: bytes.Repeat([]byte{200}, 3*S*S)} // normalises to non-zero values
	plain := Transform{Size: S, Train: true, MinScale: 1}
	for _, p := range []float64{0, 0.5, 1} {
		tr := plain
		tr.RandomErasing = p
		erased := 0
		for s := uint64(0); s < 200; s++ {
			x := tensor.New(3, 1, S, S)
			tr.Apply(img, rand.New(rand.NewPCG(s, 1)), x, 0)
			// The zeros form one rectangle, the same in each channel.
			x0, y0, x1, y1, zeros := S, S, -1, -1, 0
			for y := 0; y < S; y++ {
				for xx := 0; xx < S; xx++ {
					if x.At(0, 0, y, xx) == 0 {
						zeros++
						x0, y0, x1, y1 = min(x0, xx), min(y0, y), max(x1, xx), max(y1, y)
					}
					for c := 1; c < 3; c++ {
						if (x.At(0, c, y, xx) == 0) != (x.At(0, 0, y, xx) == 0) {
							t.Fatalf("p=%v seed %d: channels erased differently at (%d,%d)", p, s, xx, y)
						}
					}
				}
			}
			if zeros == 0 {
				continue
			}
			erased++
			w, h := float64(x1-x0+1), float64(y1-y0+1)
			if zeros != int(w*h) {
				t.Fatalf("p=%v seed %d: %d zeros do not fill their %vx%v box", p, s, zeros, w, h)
			}
			// Sides are rounded from a continuous rectangle within the bounds.
			if (w+0.5)*(h+0.5) < eraseMinScale*S*S || (w-0.5)*(h-0.5) > eraseMaxScale*S*S {
				t.Errorf("p=%v seed %d: %vx%v rectangle outside %v..%v of the area", p, s, w, h, eraseMinScale, eraseMaxScale)
			}
			if r := h / w; r < eraseMinRatio*0.5 || r > eraseMaxRatio*2 {
				t.Errorf("p=%v seed %d: aspect %v far outside %v..%v", p, s, r, eraseMinRatio, eraseMaxRatio)
			}
		}
		switch {
		case p == 0 && erased != 0:
			t.Errorf("p=0 erased %d of 200 images", erased)
		case p == 0.5 && (erased < 70 || erased > 130):
			t.Errorf("p=0.5 erased %d of 200 images, want about 100", erased)
		case p == 1 && erased < 190:
			t.Errorf("p=1 erased %d of 200 images, want nearly all (only 10 misfits in a row skip)", erased)
		}
	}
}

// Turning the augmentations on keeps the crop and flip: they draw their
// randomness after them from the same source.
func TestAugmentationKeepsCropDraws(t *testing.T) {
	img := randomImage(40, 30, 8)
	base := Transform{Size: 16, Train: true}.withDefaults()
	aug := augTransform(16).withDefaults()
	for s := uint64(0); s < 10; s++ {
		r1, r2 := rand.New(rand.NewPCG(s, 2)), rand.New(rand.NewPCG(s, 2))
		c1, c2 := base.crop(img.W, img.H, r1), aug.crop(img.W, img.H, r2)
		if c1 != c2 {
			t.Fatalf("seed %d: crop differs with augmentation on", s)
		}
	}
	// With only erasing on and p tiny, images match the plain transform
	// except where erased; erasing never fires at p=1e-9 here.
	tiny := Transform{Size: 16, Train: true, RandomErasing: 1e-9}
	for s := uint64(0); s < 10; s++ {
		a, b := tensor.New(3, 1, 16, 16), tensor.New(3, 1, 16, 16)
		base.Apply(img, rand.New(rand.NewPCG(s, 2)), a, 0)
		tiny.Apply(img, rand.New(rand.NewPCG(s, 2)), b, 0)
		if !slices.Equal(a.Data, b.Data) {
			t.Fatalf("seed %d: erasing draws changed the image", s)
		}
	}
}

// A resumed epoch (skipping batches) and a different worker count give
// the same augmented batches as an uninterrupted run.
func TestLoaderAugmentationResumes(t *testing.T) {
	ds := &Random{N: 24, NumClasses: 3, Size: 20, Seed: 4}
	batches := func(seed uint64, workers, skip int) [][]float32 {
		l := &Loader{Data: ds, Batch: 6, Transform: augTransform(16), Shuffle: true, DropLast: true, Seed: seed, Workers: workers}
		ep := l.Start(context.Background(), 3, skip)
		defer ep.Close()
		var out [][]float32
		for {
			b, err := ep.Next()
			if err != nil {
				t.Fatal(err)
			}
			if b == nil {
				return out
			}
			out = append(out, slices.Clone(b.X.Data))
		}
	}
	full := batches(11, 1, 0)
	resumed := batches(11, 3, 2)
	if len(full) != 4 || len(resumed) != 2 {
		t.Fatalf("%d and %d batches, want 4 and 2", len(full), len(resumed))
	}
	for i := range resumed {
		if !slices.Equal(full[2+i], resumed[i]) {
			t.Errorf("batch %d differs after resuming with other workers", 2+i)
		}
	}
	if other := batches(12, 1, 0); slices.Equal(other[0], full[0]) {
		t.Error("another seed gave the same first batch")
	}
}

func TestTransformValidate(t *testing.T) {
	tests := []struct {
		tr Transform
		ok bool
	}{
		{Transform{}, true},
		{Transform{RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.2}, true},
		{Transform{RandAugmentN: -1}, false},
		{Transform{RandAugmentM: -3}, false},
		{Transform{RandAugmentMaxM: -1}, false},
		{Transform{RandomErasing: 1.5}, false},
		{Transform{RandomErasing: math.NaN()}, false},
	}
	for _, tc := range tests {
		if err := tc.tr.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: error %v, want ok=%v", tc.tr, err, tc.ok)
		}
	}
}

// BenchmarkTransform is the per-image cost of the training transform at
// CIFAR (32 from 32) and ImageNet (224 from 320x256) sizes.
func BenchmarkTransform(b *testing.B) {
	for _, sz := range []struct{ out, w, h int }{{32, 32, 32}, {224, 320, 256}} {
		img := randomImage(sz.w, sz.h, 1)
		for _, v := range []struct {
			name string
			tr   Transform
		}{
			{"crop-flip", Transform{Size: sz.out, Train: true}},
			{"randaugment-n2-m9", Transform{Size: sz.out, Train: true, RandAugmentN: 2, RandAugmentM: 9}},
			{"erasing-1", Transform{Size: sz.out, Train: true, RandomErasing: 1}},
			{"recipe", Transform{Size: sz.out, Train: true, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.2}},
		} {
			b.Run(fmt.Sprintf("%d/%s", sz.out, v.name), func(b *testing.B) {
				x := tensor.New(3, 1, sz.out, sz.out)
				r := rand.New(rand.NewPCG(1, 2))
				for b.Loop() {
					v.tr.Apply(img, r, x, 0)
				}
			})
		}
	}
}

// BenchmarkRandAugmentOps is each operation's cost on a 224x224 image.
func BenchmarkRandAugmentOps(b *testing.B) {
	for _, op := range raOps {
		b.Run(op.name, func(b *testing.B) {
			a := testImage(224, 224, 0, 255, 1)
			for b.Loop() {
				op.apply(a, 0.9*op.max)
			}
		})
	}
}
