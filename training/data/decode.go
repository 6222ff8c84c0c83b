package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
)

// Region is the part of an image a transform will read: a rectangle in
// full-size pixels and the smallest scale (decoded pixels per full-size
// pixel) it is needed at. A decoder may deliver more.
type Region struct {
	Rect  image.Rectangle
	Scale float64
}

// View says how a decoded image maps onto the full-size one: full-size
// pixel edge coordinate p lands at p*Scale - (X, Y).
type View struct {
	Scale float64
	X, Y  int
}

// JPEGDecoder decodes JPEG files to RGB.
type JPEGDecoder interface {
	// Name is a short label for messages and benchmarks.
	Name() string
	// DecodeJPEG decodes src. pick is called once with the full size and
	// returns the region the caller needs; the decoder may decode just
	// that, at a reduced scale. The result reuses pix when it is large
	// enough.
	DecodeJPEG(src []byte, pick func(w, h int) Region, pix []uint8) (Image, View, error)
}

// StdJPEG decodes with the standard library's image/jpeg: always at full
// size, converting only the region to RGB.
type StdJPEG struct{}

// Name implements JPEGDecoder.
func (StdJPEG) Name() string { return "stdlib" }

// DecodeJPEG implements JPEGDecoder.
func (StdJPEG) DecodeJPEG(src []byte, pick func(w, h int) Region, pix []uint8) (Image, View, error) {
	m, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		return Image{}, View{}, err
	}
	b := m.Bounds()
	r := pick(b.Dx(), b.Dy()).Rect.Intersect(image.Rect(0, 0, b.Dx(), b.Dy()))
	if r.Empty() {
		r = image.Rect(0, 0, b.Dx(), b.Dy())
	}
	img := toRGB(m, r.Add(b.Min), pix)
	return img, View{Scale: 1, X: r.Min.X, Y: r.Min.Y}, nil
}

// toRGB converts rectangle r of m (in m's coordinates) to an RGB Image,
// reusing pix when it is large enough. The common decoder outputs
// (YCbCr, gray, RGBA) take direct paths.
func toRGB(m image.Image, r image.Rectangle, pix []uint8) Image {
	w, h := r.Dx(), r.Dy()
	if cap(pix) < 3*w*h {
		pix = make([]uint8, 3*w*h)
	}
	img := Image{W: w, H: h, Pix: pix[:3*w*h]}
	switch m := m.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			out := img.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				yi := m.YOffset(r.Min.X+x, r.Min.Y+y)
				ci := m.COffset(r.Min.X+x, r.Min.Y+y)
				out[3*x], out[3*x+1], out[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			out := img.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				out[3*x], out[3*x+1], out[3*x+2] = row[x], row[x], row[x]
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			out := img.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				copy(out[3*x:3*x+3], row[4*x:4*x+3])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				cr, cg, cb, _ := m.At(r.Min.X+x, r.Min.Y+y).RGBA()
				o := (y*w + x) * 3
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = uint8(cr>>8), uint8(cg>>8), uint8(cb>>8)
			}
		}
	}
	return img
}

// FromImage converts any image.Image to RGB bytes.
func FromImage(m image.Image) Image { return toRGB(m, m.Bounds(), nil) }

// readFile reads path into buf (reused when large enough).
func readFile(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf, err
	}
	n := int(st.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf, fmt.Errorf("reading %s: %w", path, err)
	}
	return buf, nil
}

// isJPEG reports whether src starts with a JPEG's SOI marker (some files
// named .jpg are not JPEGs).
func isJPEG(src []byte) bool { return len(src) > 2 && src[0] == 0xff && src[1] == 0xd8 }
