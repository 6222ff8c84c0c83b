package data

import (
	"math"
	"math/rand/v2"
)

// RandAugment (Cubuk et al., 2020) as torchvision.transforms.RandAugment
// does it: for each image, N operations drawn uniformly (with replacement)
// from the 14 below, each at the same magnitude, with a random sign for the
// signed ones. It works on the 8-bit image after random-resized-crop and
// flip, before normalisation, like the PIL image in torchvision.

// DefaultRandAugmentMaxM is the magnitude scale when
// Transform.RandAugmentMaxM is 0: M/10 of each operation's range, the timm
// convention behind recipes written "RandAugment n=2 m=9" (the paper's).
const DefaultRandAugmentMaxM = 10

// raOps are the operations in torchvision's order. max is the magnitude at
// full strength (M = MaxM); signed ones get a random sign.
var raOps = [...]struct {
	name   string
	signed bool
	max    float64
	apply  func(a *augImage, mag float64)
}{
	{"identity", false, 0, func(*augImage, float64) {}},
	{"shear_x", true, 0.3, func(a *augImage, m float64) { a.affine(1, m, 0, 0, 1, 0) }},
	{"shear_y", true, 0.3, func(a *augImage, m float64) { a.affine(1, 0, 0, m, 1, 0) }},
	// Translations are a share of the side, 150/331 at full strength, in
	// whole pixels (torchvision truncates).
	{"translate_x", true, 150.0 / 331, func(a *augImage, m float64) { a.affine(1, 0, -math.Trunc(m*float64(a.W)), 0, 1, 0) }},
	{"translate_y", true, 150.0 / 331, func(a *augImage, m float64) { a.affine(1, 0, 0, 0, 1, -math.Trunc(m*float64(a.H))) }},
	{"rotate", true, 30, func(a *augImage, m float64) { a.rotate(m) }},
	{"brightness", true, 0.9, func(a *augImage, m float64) { a.brightness(1 + m) }},
	{"color", true, 0.9, func(a *augImage, m float64) { a.color(1 + m) }},
	{"contrast", true, 0.9, func(a *augImage, m float64) { a.contrast(1 + m) }},
	{"sharpness", true, 0.9, func(a *augImage, m float64) { a.sharpness(1 + m) }},
	// Posterize keeps 8 bits at magnitude 0 down to 4 at full strength.
	{"posterize", false, 4, func(a *augImage, m float64) { a.posterize(8 - int(math.RoundToEven(m))) }},
	// Solarize's threshold falls from 255 to 0.
	{"solarize", false, 255, func(a *augImage, m float64) { a.solarize(255 - m) }},
	{"autocontrast", false, 0, func(a *augImage, _ float64) { a.autocontrast() }},
	{"equalize", false, 0, func(a *augImage, _ float64) { a.equalize() }},
}

// augImage is an RGB image being augmented, with a second buffer for the
// geometric operations and the colour that fills what they uncover.
type augImage struct {
	W, H int
	Pix  []uint8 // 3 bytes per pixel, rows top to bottom
	tmp  []uint8
	fill [3]uint8
}

func newAugImage(w, h int, fill [3]uint8) *augImage {
	return &augImage{W: w, H: h, Pix: make([]uint8, 3*w*h), tmp: make([]uint8, 3*w*h), fill: fill}
}

// randAugment applies n operations at magnitude level (0..1 of each range).
func (a *augImage) randAugment(r *rand.Rand, n int, level float64) {
	for i := 0; i < n; i++ {
		op := raOps[r.IntN(len(raOps))]
		mag := op.max * level
		if op.signed && r.IntN(2) == 1 {
			mag = -mag
		}
		op.apply(a, mag)
	}
}

// affine resamples (nearest neighbour, as torchvision's RandAugment) so
// that output pixel centre (x, y) takes the input at (ax+by+c, dx+ey+f);
// what falls outside takes the fill colour.
func (a *augImage) affine(ca, cb, cc, cd, ce, cf float64) {
	for y := 0; y < a.H; y++ {
		py := float64(y) + 0.5
		for x := 0; x < a.W; x++ {
			px := float64(x) + 0.5
			u := math.Floor(ca*px + cb*py + cc)
			v := math.Floor(cd*px + ce*py + cf)
			o := (y*a.W + x) * 3
			if u < 0 || v < 0 || u >= float64(a.W) || v >= float64(a.H) {
				a.tmp[o], a.tmp[o+1], a.tmp[o+2] = a.fill[0], a.fill[1], a.fill[2]
				continue
			}
			i := (int(v)*a.W + int(u)) * 3
			a.tmp[o], a.tmp[o+1], a.tmp[o+2] = a.Pix[i], a.Pix[i+1], a.Pix[i+2]
		}
	}
	a.Pix, a.tmp = a.tmp, a.Pix
}

// rotate turns the content deg degrees counter-clockwise about the centre.
func (a *augImage) rotate(deg float64) {
	s, c := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(a.W)/2, float64(a.H)/2
	// Inverse map: output offset (dx, dy) reads input offset
	// (c*dx - s*dy, s*dx + c*dy) (y points down).
	a.affine(c, -s, cx-c*cx+s*cy, s, c, cy-s*cx-c*cy)
}

// blend mixes towards the image from a degenerate version of it, as PIL's
// ImageEnhance: deg + f*(img-deg), truncated and clipped to 0..255.
func blend(img, deg uint8, f float32) uint8 {
	v := float32(deg) + f*(float32(img)-float32(deg))
	return uint8(int32(min(max(v, 0), 255))) // truncates, as PIL
}

// mapValues applies a per-value table to every channel.
func (a *augImage) mapValues(lut *[256]uint8) {
	for i, p := range a.Pix {
		a.Pix[i] = lut[p]
	}
}

// blendLUT is blend towards a flat degenerate image, as a table.
func blendLUT(deg uint8, f float64) *[256]uint8 {
	var lut [256]uint8
	for v := range lut {
		lut[v] = blend(uint8(v), deg, float32(f))
	}
	return &lut
}

func (a *augImage) brightness(f float64) { a.mapValues(blendLUT(0, f)) }

// luma is PIL's RGB to L conversion (ITU-R 601-2, fixed point).
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

func (a *augImage) color(f float64) {
	for i := 0; i < len(a.Pix); i += 3 {
		l := luma(a.Pix[i], a.Pix[i+1], a.Pix[i+2])
		for c := 0; c < 3; c++ {
			a.Pix[i+c] = blend(a.Pix[i+c], l, float32(f))
		}
	}
}

func (a *augImage) contrast(f float64) {
	var sum uint64
	for i := 0; i < len(a.Pix); i += 3 {
		sum += uint64(luma(a.Pix[i], a.Pix[i+1], a.Pix[i+2]))
	}
	// PIL blends with a flat image of the rounded mean luma.
	mean := uint8(float64(sum)/float64(a.W*a.H) + 0.5)
	a.mapValues(blendLUT(mean, f))
}

// sharpness blends with PIL's SMOOTH filter (3x3, centre 5, others 1, /13,
// rounded; the border rows and columns stay as they are).
func (a *augImage) sharpness(f float64) {
	copy(a.tmp, a.Pix)
	row := 3 * a.W
	for y := 1; y < a.H-1; y++ {
		up, mid, down := a.Pix[(y-1)*row:y*row], a.Pix[y*row:(y+1)*row], a.Pix[(y+1)*row:(y+2)*row]
		out := a.tmp[y*row : (y+1)*row]
		for o := 3; o < row-3; o++ {
			s := int(up[o-3]) + int(up[o]) + int(up[o+3]) +
				int(mid[o-3]) + 5*int(mid[o]) + int(mid[o+3]) +
				int(down[o-3]) + int(down[o]) + int(down[o+3])
			out[o] = uint8((s*2 + 13) / 26) // round(s/13)
		}
	}
	for i, p := range a.Pix {
		a.tmp[i] = blend(p, a.tmp[i], float32(f))
	}
	a.Pix, a.tmp = a.tmp, a.Pix
}

func (a *augImage) posterize(bits int) {
	mask := uint8(0xff) << (8 - bits)
	for i := range a.Pix {
		a.Pix[i] &= mask
	}
}

// solarize inverts the values at or above threshold.
func (a *augImage) solarize(threshold float64) {
	var lut [256]uint8
	for v := range lut {
		lut[v] = uint8(v)
		if float64(v) >= threshold {
			lut[v] = 255 - uint8(v)
		}
	}
	a.mapValues(&lut)
}

// autocontrast stretches each channel to 0..255 (no cut-off).
func (a *augImage) autocontrast() {
	for c := 0; c < 3; c++ {
		lo, hi := uint8(255), uint8(0)
		for i := c; i < len(a.Pix); i += 3 {
			lo, hi = min(lo, a.Pix[i]), max(hi, a.Pix[i])
		}
		if hi <= lo {
			continue
		}
		scale := 255 / float32(hi-lo)
		for i := c; i < len(a.Pix); i += 3 {
			a.Pix[i] = uint8(min(float32(a.Pix[i]-lo)*scale, 255))
		}
	}
}

// equalize flattens each channel's histogram, as PIL's ImageOps.equalize.
func (a *augImage) equalize() {
	for c := 0; c < 3; c++ {
		var h [256]int
		for i := c; i < len(a.Pix); i += 3 {
			h[a.Pix[i]]++
		}
		last, total := 0, 0
		for _, n := range h {
			if n > 0 {
				last = n
			}
			total += n
		}
		step := (total - last) / 255
		if step == 0 {
			continue // one value only, or too few pixels
		}
		var lut [256]uint8
		n := step / 2
		for v := range lut {
			lut[v] = uint8(min(n/step, 255))
			n += h[v]
		}
		for i := c; i < len(a.Pix); i += 3 {
			a.Pix[i] = lut[a.Pix[i]]
		}
	}
}
