package coco

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"

	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/detection"
)

// Dataset is an instances file with its image folder. Classes are the
// categories in id order, numbered from 0 (COCO's 80 categories have ids
// up to 90).
type Dataset struct {
	Instances *Instances
	ImageDir  string
	Classes   []Category
	classOf   map[int64]int
	byImage   [][]int // per image, its annotations' indices
}

// Open reads an instances file and indexes it against the folder holding
// its images (train2017/ for instances_train2017.json).
func Open(annotations, imageDir string) (*Dataset, error) {
	in, err := ReadInstances(annotations)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(imageDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("coco: image folder %s is not a readable folder", imageDir)
	}
	return New(in, imageDir), nil
}

// New indexes in, whose images lie in imageDir. in must be valid.
func New(in *Instances, imageDir string) *Dataset {
	d := &Dataset{Instances: in, ImageDir: imageDir, classOf: map[int64]int{}}
	d.Classes = slices.Clone(in.Categories)
	slices.SortFunc(d.Classes, func(a, b Category) int { return cmp.Compare(a.ID, b.ID) })
	for i, c := range d.Classes {
		d.classOf[c.ID] = i
	}
	pos := make(map[int64]int, len(in.Images))
	for i, im := range in.Images {
		pos[im.ID] = i
	}
	d.byImage = make([][]int, len(in.Images))
	for i, a := range in.Annotations {
		p := pos[a.ImageID]
		d.byImage[p] = append(d.byImage[p], i)
	}
	return d
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Instances.Images) }

// Objects are the boxes of one image a detector trains on.
type Objects struct {
	Boxes   []detection.Box
	Classes []int // 0-based, per box
	Crowd   []detection.Box
}

// Objects returns image i's boxes. As mmdetection's COCO loader, it drops
// annotations marked ignore, boxes under one pixel wide or high, with a
// non-positive area or wholly outside the image; crowd regions come apart
// from the objects.
func (d *Dataset) Objects(i int) Objects {
	im := d.Instances.Images[i]
	var o Objects
	for _, ai := range d.byImage[i] {
		a := d.Instances.Annotations[ai]
		x, y, w, h := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
		iw := min(x+w, float64(im.Width)) - max(x, 0)
		ih := min(y+h, float64(im.Height)) - max(y, 0)
		if a.Ignore || iw <= 0 || ih <= 0 || a.Area <= 0 || w < 1 || h < 1 {
			continue
		}
		b := detection.Box{X1: x, Y1: y, X2: x + w, Y2: y + h}
		if a.IsCrowd == 1 {
			o.Crowd = append(o.Crowd, b)
			continue
		}
		o.Boxes = append(o.Boxes, b)
		o.Classes = append(o.Classes, d.classOf[a.CategoryID])
	}
	return o
}

// WithObjects are the indices of the images with at least one object to
// learn, the ones mmdetection trains on.
func (d *Dataset) WithObjects() []int {
	var out []int
	for i := range d.Instances.Images {
		if len(d.Objects(i).Boxes) > 0 {
			out = append(out, i)
		}
	}
	return out
}

// Sample is one decoded image with its objects.
type Sample struct {
	ImageID int64
	Image   data.Image
	Objects
}

// Sample decodes image i (JPEG) and returns it with its objects. An image
// whose size differs from its entry is an error: its boxes would not fit.
func (d *Dataset) Sample(i int) (Sample, error) {
	im := d.Instances.Images[i]
	path := filepath.Join(d.ImageDir, filepath.FromSlash(im.FileName))
	f, err := os.Open(path)
	if err != nil {
		return Sample{}, fmt.Errorf("coco: images[%d] (id %d): %w", i, im.ID, err)
	}
	defer f.Close()
	m, err := jpeg.Decode(f)
	if err != nil {
		return Sample{}, fmt.Errorf("coco: images[%d] (id %d): decoding %s: %w", i, im.ID, path, err)
	}
	if b := m.Bounds(); b.Dx() != im.Width || b.Dy() != im.Height {
		return Sample{}, fmt.Errorf("coco: images[%d] (id %d): %s is %d×%d, the entry says %d×%d", i, im.ID, path, b.Dx(), b.Dy(), im.Width, im.Height)
	}
	return Sample{ImageID: im.ID, Image: toRGB(m), Objects: d.Objects(i)}, nil
}

// toRGB converts a decoded JPEG to RGB bytes; grey and colour JPEGs take
// the fast paths.
func toRGB(m image.Image) data.Image {
	b := m.Bounds()
	out := data.Image{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	switch s := m.(type) {
	case *image.Gray:
		for y := range out.H {
			for x := range out.W {
				v := s.Pix[y*s.Stride+x]
				o := 3 * (y*out.W + x)
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = v, v, v
			}
		}
		return out
	case *image.YCbCr:
		for y := range out.H {
			for x := range out.W {
				yi, ci := s.YOffset(b.Min.X+x, b.Min.Y+y), s.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				o := 3 * (y*out.W + x)
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = r, g, bb
			}
		}
		return out
	}
	return data.FromImage(m)
}
