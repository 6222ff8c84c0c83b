package coco

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// The splits of a dataset folder, named as COCO 2017's.
const (
	TrainSplit = "train2017"
	ValSplit   = "val2017"
)

// AnnotationPath is where a split's instances file lies in a COCO folder
// (annotations/instances_train2017.json).
func AnnotationPath(dir, split string) string {
	return filepath.Join(dir, "annotations", "instances_"+split+".json")
}

// ImageDir is where a split's images lie in a COCO folder (train2017/).
func ImageDir(dir, split string) string { return filepath.Join(dir, split) }

// ErrExists is returned when a synthetic dataset would replace one.
var ErrExists = errors.New("a dataset is already there")

// syntheticCategories are the synthetic dataset's classes: one per shape.
var syntheticCategories = []Category{
	{ID: 1, Name: "rectangle", Supercategory: "shape"},
	{ID: 2, Name: "ellipse", Supercategory: "shape"},
	{ID: 3, Name: "triangle", Supercategory: "shape"},
}

// SyntheticOptions size a synthetic dataset.
type SyntheticOptions struct {
	Train, Val int    // images per split
	Seed       uint64 // the same seed writes the same bytes
	Overwrite  bool   // replace instances files already there
}

// SplitSummary tells what a split holds.
type SplitSummary struct {
	Split       string
	Annotations string // its instances file
	Images      int
	Objects     int
	Crowd       int
}

// WriteSynthetic writes a COCO-format detection dataset into dir: splits
// train2017 and val2017 of JPEG images 256–384 wide and 192–288 high, each
// with one to four shapes (rectangles, ellipses, triangles: one category
// each, polygon segmentation, area the shape's pixel count) on a textured
// background, and in every fourth image (the first included) a crowd region (iscrowd 1,
// run-length segmentation) of many small shapes of one category. Images
// are written before their instances file, each by a rename, so an
// instances file only ever lists complete images.
func WriteSynthetic(dir string, o SyntheticOptions) ([]SplitSummary, error) {
	if o.Train < 1 || o.Val < 1 {
		return nil, fmt.Errorf("coco: synthetic dataset needs at least one train and one val image (got %d and %d)", o.Train, o.Val)
	}
	var out []SplitSummary
	nextImage, nextAnn := int64(1), int64(1)
	for si, sp := range []struct {
		name string
		n    int
	}{{TrainSplit, o.Train}, {ValSplit, o.Val}} {
		ann := AnnotationPath(dir, sp.name)
		if _, err := os.Stat(ann); err == nil && !o.Overwrite {
			return out, fmt.Errorf("coco: %s: %w", ann, ErrExists)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return out, fmt.Errorf("coco: %w", err)
		}
		imgDir := ImageDir(dir, sp.name)
		if err := os.MkdirAll(imgDir, 0o755); err != nil {
			return out, fmt.Errorf("coco: %w", err)
		}
		in := &Instances{Images: []Image{}, Annotations: []Annotation{}, Categories: syntheticCategories}
		sum := SplitSummary{Split: sp.name, Annotations: ann, Images: sp.n}
		for i := range sp.n {
			r := rand.New(rand.NewPCG(o.Seed, uint64(si)<<32|uint64(i)))
			id := nextImage
			nextImage++
			pic, anns := synthImage(r, i%4 == 0)
			name := fmt.Sprintf("%012d.jpg", id)
			if err := writeJPEG(filepath.Join(imgDir, name), pic); err != nil {
				return out, err
			}
			in.Images = append(in.Images, Image{ID: id, FileName: name, Width: pic.Rect.Dx(), Height: pic.Rect.Dy()})
			for _, a := range anns {
				a.ID, a.ImageID = nextAnn, id
				nextAnn++
				in.Annotations = append(in.Annotations, a)
				if a.IsCrowd == 1 {
					sum.Crowd++
				} else {
					sum.Objects++
				}
			}
		}
		if err := in.Validate(); err != nil {
			return out, fmt.Errorf("coco: synthetic %s: %w", sp.name, err)
		}
		b, err := json.Marshal(in)
		if err != nil {
			return out, fmt.Errorf("coco: %w", err)
		}
		if err := writeFile(ann, b); err != nil {
			return out, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// writeFile writes b to path through a temporary file and a rename.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("coco: %w", err)
	}
	return nil
}

func writeJPEG(path string, m image.Image) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".img-*")
	if err != nil {
		return fmt.Errorf("coco: %w", err)
	}
	err = jpeg.Encode(f, m, &jpeg.Options{Quality: 92})
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp's 0600 would hide the images from other users
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("coco: writing %s: %w", path, err)
	}
	return nil
}

type rgb [3]float64

func randColour(r *rand.Rand) rgb {
	return rgb{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
}

func dist(a, b rgb) float64 { return math.Sqrt(sq(a[0]-b[0]) + sq(a[1]-b[1]) + sq(a[2]-b[2])) }

func sq(v float64) float64 { return v * v }

// canvas is an image being drawn, in floating point until encoded.
type canvas struct {
	w, h int
	pix  []rgb
}

// synthImage draws one image, with a crowd region when crowd is set, and
// returns it with its annotations (ids unset).
func synthImage(r *rand.Rand, crowd bool) (*image.RGBA, []Annotation) {
	c := &canvas{w: 256 + r.IntN(129), h: 192 + r.IntN(97)}
	c.pix = make([]rgb, c.w*c.h)
	bg1, bg2 := randColour(r), randColour(r)
	c.texture(r, bg1, bg2)
	// An object colour stands out from both background colours.
	objColour := func() rgb {
		best, bestD := rgb{}, -1.0
		for range 20 {
			col := randColour(r)
			if d := min(dist(col, bg1), dist(col, bg2)); d > bestD {
				best, bestD = col, d
			}
		}
		return best
	}
	var anns []Annotation
	var taken []rect
	if crowd {
		a, region := c.crowd(r, objColour())
		anns = append(anns, a)
		taken = append(taken, region)
	}
	n := 1 + r.IntN(4)
	for range n {
		for range 50 {
			w := 20 + r.Float64()*float64(min(c.w, c.h)/2-20)
			h := 20 + r.Float64()*float64(min(c.w, c.h)/2-20)
			x, y := r.Float64()*(float64(c.w)-w), r.Float64()*(float64(c.h)-h)
			box := rect{x - 2, y - 2, x + w + 2, y + h + 2}
			if box.overlapsAny(taken) {
				continue
			}
			s := newShape(r, r.IntN(len(syntheticCategories)), x, y, w, h)
			mask := c.draw(s, objColour(), r)
			bb, area := maskBox(mask, c.w)
			if area == 0 {
				continue
			}
			seg, _ := json.Marshal([][]float64{s.polygon()})
			anns = append(anns, Annotation{CategoryID: syntheticCategories[s.kind].ID, BBox: bb, Area: float64(area), Segmentation: seg})
			taken = append(taken, box)
			break
		}
	}
	return c.rgba(), anns
}

// texture fills the canvas with one of three patterns blending two
// colours, plus per-pixel noise.
func (c *canvas) texture(r *rand.Rand, a, b rgb) {
	kind := r.IntN(3)
	fx, fy, ph := 0.02+r.Float64()*0.15, 0.02+r.Float64()*0.15, r.Float64()*2*math.Pi
	cell := 8 + r.IntN(24)
	for y := range c.h {
		for x := range c.w {
			var t float64
			switch kind {
			case 0: // stripes
				t = 0.5 + 0.5*math.Sin(fx*float64(x)+fy*float64(y)+ph)
			case 1: // checks
				t = float64((x/cell + y/cell) % 2)
			default: // soft blobs
				t = 0.5 + 0.25*math.Sin(fx*float64(x)+ph) + 0.25*math.Cos(fy*float64(y)-ph)
			}
			n := (r.Float64() - 0.5) * 30
			for k := range 3 {
				c.pix[y*c.w+x][k] = a[k]*(1-t) + b[k]*t + n
			}
		}
	}
}

// draw paints s in colour (with a little noise) and returns its mask.
func (c *canvas) draw(s shape, col rgb, r *rand.Rand) []bool {
	mask := make([]bool, c.w*c.h)
	x0, y0 := max(int(s.x1), 0), max(int(s.y1), 0)
	x1, y1 := min(int(math.Ceil(s.x2)), c.w), min(int(math.Ceil(s.y2)), c.h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if !s.contains(float64(x)+0.5, float64(y)+0.5) {
				continue
			}
			mask[y*c.w+x] = true
			n := (r.Float64() - 0.5) * 16
			for k := range 3 {
				c.pix[y*c.w+x][k] = col[k] + n
			}
		}
	}
	return mask
}

// crowd draws a region packed with small shapes of one category and
// returns its crowd annotation and the region.
func (c *canvas) crowd(r *rand.Rand, col rgb) (Annotation, rect) {
	kind := r.IntN(len(syntheticCategories))
	rw, rh := 60+r.Float64()*50, 60+r.Float64()*50
	rx, ry := r.Float64()*(float64(c.w)-rw), r.Float64()*(float64(c.h)-rh)
	union := make([]bool, c.w*c.h)
	const step = 13.0
	for y := ry; y+10 <= ry+rh; y += step {
		for x := rx; x+10 <= rx+rw; x += step {
			s := newShape(r, kind, x+r.Float64()*2, y+r.Float64()*2, 7+r.Float64()*3, 7+r.Float64()*3)
			for i, v := range c.draw(s, col, r) {
				union[i] = union[i] || v
			}
		}
	}
	bb, area := maskBox(union, c.w)
	seg, _ := json.Marshal(map[string][]int{"counts": rle(union, c.w, c.h), "size": {c.h, c.w}})
	return Annotation{CategoryID: syntheticCategories[kind].ID, BBox: bb, Area: float64(area), IsCrowd: 1, Segmentation: seg},
		rect{rx - 2, ry - 2, rx + rw + 2, ry + rh + 2}
}

func (c *canvas) rgba() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	for i, p := range c.pix {
		for k := range 3 {
			m.Pix[4*i+k] = uint8(math.Round(math.Max(0, math.Min(255, p[k]))))
		}
		m.Pix[4*i+3] = 255
	}
	return m
}

// maskBox is a mask's tight box as COCO's [x, y, width, height] and its
// pixel count.
func maskBox(mask []bool, w int) ([]float64, int) {
	minX, minY, maxX, maxY, n := math.MaxInt, math.MaxInt, -1, -1, 0
	for i, v := range mask {
		if !v {
			continue
		}
		x, y := i%w, i/w
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
		n++
	}
	if n == 0 {
		return nil, 0
	}
	return []float64{float64(minX), float64(minY), float64(maxX + 1 - minX), float64(maxY + 1 - minY)}, n
}

// rle is COCO's uncompressed run-length encoding of a mask: alternating
// runs of 0 and 1 (starting with 0) in column-major order.
func rle(mask []bool, w, h int) []int {
	var counts []int
	cur, run := false, 0
	for x := range w {
		for y := range h {
			if mask[y*w+x] != cur {
				counts = append(counts, run)
				cur, run = !cur, 0
			}
			run++
		}
	}
	return append(counts, run)
}

type rect struct{ x1, y1, x2, y2 float64 }

func (a rect) overlapsAny(rs []rect) bool {
	for _, b := range rs {
		if a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2 {
			return true
		}
	}
	return false
}

// shape is a rectangle, ellipse or triangle within its extent.
type shape struct {
	kind           int // index into syntheticCategories
	x1, y1, x2, y2 float64
	tri            [3][2]float64
}

func newShape(r *rand.Rand, kind int, x, y, w, h float64) shape {
	s := shape{kind: kind, x1: x, y1: y, x2: x + w, y2: y + h}
	if kind == 2 {
		apex := x + (0.2+0.6*r.Float64())*w
		if r.IntN(2) == 0 { // pointing up
			s.tri = [3][2]float64{{apex, y}, {x + w, y + h}, {x, y + h}}
		} else {
			s.tri = [3][2]float64{{x, y}, {x + w, y}, {apex, y + h}}
		}
	}
	return s
}

func (s shape) contains(px, py float64) bool {
	switch s.kind {
	case 0:
		return px >= s.x1 && px < s.x2 && py >= s.y1 && py < s.y2
	case 1:
		cx, cy := (s.x1+s.x2)/2, (s.y1+s.y2)/2
		rx, ry := (s.x2-s.x1)/2, (s.y2-s.y1)/2
		return sq((px-cx)/rx)+sq((py-cy)/ry) <= 1
	default:
		side := func(a, b [2]float64) float64 { return (b[0]-a[0])*(py-a[1]) - (b[1]-a[1])*(px-a[0]) }
		d0, d1, d2 := side(s.tri[0], s.tri[1]), side(s.tri[1], s.tri[2]), side(s.tri[2], s.tri[0])
		return (d0 >= 0 && d1 >= 0 && d2 >= 0) || (d0 <= 0 && d1 <= 0 && d2 <= 0)
	}
}

// polygon is the shape's outline as COCO's flat [x1, y1, x2, y2, ...].
func (s shape) polygon() []float64 {
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	switch s.kind {
	case 0:
		return []float64{round(s.x1), round(s.y1), round(s.x2), round(s.y1), round(s.x2), round(s.y2), round(s.x1), round(s.y2)}
	case 1:
		cx, cy := (s.x1+s.x2)/2, (s.y1+s.y2)/2
		rx, ry := (s.x2-s.x1)/2, (s.y2-s.y1)/2
		var p []float64
		for i := range 24 {
			a := 2 * math.Pi * float64(i) / 24
			p = append(p, round(cx+rx*math.Cos(a)), round(cy+ry*math.Sin(a)))
		}
		return p
	default:
		return []float64{round(s.tri[0][0]), round(s.tri[0][1]), round(s.tri[1][0]), round(s.tri[1][1]), round(s.tri[2][0]), round(s.tri[2][1])}
	}
}
