package data

import (
	"fmt"
	"image"
	_ "image/jpeg" // decoders for ImageFolder
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImageFolder is an ImageNet-style dataset: one sub-folder per class (in
// sorted order), JPEG or PNG files inside, decoded on demand.
type ImageFolder struct {
	Names  []string // class names
	paths  []string
	labels []int
}

// OpenImageFolder lists dir's class folders and their images.
func OpenImageFolder(dir string) (*ImageFolder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: reading image folder: %w", err)
	}
	f := &ImageFolder{}
	for _, e := range entries {
		if e.IsDir() {
			f.Names = append(f.Names, e.Name())
		}
	}
	sort.Strings(f.Names)
	for ci, name := range f.Names {
		files, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("data: reading class folder: %w", err)
		}
		for _, file := range files {
			switch strings.ToLower(filepath.Ext(file.Name())) {
			case ".jpg", ".jpeg", ".png":
				f.paths = append(f.paths, filepath.Join(dir, name, file.Name()))
				f.labels = append(f.labels, ci)
			}
		}
	}
	if len(f.paths) == 0 {
		return nil, fmt.Errorf("data: no .jpg/.jpeg/.png images in class folders under %s: the folder must hold one folder of images per class", dir)
	}
	return f, nil
}

// Len implements Dataset.
func (f *ImageFolder) Len() int { return len(f.paths) }

// Classes implements Dataset.
func (f *ImageFolder) Classes() int { return len(f.Names) }

// Label implements Dataset.
func (f *ImageFolder) Label(i int) int { return f.labels[i] }

// MaxImagePixels bounds an image's width x height. A decoder allocates what
// the header declares before it reads the pixels, so one damaged file could
// otherwise take gigabytes from a training worker.
const MaxImagePixels = 1 << 26

// Image implements Dataset.
func (f *ImageFolder) Image(i int) (Image, error) {
	fh, err := os.Open(f.paths[i])
	if err != nil {
		return Image{}, fmt.Errorf("data: %w", err)
	}
	defer fh.Close()
	cfg, _, err := image.DecodeConfig(fh)
	if err != nil {
		return Image{}, fmt.Errorf("data: decoding %s: %w", f.paths[i], err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return Image{}, fmt.Errorf("data: %s declares %dx%d pixels: an image needs 1 to %d; replace or downscale the file",
			f.paths[i], cfg.Width, cfg.Height, MaxImagePixels)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return Image{}, fmt.Errorf("data: %w", err)
	}
	m, _, err := image.Decode(fh)
	if err != nil {
		return Image{}, fmt.Errorf("data: decoding %s: %w", f.paths[i], err)
	}
	return FromImage(m), nil
}

// FromImage converts any image.Image to RGB bytes.
func FromImage(m image.Image) Image {
	b := m.Bounds()
	img := Image{W: b.Dx(), H: b.Dy(), Pix: make([]uint8, 3*b.Dx()*b.Dy())}
	if rgba, ok := m.(*image.RGBA); ok {
		for y := 0; y < img.H; y++ {
			row := rgba.Pix[y*rgba.Stride:]
			for x := 0; x < img.W; x++ {
				copy(img.Pix[(y*img.W+x)*3:(y*img.W+x)*3+3], row[x*4:x*4+3])
			}
		}
		return img
	}
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			r, g, bb, _ := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			o := (y*img.W + x) * 3
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
		}
	}
	return img
}
