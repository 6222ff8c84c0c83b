package data

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

func TestImageFolderLoadsSplitsAndBatches(t *testing.T) {
	dir := t.TempDir()
	colors := map[string]color.RGBA{"cat": {255, 0, 0, 255}, "dog": {0, 0, 255, 255}}
	for name, c := range colors {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			var buf bytes.Buffer
			ext := ".png"
			if i%2 == 0 {
				ext = ".jpg"
				if err := jpeg.Encode(&buf, solid(40+i, 30, c), &jpeg.Options{Quality: 95}); err != nil {
					t.Fatal(err)
				}
			} else if err := png.Encode(&buf, solid(30, 50, c)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name, string(rune('a'+i))+ext), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "cat", "notes.txt"), []byte("ignored"), 0o644)
	f, err := OpenImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 10 || f.Classes() != 2 || f.Names[0] != "cat" {
		t.Fatalf("folder: %d images, classes %v", f.Len(), f.Names)
	}
	train, val, err := Split(f, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 8 || val.Len() != 2 {
		t.Fatalf("split %d/%d, want 8/2", train.Len(), val.Len())
	}
	_, val2, _ := Split(f, 0.2, 42)
	if val2.Indices[0] != val.Indices[0] || val2.Indices[1] != val.Indices[1] {
		t.Error("split differs for the same seed")
	}
	seen := map[int]bool{}
	for _, i := range append(append([]int{}, train.Indices...), val.Indices...) {
		seen[i] = true
	}
	if len(seen) != 10 {
		t.Errorf("split covers %d samples, want 10 disjoint", len(seen))
	}

	for _, trainMode := range []bool{true, false} {
		l := &Loader{Data: f, Batch: 4, Transform: Transform{Size: 16, Train: trainMode}, Shuffle: trainMode, DropLast: trainMode, Seed: 1}
		ep := l.Start(context.Background(), 0, 0)
		batches, samples := 0, 0
		for {
			b, err := ep.Next()
			if err != nil {
				t.Fatal(err)
			}
			if b == nil {
				break
			}
			batches++
			samples += b.X.N
			// Solid colours survive any crop: red for cat (label 0), blue for dog.
			for n, lab := range b.Labels {
				red := b.X.At(n, 0, 6, 4)
				blue := b.X.At(n, 2, 6, 4)
				if (lab == 0) != (red > blue) {
					t.Errorf("sample %d label %d: red %v blue %v", n, lab, red, blue)
				}
			}
		}
		ep.Close()
		if want := map[bool]int{true: 2, false: 3}[trainMode]; batches != want || batches != l.Batches() {
			t.Errorf("train=%v: %d batches (%d samples), want %d", trainMode, batches, samples, want)
		}
	}
	if _, err := OpenImageFolder(t.TempDir()); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestCIFARRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var imgs []Image
	var labels []int
	for i := 0; i < 7; i++ {
		img := Image{W: 32, H: 32, Pix: make([]uint8, 3072)}
		for j := range img.Pix {
			img.Pix[j] = uint8(r.Uint32())
		}
		imgs = append(imgs, img)
		labels = append(labels, i%10)
	}
	for _, format := range []string{"cifar10", "cifar100"} {
		dir := t.TempDir()
		var buf bytes.Buffer
		if err := WriteCIFAR(&buf, format, imgs, labels); err != nil {
			t.Fatal(err)
		}
		name := map[string]string{"cifar10": "test_batch.bin", "cifar100": "test.bin"}[format]
		sub := map[string]string{"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}[format]
		_ = os.MkdirAll(filepath.Join(dir, sub), 0o755)
		if err := os.WriteFile(filepath.Join(dir, sub, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCIFAR(dir, format, false)
		if err != nil {
			t.Fatal(err)
		}
		if c.Len() != 7 || c.Label(3) != 3 {
			t.Fatalf("%s: %d images, label(3)=%d", format, c.Len(), c.Label(3))
		}
		got, _ := c.Image(5)
		if !bytes.Equal(got.Pix, imgs[5].Pix) {
			t.Errorf("%s: image 5 differs after the round trip", format)
		}
		// Evaluation transform at full size is exact normalisation.
		x := tensor.New(3, 1, 32, 32)
		tr := Transform{Size: 32, CropFraction: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}
		tr.Apply(got, nil, x, 0)
		want := (float32(got.Pix[(3*32+4)*3+1])/255 - 0.5) / 0.25
		if v := x.At(0, 1, 3, 4); math.Abs(float64(v-want)) > 1e-5 {
			t.Errorf("%s: normalised green pixel %v, want %v", format, v, want)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, name), buf.Bytes()[:100], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCIFAR(dir, format, false); err == nil {
			t.Errorf("%s: truncated file accepted", format)
		}
	}
}

func TestFlipMirrors(t *testing.T) {
	img := Image{W: 4, H: 4, Pix: make([]uint8, 48)}
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 5)
	}
	tr := Transform{Size: 4, Train: true, MinScale: 1}
	base := tensor.New(3, 1, 4, 4)
	Transform{Size: 4, CropFraction: 1}.Apply(img, nil, base, 0)
	flips := 0
	for s := uint64(0); s < 20; s++ {
		x := tensor.New(3, 1, 4, 4)
		tr.Apply(img, rand.New(rand.NewPCG(s, s)), x, 0)
		same, mirrored := true, true
		for c := 0; c < 3; c++ {
			for y := 0; y < 4; y++ {
				for xx := 0; xx < 4; xx++ {
					v := x.At(0, c, y, xx)
					same = same && math.Abs(float64(v-base.At(0, c, y, xx))) < 1e-5
					mirrored = mirrored && math.Abs(float64(v-base.At(0, c, y, 3-xx))) < 1e-5
				}
			}
		}
		if !same && !mirrored {
			t.Fatalf("seed %d: full-area crop is neither the image nor its mirror", s)
		}
		if mirrored && !same {
			flips++
		}
	}
	if flips == 0 || flips == 20 {
		t.Errorf("%d of 20 samples flipped, want some but not all", flips)
	}
}
