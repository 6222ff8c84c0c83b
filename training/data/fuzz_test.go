package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// FuzzCIFAR feeds OpenCIFAR arbitrary test-split files: an error or a
// dataset whose every image and label is in range, never a panic.
func FuzzCIFAR(f *testing.F) {
	rec10 := make([]byte, 1+cifarPixels)
	rec10[0] = 9
	rec100 := make([]byte, 2+cifarPixels)
	rec100[1] = 99
	f.Add(rec10, false)
	f.Add(append(rec10, rec10...), false)
	f.Add(rec10[:1000], false)
	f.Add(rec100, true)
	f.Add(append(rec100, rec100[:5]...), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, hundred bool) {
		dir := t.TempDir()
		format, name, classes := "cifar10", "test_batch.bin", 10
		if hundred {
			format, name, classes = "cifar100", "test.bin", 100
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCIFAR(dir, format, false)
		if err != nil {
			return
		}
		if c.Classes() != classes {
			t.Fatalf("%s: %d classes", format, c.Classes())
		}
		for i := 0; i < c.Len(); i++ {
			if l := c.Label(i); l < 0 || l >= classes {
				t.Fatalf("label %d out of range", l)
			}
			img, err := c.Image(i)
			if err != nil || img.W != 32 || img.H != 32 || len(img.Pix) != cifarPixels {
				t.Fatalf("image %d: %dx%d, %d bytes, %v", i, img.W, img.H, len(img.Pix), err)
			}
		}
	})
}

// FuzzImageFolder feeds the image-folder reader arbitrary file contents
// under .png and .jpg names: Image returns an error or a well-formed image
// that the training and evaluation transforms accept, never a panic and
// never an allocation the header alone asked for.
func FuzzImageFolder(f *testing.F) {
	var p, j bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 5, 3))
	m.Set(1, 1, color.RGBA{200, 10, 10, 255})
	if err := png.Encode(&p, m); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, m, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes(), ".png")
	f.Add(j.Bytes(), ".jpg")
	f.Add(p.Bytes()[:p.Len()/2], ".png")
	f.Add(j.Bytes()[:j.Len()/2], ".jpeg")
	f.Add([]byte("not an image"), ".png")
	f.Fuzz(func(t *testing.T, b []byte, ext string) {
		switch ext {
		case ".png", ".jpg", ".jpeg", ".PNG", ".JPG":
		default:
			ext = ".png"
		}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "c"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "c", "x"+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
		folder, err := OpenImageFolder(dir)
		if err != nil {
			t.Fatalf("a folder with one %s file: %v", ext, err)
		}
		img, err := folder.Image(0)
		if err != nil {
			return
		}
		if img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
			t.Fatalf("decoded a %dx%d image with %d bytes", img.W, img.H, len(img.Pix))
		}
		out := tensor.New(3, 1, 8, 8)
		r := rand.New(rand.NewPCG(1, 2))
		Transform{Size: 8, Train: true, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.5}.Apply(img, r, out, 0)
		Transform{Size: 8}.Apply(img, nil, out, 0)
	})
}

// A JPEG whose header declares 65000x65000 pixels is refused before any
// pixel memory is allocated.
func TestImageFolderRefusesHugeHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0 marker")
	}
	// SOF0: marker, length (2), precision (1), height (2), width (2).
	b[sof+5], b[sof+6], b[sof+7], b[sof+8] = 0xfd, 0xe8, 0xfd, 0xe8
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c", "huge.jpg"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Image(0); err == nil || !bytes.Contains([]byte(err.Error()), []byte("65000x65000")) {
		t.Fatalf("error %v, want one naming the declared 65000x65000 size", err)
	}
}
