package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

const cifarPixels = 32 * 32 * 3

// CIFAR is CIFAR-10 or CIFAR-100 in the binary format of
// https://www.cs.toronto.edu/~kriz/cifar.html, held in memory.
type CIFAR struct {
	classes int
	labels  []uint8
	pix     []uint8 // per image: 1024 red, 1024 green, 1024 blue
}

// OpenCIFAR reads the training (train) or test split from dir, which holds
// the files (data_batch_1..5.bin and test_batch.bin for "cifar10",
// train.bin and test.bin for "cifar100") directly or in the archive's
// folder (cifar-10-batches-bin, cifar-100-binary).
func OpenCIFAR(dir, format string, train bool) (*CIFAR, error) {
	var files []string
	var sub string
	labelBytes, classes := 1, 10
	switch format {
	case "cifar10":
		sub = "cifar-10-batches-bin"
		if train {
			for i := 1; i <= 5; i++ {
				files = append(files, fmt.Sprintf("data_batch_%d.bin", i))
			}
		} else {
			files = []string{"test_batch.bin"}
		}
	case "cifar100":
		sub, labelBytes, classes = "cifar-100-binary", 2, 100
		if train {
			files = []string{"train.bin"}
		} else {
			files = []string{"test.bin"}
		}
	default:
		return nil, fmt.Errorf("data: unknown CIFAR format %q: use cifar10 or cifar100", format)
	}
	if _, err := os.Stat(filepath.Join(dir, files[0])); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, sub, files[0])); err2 == nil {
			dir = filepath.Join(dir, sub)
		}
	}
	c := &CIFAR{classes: classes}
	rec := labelBytes + cifarPixels
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("data: reading %s: %w (is %s the CIFAR binary folder?)", format, err, dir)
		}
		if len(b)%rec != 0 {
			return nil, fmt.Errorf("data: %s is %d bytes, not a whole number of %d-byte %s records", f, len(b), rec, format)
		}
		for off := 0; off < len(b); off += rec {
			l := b[off+labelBytes-1] // CIFAR-100: the fine label follows the coarse one
			if int(l) >= classes {
				return nil, fmt.Errorf("data: %s record %d has label %d, %s has %d classes", f, off/rec, l, format, classes)
			}
			c.labels = append(c.labels, l)
			c.pix = append(c.pix, b[off+labelBytes:off+rec]...)
		}
	}
	return c, nil
}

// WriteCIFAR writes images (32x32) in the binary format, for tests and
// tools; labels go in the last label byte.
func WriteCIFAR(w io.Writer, format string, imgs []Image, labels []int) error {
	for i, img := range imgs {
		if img.W != 32 || img.H != 32 {
			return fmt.Errorf("data: CIFAR images are 32x32, got %dx%d", img.W, img.H)
		}
		var rec []byte
		if format == "cifar100" {
			rec = append(rec, 0)
		}
		rec = append(rec, uint8(labels[i]))
		for ch := 0; ch < 3; ch++ {
			for p := 0; p < 1024; p++ {
				rec = append(rec, img.Pix[p*3+ch])
			}
		}
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// Len implements Dataset.
func (c *CIFAR) Len() int { return len(c.labels) }

// Classes implements Dataset.
func (c *CIFAR) Classes() int { return c.classes }

// Label implements Dataset.
func (c *CIFAR) Label(i int) int { return int(c.labels[i]) }

// Image implements Dataset.
func (c *CIFAR) Image(i int) (Image, error) {
	src := c.pix[i*cifarPixels : (i+1)*cifarPixels]
	img := Image{W: 32, H: 32, Pix: make([]uint8, cifarPixels)}
	for p := 0; p < 1024; p++ {
		img.Pix[p*3] = src[p]
		img.Pix[p*3+1] = src[1024+p]
		img.Pix[p*3+2] = src[2048+p]
	}
	return img, nil
}
