package coco

import (
	"fmt"
	"math"

	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/detection"
)

// Transform is the detection input pipeline of mmdetection's COCO
// configurations: resize to fit MaxLong×MaxShort keeping the aspect ratio,
// optional horizontal flip, normalise, zero-pad to a multiple of
// SizeDivisor.
type Transform struct {
	MaxLong, MaxShort int
	SizeDivisor       int
	Mean, Std         [3]float32 // per RGB channel, on 0–255 values
}

// RetinaNetTransform is 1333×800, padding to a multiple of 32, and the
// ImageNet mean and standard deviation.
func RetinaNetTransform() Transform {
	return Transform{
		MaxLong: 1333, MaxShort: 800, SizeDivisor: 32,
		Mean: [3]float32{123.675, 116.28, 103.53},
		Std:  [3]float32{58.395, 57.12, 57.375},
	}
}

// Validate reports settings no image can be transformed with.
func (t Transform) Validate() error {
	if t.MaxLong <= 0 || t.MaxShort <= 0 || t.SizeDivisor <= 0 {
		return fmt.Errorf("coco: transform needs a positive long side, short side and size divisor (got %d, %d, %d)", t.MaxLong, t.MaxShort, t.SizeDivisor)
	}
	for c, s := range t.Std {
		if s <= 0 {
			return fmt.Errorf("coco: transform standard deviation of channel %d is %v, want > 0", c, s)
		}
	}
	return nil
}

// Meta records what a transform did to one image, to map boxes both ways.
type Meta struct {
	OrigW, OrigH   int     // the image as read
	W, H           int     // after resizing, before padding
	ScaleX, ScaleY float64 // W/OrigW, H/OrigH
	Flipped        bool
}

// Size is the size a w×h image is resized to: scaled by the largest factor
// that keeps its long side within MaxLong and its short side within
// MaxShort, rounded to the nearest pixel.
func (t Transform) Size(w, h int) (nw, nh int) {
	s := math.Min(float64(t.MaxLong)/float64(max(w, h)), float64(t.MaxShort)/float64(min(w, h)))
	return max(int(float64(w)*s+0.5), 1), max(int(float64(h)*s+0.5), 1)
}

// Apply resizes img (and flips it when flip is set) and maps its objects
// to the result.
func (t Transform) Apply(img data.Image, o Objects, flip bool) (data.Image, Objects, Meta) {
	nw, nh := t.Size(img.W, img.H)
	m := Meta{OrigW: img.W, OrigH: img.H, W: nw, H: nh,
		ScaleX: float64(nw) / float64(img.W), ScaleY: float64(nh) / float64(img.H), Flipped: flip}
	out := Resize(img, nw, nh)
	if flip {
		FlipImage(out)
	}
	mapped := Objects{Boxes: make([]detection.Box, len(o.Boxes)), Classes: o.Classes, Crowd: make([]detection.Box, len(o.Crowd))}
	for i, b := range o.Boxes {
		mapped.Boxes[i] = m.Forward(b)
	}
	for i, b := range o.Crowd {
		mapped.Crowd[i] = m.Forward(b)
	}
	return out, mapped, m
}

// Forward maps a box of the original image onto the transformed one:
// scaled, clipped to the image, mirrored when flipped.
func (m Meta) Forward(b detection.Box) detection.Box {
	w, h := float64(m.W), float64(m.H)
	r := detection.Box{
		X1: clamp(b.X1*m.ScaleX, 0, w), Y1: clamp(b.Y1*m.ScaleY, 0, h),
		X2: clamp(b.X2*m.ScaleX, 0, w), Y2: clamp(b.Y2*m.ScaleY, 0, h),
	}
	if m.Flipped {
		r.X1, r.X2 = w-r.X2, w-r.X1
	}
	return r
}

// Back maps a box of the transformed image (a detection) onto the
// original image.
func (m Meta) Back(b detection.Box) detection.Box {
	if m.Flipped {
		w := float64(m.W)
		b.X1, b.X2 = w-b.X2, w-b.X1
	}
	return detection.Box{X1: b.X1 / m.ScaleX, Y1: b.Y1 / m.ScaleY, X2: b.X2 / m.ScaleX, Y2: b.Y2 / m.ScaleY}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Resize scales img to w×h bilinearly, sampling at pixel centres (as
// OpenCV's INTER_LINEAR, which mmdetection uses).
func Resize(img data.Image, w, h int) data.Image {
	out := data.Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	xs := taps(img.W, w)
	ys := taps(img.H, h)
	for y, ty := range ys {
		r0 := img.Pix[3*ty.i0*img.W:]
		r1 := img.Pix[3*ty.i1*img.W:]
		for x, tx := range xs {
			for c := range 3 {
				top := float64(r0[3*tx.i0+c])*(1-tx.f) + float64(r0[3*tx.i1+c])*tx.f
				bot := float64(r1[3*tx.i0+c])*(1-tx.f) + float64(r1[3*tx.i1+c])*tx.f
				out.Pix[3*(y*w+x)+c] = uint8(math.Round(top*(1-ty.f) + bot*ty.f))
			}
		}
	}
	return out
}

// tap is where one output pixel samples its source row or column: between
// i0 and i1, at fraction f from i0.
type tap struct {
	i0, i1 int
	f      float64
}

func taps(src, dst int) []tap {
	out := make([]tap, dst)
	s := float64(src) / float64(dst)
	for i := range out {
		p := (float64(i)+0.5)*s - 0.5
		p = clamp(p, 0, float64(src-1))
		i0 := int(p)
		out[i] = tap{i0: i0, i1: min(i0+1, src-1), f: p - float64(i0)}
	}
	return out
}

// FlipImage mirrors img left to right in place.
func FlipImage(img data.Image) {
	for y := range img.H {
		row := img.Pix[3*y*img.W : 3*(y+1)*img.W]
		for l, r := 0, img.W-1; l < r; l, r = l+1, r-1 {
			for c := range 3 {
				row[3*l+c], row[3*r+c] = row[3*r+c], row[3*l+c]
			}
		}
	}
}

// PadSize rounds w and h up to multiples of divisor.
func PadSize(w, h, divisor int) (pw, ph int) {
	return (w + divisor - 1) / divisor * divisor, (h + divisor - 1) / divisor * divisor
}

// BatchSize is the padded size a batch of transformed images shares: the
// largest width and height, each rounded up to a multiple of SizeDivisor.
func (t Transform) BatchSize(metas []Meta) (w, h int) {
	for _, m := range metas {
		w, h = max(w, m.W), max(h, m.H)
	}
	return PadSize(w, h, t.SizeDivisor)
}

// Normalise writes img into dst as 3×h×w channel planes (RGB),
// (v - Mean)/Std, zero beyond the image: the padding sits right and
// below, so boxes keep their coordinates.
func (t Transform) Normalise(img data.Image, w, h int, dst []float32) error {
	if img.W > w || img.H > h {
		return fmt.Errorf("coco: %d×%d image does not fit a %d×%d input", img.W, img.H, w, h)
	}
	if len(dst) != 3*w*h {
		return fmt.Errorf("coco: input of %d values for 3×%d×%d", len(dst), h, w)
	}
	clear(dst)
	for c := range 3 {
		plane := dst[c*w*h:]
		for y := range img.H {
			for x := range img.W {
				plane[y*w+x] = (float32(img.Pix[3*(y*img.W+x)+c]) - t.Mean[c]) / t.Std[c]
			}
		}
	}
	return nil
}
