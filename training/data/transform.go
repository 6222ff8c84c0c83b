package data

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// Transform turns an Image into a normalised Size x Size input.
type Transform struct {
	// Size is the output side in pixels.
	Size int
	// Train selects random-resized-crop and horizontal flip; otherwise the
	// centre crop below is taken.
	Train bool
	// MinScale is random-resized-crop's smallest area share. Default 0.08.
	MinScale float64
	// CropFraction is the evaluation centre crop as a share of the shorter
	// side (resize to Size/CropFraction, crop Size). Default 0.875; 1 keeps
	// the whole image (CIFAR).
	CropFraction float64
	// Mean and Std normalise each channel after scaling to [0,1]. Default:
	// the ImageNet statistics.
	Mean, Std [3]float32

	// The augmentations below apply only when Train is set; zero turns
	// each off (no extra random draws, so the output is what it was
	// without them). Their randomness comes from Apply's r, after the crop
	// and flip, so a sample's augmentation depends only on the loader's
	// seed, the epoch and the sample index.

	// RandAugmentN is the number of RandAugment operations per image
	// (randaugment.go lists them), applied to the 8-bit crop before
	// normalisation. Default 0: off.
	RandAugmentN int
	// RandAugmentM is their magnitude, as a share M/RandAugmentMaxM of
	// each operation's range (clamped to 1). Default 0.
	RandAugmentM int
	// RandAugmentMaxM is the magnitude at full strength. Default 10 (timm,
	// and recipes written "m=9"); 30 gives torchvision's 31 magnitude
	// bins.
	RandAugmentMaxM int
	// RandomErasing is the probability of erasing one rectangle of the
	// normalised image (torchvision's RandomErasing defaults: area 2%-33%
	// of the image, aspect ratio 0.3-3.3, value 0, the mean colour after
	// normalisation). Default 0: off.
	RandomErasing float64
}

// Validate checks the augmentation settings.
func (t Transform) Validate() error {
	if t.RandAugmentN < 0 || t.RandAugmentM < 0 || t.RandAugmentMaxM < 0 {
		return fmt.Errorf("data: RandAugment n=%d m=%d max_m=%d: set them to zero or more (the paper's recipe: n=2, m=9)",
			t.RandAugmentN, t.RandAugmentM, t.RandAugmentMaxM)
	}
	if t.RandomErasing < 0 || t.RandomErasing > 1 || math.IsNaN(t.RandomErasing) {
		return fmt.Errorf("data: random erasing %v is a probability: set it within [0, 1] (the paper's recipe: 0.2)", t.RandomErasing)
	}
	return nil
}

func (t Transform) withDefaults() Transform {
	if t.MinScale <= 0 {
		t.MinScale = 0.08
	}
	if t.CropFraction <= 0 {
		t.CropFraction = 0.875
	}
	if t.Std == [3]float32{} {
		t.Mean = [3]float32{0.485, 0.456, 0.406}
		t.Std = [3]float32{0.229, 0.224, 0.225}
	}
	if t.RandAugmentMaxM <= 0 {
		t.RandAugmentMaxM = DefaultRandAugmentMaxM
	}
	return t
}

// cropBox is the part of a source image a sample is made from: a
// rectangle in full-size pixels (fractional) and whether it is mirrored.
type cropBox struct {
	x, y, w, h float64
	flip       bool
}

// crop picks the source rectangle of an iw x ih image.
func (t Transform) crop(iw0, ih0 int, r *rand.Rand) cropBox {
	iw, ih := float64(iw0), float64(ih0)
	if !t.Train {
		s := math.Min(iw, ih) * t.CropFraction
		return cropBox{(iw - s) / 2, (ih - s) / 2, s, s, false}
	}
	flip := r.IntN(2) == 1
	area := iw * ih
	for try := 0; try < 10; try++ {
		a := area * (t.MinScale + r.Float64()*(1-t.MinScale))
		logR := math.Log(3.0/4) + r.Float64()*(math.Log(4.0/3)-math.Log(3.0/4))
		ar := math.Exp(logR)
		w, h := math.Round(math.Sqrt(a*ar)), math.Round(math.Sqrt(a/ar))
		if w >= 1 && h >= 1 && w <= iw && h <= ih {
			return cropBox{math.Floor(r.Float64() * (iw - w + 1)), math.Floor(r.Float64() * (ih - h + 1)), w, h, flip}
		}
	}
	s := math.Min(iw, ih) // fall back to a centre crop, as torchvision does
	return cropBox{(iw - s) / 2, (ih - s) / 2, s, s, flip}
}

// region is what a decoder must deliver for crop c of an iw x ih image:
// the pixels the bilinear taps read (one pixel of margin) at a scale that
// keeps the crop at least Size pixels on each side.
func (t Transform) region(c cropBox, iw, ih int) Region {
	x0, y0 := max(int(math.Floor(c.x))-1, 0), max(int(math.Floor(c.y))-1, 0)
	x1, y1 := min(int(math.Ceil(c.x+c.w))+1, iw), min(int(math.Ceil(c.y+c.h))+1, ih)
	return Region{Rect: image.Rect(x0, y0, x1, y1), Scale: float64(t.Size) / math.Min(c.w, c.h)}
}

// Apply writes the transformed image as sample n of out (3 channels of
// Size x Size, CHWN layout), drawing randomness from r (nil is fine when
// Train is not set).
func (t Transform) Apply(img Image, r *rand.Rand, out *tensor.Tensor, n int) {
	t = t.withDefaults()
	t.render(img, View{Scale: 1}, t.crop(img.W, img.H, r), r, out, n, nil)
}

// render is Apply after the crop is drawn, from an image decoded as v
// says (t has its defaults). aug, when not nil, is RandAugment's working
// image, reused.
func (t Transform) render(img Image, v View, c cropBox, r *rand.Rand, out *tensor.Tensor, n int, aug *augImage) {
	cx, cy, cw, ch := c.x*v.Scale-float64(v.X), c.y*v.Scale-float64(v.Y), c.w*v.Scale, c.h*v.Scale
	if t.Train && t.RandAugmentN > 0 {
		a := t.resample(img, cx, cy, cw, ch, c.flip, aug)
		a.randAugment(r, t.RandAugmentN, min(float64(t.RandAugmentM)/float64(t.RandAugmentMaxM), 1))
		t.normalise(a, out, n)
	} else {
		t.resampleNormalise(img, cx, cy, cw, ch, c.flip, out, n)
	}
	if t.Train && t.RandomErasing > 0 {
		erase(r, t.RandomErasing, out, n)
	}
}

// resampleNormalise crops, scales (bilinear), flips and normalises in one
// pass: the path without RandAugment. The column taps are worked out once
// per image, and each row pair is read once per channel.
func (t Transform) resampleNormalise(img Image, cx, cy, cw, ch float64, flip bool, out *tensor.Tensor, n int) {
	s := t.Size
	sx, sy := cw/float64(s), ch/float64(s)
	xt := make([]tap, s)
	for ox := range xt {
		src := ox
		if flip {
			src = s - 1 - ox // output column ox mirrors source column s-1-ox
		}
		xt[ox] = newTap(cx, sx, src, img.W, 3)
	}
	N := out.N
	for oy := 0; oy < s; oy++ {
		ty := newTap(cy, sy, oy, img.H, img.W*3)
		r0, r1 := img.Pix[ty.o0:], img.Pix[ty.o1:]
		wy := ty.w
		for c := 0; c < 3; c++ {
			// (v/255 - mean)/std as one multiply-add.
			scale, shift := 1/(255*t.Std[c]), -t.Mean[c]/t.Std[c]
			base := (c*s+oy)*s*N + n
			for ox, tx := range xt {
				a0, a1 := tx.o0+c, tx.o1+c
				v := (float32(r0[a0])*(1-tx.w)+float32(r0[a1])*tx.w)*(1-wy) + (float32(r1[a0])*(1-tx.w)+float32(r1[a1])*tx.w)*wy
				out.Data[base+ox*N] = v*scale + shift
			}
		}
	}
}

// resample is resampleNormalise's crop, scale and flip into an 8-bit
// image (rounded, as PIL's resize), for RandAugment: into a when it is
// Size x Size, else a new one.
func (t Transform) resample(img Image, cx, cy, cw, ch float64, flip bool, a *augImage) *augImage {
	s := t.Size
	var fill [3]uint8 // what geometric operations uncover: the mean colour, as timm
	for c := range fill {
		fill[c] = uint8(min(max(t.Mean[c]*255+0.5, 0), 255))
	}
	if a == nil || a.W != s || a.H != s {
		a = newAugImage(s, s, fill)
	}
	a.fill = fill
	sx, sy := cw/float64(s), ch/float64(s)
	xt := make([]tap, s)
	for ox := range xt {
		src := ox
		if flip {
			src = s - 1 - ox
		}
		xt[ox] = newTap(cx, sx, src, img.W, 3)
	}
	for oy := 0; oy < s; oy++ {
		ty := newTap(cy, sy, oy, img.H, img.W*3)
		row := a.Pix[oy*s*3 : (oy+1)*s*3]
		for ox, tx := range xt {
			for c := 0; c < 3; c++ {
				v := bilinear(img.Pix, ty, tx, c)
				row[ox*3+c] = uint8(min(max(v+0.5, 0), 255))
			}
		}
	}
	return a
}

// tap is where output pixel o of a crop starting at c0, step source
// pixels per output pixel, samples a source axis of n pixels: the offsets
// into Image.Pix of the two neighbours (clamped to the edge) and the
// weight of the second.
type tap struct {
	o0, o1 int
	w      float32
}

// newTap samples at pixel centres, as PIL and torchvision do; stride is
// the axis's step in Image.Pix.
func newTap(c0, step float64, o, n, stride int) tap {
	f := c0 + (float64(o)+0.5)*step - 0.5
	i := int(math.Floor(f))
	return tap{clampInt(i, n) * stride, clampInt(i+1, n) * stride, float32(f - float64(i))}
}

// bilinear interpolates channel c of pix (an Image's) at rows y and
// columns x.
func bilinear(pix []uint8, y, x tap, c int) float32 {
	r0, r1 := y.o0+c, y.o1+c
	return (float32(pix[r0+x.o0])*(1-x.w)+float32(pix[r0+x.o1])*x.w)*(1-y.w) + (float32(pix[r1+x.o0])*(1-x.w)+float32(pix[r1+x.o1])*x.w)*y.w
}

// normalise writes a (Size x Size) as sample n of out.
func (t Transform) normalise(a *augImage, out *tensor.Tensor, n int) {
	s := t.Size
	for c := 0; c < 3; c++ {
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				out.Data[((c*s+y)*s+x)*out.N+n] = (float32(a.Pix[(y*s+x)*3+c])/255 - t.Mean[c]) / t.Std[c]
			}
		}
	}
}

func clampInt(v, n int) int { return min(max(v, 0), n-1) }
