package data

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // headers (DecodeConfig) whichever decoder decodes
	_ "image/png"  // PNGs in an ImageFolder
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImageFolder is an ImageNet-style dataset: one sub-folder per class (in
// sorted order), JPEG or PNG files inside, decoded on demand.
type ImageFolder struct {
	Names []string // class names
	// Decoder decodes the JPEGs. Default: DefaultJPEGDecoder().
	Decoder JPEGDecoder
	paths   []string
	labels  []int
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
	var s Scratch
	img, v, err := f.ImageRegion(i, func(w, h int) Region {
		return Region{Rect: image.Rect(0, 0, w, h), Scale: 1}
	}, &s)
	if err != nil {
		return Image{}, err
	}
	if v.Scale != 1 || v.X != 0 || v.Y != 0 || img.W*img.H == 0 {
		return Image{}, fmt.Errorf("data: decoding %s: the decoder returned a partial image", f.paths[i])
	}
	return img, nil
}

// ImageRegion implements RegionDataset: JPEGs go through the folder's
// decoder, which may decode only the region, at a reduced scale.
func (f *ImageFolder) ImageRegion(i int, pick func(w, h int) Region, s *Scratch) (Image, View, error) {
	var err error
	path := f.paths[i]
	if s.file, err = readFile(path, s.file); err != nil {
		return Image{}, View{}, fmt.Errorf("data: %w", err)
	}
	if err := checkSize(path, s.file); err != nil {
		return Image{}, View{}, err
	}
	if isJPEG(s.file) {
		dec := f.Decoder
		if dec == nil {
			dec = DefaultJPEGDecoder()
		}
		img, v, err := dec.DecodeJPEG(s.file, pick, s.pix)
		if err != nil {
			return Image{}, View{}, fmt.Errorf("data: decoding %s: %w", path, err)
		}
		s.pix = img.Pix
		return img, v, nil
	}
	m, _, err := image.Decode(bytes.NewReader(s.file))
	if err != nil {
		return Image{}, View{}, fmt.Errorf("data: decoding %s: %w", path, err)
	}
	pick(m.Bounds().Dx(), m.Bounds().Dy())
	img := toRGB(m, m.Bounds(), s.pix)
	s.pix = img.Pix
	return img, View{Scale: 1}, nil
}

// checkSize refuses a file whose header declares no pixels or more than
// MaxImagePixels, before any decoder allocates what the header claims.
func checkSize(path string, file []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(file))
	if err != nil {
		return fmt.Errorf("data: decoding %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return fmt.Errorf("data: %s declares %dx%d pixels: an image needs 1 to %d; replace or downscale the file",
			path, cfg.Width, cfg.Height, MaxImagePixels)
	}
	return nil
}
