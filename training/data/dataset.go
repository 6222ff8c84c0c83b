package data

import (
	"fmt"
	"math/rand/v2"
)

// Image is a decoded RGB image, 3 bytes per pixel, rows top to bottom.
type Image struct {
	W, H int
	Pix  []uint8
}

// Dataset is an indexed set of labelled images. Image must be safe for
// concurrent use.
type Dataset interface {
	Len() int
	Classes() int
	Label(i int) int
	Image(i int) (Image, error)
}

// RegionDataset is a Dataset that can decode just the part of an image a
// transform needs (the loader uses it when there).
type RegionDataset interface {
	Dataset
	// ImageRegion decodes image i: pick is called once with the image's
	// full size and returns the region needed; the result covers at least
	// that, mapped as the View says. The Image may live in s's buffers,
	// valid until s is used again. Safe for concurrent use with distinct
	// Scratches.
	ImageRegion(i int, pick func(w, h int) Region, s *Scratch) (Image, View, error)
}

// Scratch holds buffers one goroutine reuses from image to image.
type Scratch struct {
	file []byte
	pix  []uint8
}

// imageRegion decodes image i of ds for pick, through RegionDataset when
// ds has it.
func imageRegion(ds Dataset, i int, pick func(w, h int) Region, s *Scratch) (Image, View, error) {
	if rd, ok := ds.(RegionDataset); ok {
		return rd.ImageRegion(i, pick, s)
	}
	img, err := ds.Image(i)
	if err != nil {
		return Image{}, View{}, err
	}
	pick(img.W, img.H)
	return img, View{Scale: 1}, nil
}

// Subset is a view of some of a dataset's samples.
type Subset struct {
	Base    Dataset
	Indices []int
}

// Len implements Dataset.
func (s *Subset) Len() int { return len(s.Indices) }

// Classes implements Dataset.
func (s *Subset) Classes() int { return s.Base.Classes() }

// Label implements Dataset.
func (s *Subset) Label(i int) int { return s.Base.Label(s.Indices[i]) }

// Image implements Dataset.
func (s *Subset) Image(i int) (Image, error) { return s.Base.Image(s.Indices[i]) }

// ImageRegion implements RegionDataset.
func (s *Subset) ImageRegion(i int, pick func(w, h int) Region, sc *Scratch) (Image, View, error) {
	return imageRegion(s.Base, s.Indices[i], pick, sc)
}

// Split shuffles ds with seed and holds out valFraction of it (rounded, at
// least one sample when valFraction > 0) for validation.
func Split(ds Dataset, valFraction float64, seed uint64) (train, val *Subset, err error) {
	if valFraction < 0 || valFraction >= 1 {
		return nil, nil, fmt.Errorf("data: validation fraction %v must be in [0, 1)", valFraction)
	}
	n := ds.Len()
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	nv := int(float64(n)*valFraction + 0.5)
	if valFraction > 0 && nv == 0 {
		nv = 1
	}
	if nv >= n {
		return nil, nil, fmt.Errorf("data: %d samples are too few to hold out %v for validation", n, valFraction)
	}
	return &Subset{Base: ds, Indices: perm[nv:]}, &Subset{Base: ds, Indices: perm[:nv]}, nil
}

// Random is a dataset of noise images with labels i mod classes, for
// throughput measurements. Image i is the same on every call.
type Random struct {
	N, NumClasses, Size int
	Seed                uint64
}

// Len implements Dataset.
func (r *Random) Len() int { return r.N }

// Classes implements Dataset.
func (r *Random) Classes() int { return r.NumClasses }

// Label implements Dataset.
func (r *Random) Label(i int) int { return i % r.NumClasses }

// Image implements Dataset.
func (r *Random) Image(i int) (Image, error) {
	g := rand.New(rand.NewPCG(r.Seed, uint64(i)))
	img := Image{W: r.Size, H: r.Size, Pix: make([]uint8, 3*r.Size*r.Size)}
	for j := range img.Pix {
		img.Pix[j] = uint8(g.Uint32())
	}
	return img, nil
}
