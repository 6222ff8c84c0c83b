package data

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// photo is a synthetic photograph-like image: smooth gradients, a few
// blobs and grain (its standard deviation in grey levels), so that JPEG
// files are of realistic size (grain 10: about 90 KB at 500x375, quality
// 90) and crops of it differ.
func photo(w, h int, seed uint64, grain float64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 77))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	type blob struct{ x, y, rad, c0, c1, c2 float64 }
	blobs := make([]blob, 6)
	for i := range blobs {
		blobs[i] = blob{r.Float64() * float64(w), r.Float64() * float64(h), (0.05 + 0.25*r.Float64()) * float64(w), r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	}
	f1, f2 := 0.02+0.1*r.Float64(), 0.02+0.1*r.Float64()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := [3]float64{
				255 * float64(x) / float64(w),
				128 + 100*math.Sin(float64(x)*f1+float64(y)*f2),
				255 * float64(y) / float64(h),
			}
			for _, b := range blobs {
				d := math.Hypot(float64(x)-b.x, float64(y)-b.y) / b.rad
				if d < 1 {
					a := 1 - d*d
					v[0], v[1], v[2] = v[0]*(1-a)+b.c0*a, v[1]*(1-a)+b.c1*a, v[2]*(1-a)+b.c2*a
				}
			}
			var c [3]uint8
			for k := range c {
				c[k] = uint8(min(max(v[k]+r.NormFloat64()*grain, 0), 255))
			}
			m.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	return m
}

// writePhotoFolder writes classes x perClass JPEGs (quality 90) of varied
// sizes around w x h, one grayscale, and returns the folder.
func writePhotoFolder(t testing.TB, dir string, classes, perClass, w, h int) string {
	t.Helper()
	for c := 0; c < classes; c++ {
		cdir := filepath.Join(dir, fmt.Sprintf("class%03d", c))
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < perClass; i++ {
			seed := uint64(c*perClass + i)
			iw, ih := w+int(seed%5)*w/10, h+int(seed%3)*h/10
			if seed%4 == 1 {
				iw, ih = ih, iw // portrait
			}
			var m image.Image = photo(iw, ih, seed, 10)
			if seed == 2 {
				g := image.NewGray(m.Bounds())
				for y := 0; y < ih; y++ {
					for x := 0; x < iw; x++ {
						g.Set(x, y, m.At(x, y))
					}
				}
				m = g
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cdir, fmt.Sprintf("img%04d.jpg", i)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// decoders are the JPEG decoders of this build: the standard library's,
// and libjpeg-turbo's with -tags turbojpeg.
func decoders() []JPEGDecoder {
	ds := []JPEGDecoder{StdJPEG{}}
	if d := DefaultJPEGDecoder(); d.Name() != ds[0].Name() {
		ds = append(ds, d)
	}
	return ds
}

// epochBatches reads a whole epoch (from batch skip) of l.
func epochBatches(t *testing.T, l *Loader, epoch, skip int) (xs [][]float32, labels [][]int) {
	t.Helper()
	ep := l.Start(context.Background(), epoch, skip)
	defer ep.Close()
	for {
		b, err := ep.Next()
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return xs, labels
		}
		xs = append(xs, slices.Clone(b.X.Data))
		labels = append(labels, slices.Clone(b.Labels))
	}
}

// The pool of workers gives the same batches as one worker for the same
// seed, whatever the worker count, chunking and prefetch, and a resumed
// epoch reproduces the rest of it.
func TestLoaderParallelMatchesSerialAndResumes(t *testing.T) {
	dir := writePhotoFolder(t, t.TempDir(), 3, 9, 56, 42)
	for _, dec := range decoders() {
		t.Run(dec.Name(), func(t *testing.T) {
			f, err := OpenImageFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			f.Decoder = dec
			train, _, err := Split(f, 0.1, 3)
			if err != nil {
				t.Fatal(err)
			}
			tr := Transform{Size: 24, Train: true, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.5}
			loader := func(workers, prefetch int) *Loader {
				return &Loader{Data: train, Batch: 7, Transform: tr, Shuffle: true, Seed: 5, Workers: workers, Prefetch: prefetch}
			}
			serialX, serialL := epochBatches(t, loader(1, 1), 2, 0)
			if len(serialX) != 4 || len(serialL[3]) != 3 {
				t.Fatalf("%d batches, last of %d, want 4 with a last of 3", len(serialX), len(serialL[len(serialL)-1]))
			}
			for _, wp := range [][2]int{{3, 2}, {8, 5}} {
				x, l := epochBatches(t, loader(wp[0], wp[1]), 2, 0)
				for i := range serialX {
					if !slices.Equal(x[i], serialX[i]) || !slices.Equal(l[i], serialL[i]) {
						t.Fatalf("%d workers, prefetch %d: batch %d differs from one worker's", wp[0], wp[1], i)
					}
				}
			}
			x, l := epochBatches(t, loader(4, 2), 2, 2)
			if len(x) != 2 {
				t.Fatalf("resumed at batch 2: %d batches, want 2", len(x))
			}
			for i := range x {
				if !slices.Equal(x[i], serialX[2+i]) || !slices.Equal(l[i], serialL[2+i]) {
					t.Errorf("resumed batch %d differs", 2+i)
				}
			}
			if other, _ := epochBatches(t, loader(2, 2), 3, 0); slices.Equal(other[0], serialX[0]) {
				t.Error("another epoch gave the same first batch")
			}
		})
	}
}

// With the standard library's decoder, decoding only the crop's region
// (and reusing buffers from sample to sample) changes nothing: the
// loader's samples are Transform.Apply's on the whole image, bit for bit.
func TestLoaderRegionDecodeIsExactWithStdlib(t *testing.T) {
	dir := writePhotoFolder(t, t.TempDir(), 2, 5, 60, 45)
	f, err := OpenImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Decoder = StdJPEG{}
	for _, tr := range []Transform{{Size: 20, Train: true}, {Size: 20}, augTransform(20)} {
		l := &Loader{Data: f, Batch: 10, Transform: tr, Shuffle: tr.Train, Seed: 9, Workers: 2}
		xs, labels := epochBatches(t, l, 1, 0)
		order := make([]int, f.Len())
		for i := range order {
			order[i] = i
		}
		if tr.Train {
			rand.New(rand.NewPCG(l.Seed, 1)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		want := tensor.New(3, 10, 20, 20)
		for n, i := range order {
			img, err := f.Image(i)
			if err != nil {
				t.Fatal(err)
			}
			tr.Apply(img, rand.New(rand.NewPCG(l.Seed^1<<32, uint64(i))), want, n)
			if labels[0][n] != f.Label(i) {
				t.Errorf("sample %d: label %d, want %d", n, labels[0][n], f.Label(i))
			}
		}
		if !slices.Equal(xs[0], want.Data) {
			t.Errorf("train=%v: the loader's batch differs from Transform.Apply on whole images", tr.Train)
		}
	}
}

// Every decoder, decoding a region at a reduced scale, gives samples close
// to the full-size decode's (DCT scaling filters rather than aliasing,
// so they are close, not equal).
func TestDecodersAgreeOnRegions(t *testing.T) {
	// Little grain: fine noise is where DCT scaling (which averages) and
	// bilinear sampling (which aliases) rightly differ most.
	src := photo(500, 375, 1, 3)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full, _, err := StdJPEG{}.DecodeJPEG(buf.Bytes(), func(w, h int) Region { return Region{Rect: image.Rect(0, 0, w, h), Scale: 1} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := Transform{Size: 64, Train: true, MinScale: 0.3}.withDefaults()
	for _, dec := range decoders() {
		var worst float64
		var pix []uint8
		for s := uint64(0); s < 12; s++ {
			want, got := tensor.New(3, 1, 64, 64), tensor.New(3, 1, 64, 64)
			r := rand.New(rand.NewPCG(s, 1))
			tr.render(full, View{Scale: 1}, tr.crop(full.W, full.H, r), r, want, 0, nil)
			r = rand.New(rand.NewPCG(s, 1))
			var c cropBox
			img, v, err := dec.DecodeJPEG(buf.Bytes(), func(w, h int) Region {
				c = tr.crop(w, h, r)
				return tr.region(c, w, h)
			}, pix)
			if err != nil {
				t.Fatalf("%s: %v", dec.Name(), err)
			}
			pix = img.Pix
			if img.W*img.H >= full.W*full.H && dec.Name() != "stdlib" {
				t.Errorf("%s: seed %d decoded the whole image for crop %+v", dec.Name(), s, c)
			}
			tr.render(img, v, c, r, got, 0, nil)
			var sum float64
			for i := range want.Data {
				sum += math.Abs(float64(want.Data[i] - got.Data[i]))
			}
			// Normalised units: 1/255/0.225 is one grey level.
			worst = max(worst, sum/float64(len(want.Data))*255*0.225)
		}
		if worst > 3 {
			t.Errorf("%s: region decode is off by %.2f grey levels on average, want under 3", dec.Name(), worst)
		}
		t.Logf("%s: worst mean difference %.2f grey levels", dec.Name(), worst)
	}
}

// A corrupt or truncated JPEG stops the epoch with an error naming the
// file, from every decoder, training and evaluation.
func TestLoaderBadJPEGNamesFile(t *testing.T) {
	for _, dec := range decoders() {
		for _, bad := range []string{"garbage", "truncated"} {
			dir := writePhotoFolder(t, t.TempDir(), 2, 3, 48, 36)
			path := filepath.Join(dir, "class001", "img0001.jpg")
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data := append([]byte{0xff, 0xd8}, bytes.Repeat([]byte("not a jpeg "), 20)...)
			if bad == "truncated" {
				data = good[:len(good)/2]
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := OpenImageFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			f.Decoder = dec
			for _, tr := range []Transform{{Size: 16, CropFraction: 1}, {Size: 16, Train: true, MinScale: 1}} {
				l := &Loader{Data: f, Batch: 2, Transform: tr, Workers: 2}
				ep := l.Start(context.Background(), 0, 0)
				var got error
				for got == nil {
					b, err := ep.Next()
					if b == nil && err == nil {
						break
					}
					got = err
				}
				if got == nil || !strings.Contains(got.Error(), path) {
					t.Errorf("%s, %s file, train=%v: error %v, want one naming %s", dec.Name(), bad, tr.Train, got, path)
				}
				if _, err := ep.Next(); err == nil {
					t.Errorf("%s: Next after a failed batch gave no error", dec.Name())
				}
				ep.Close()
			}
		}
	}
}

// countingAllocator hands out Go memory and checks each buffer comes back.
type countingAllocator struct {
	mu   sync.Mutex
	live map[*float32]int
	fail bool
}

func (a *countingAllocator) Alloc(n int) ([]float32, error) {
	if a.fail {
		return nil, errors.New("out of pinned memory")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b := make([]float32, n)
	a.live[&b[0]] = n
	return b, nil
}

func (a *countingAllocator) Free(b []float32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.live[&b[0]] != len(b) {
		panic("freeing a buffer not allocated here")
	}
	delete(a.live, &b[0])
}

// Batches live in the Allocator's buffers, a bounded set reused through
// the epoch and all freed by Close, also when it stops early.
func TestLoaderUsesAllocator(t *testing.T) {
	ds := &Random{N: 40, NumClasses: 4, Size: 12, Seed: 2}
	a := &countingAllocator{live: map[*float32]int{}}
	l := &Loader{Data: ds, Batch: 4, Transform: Transform{Size: 8, CropFraction: 1}, Workers: 3, Prefetch: 2, Alloc: a}
	ep := l.Start(context.Background(), 0, 0)
	seen := map[*float32]bool{}
	for i := 0; i < 6; i++ {
		b, err := ep.Next()
		if err != nil || b == nil {
			t.Fatalf("batch %d: %v, %v", i, b, err)
		}
		if _, ok := a.live[&b.X.Data[0]]; !ok {
			t.Fatal("a batch is not in an allocated buffer")
		}
		seen[&b.X.Data[0]] = true
	}
	if len(a.live) != 3 || len(seen) != 3 {
		t.Errorf("%d buffers allocated, %d used, want prefetch+1 = 3", len(a.live), len(seen))
	}
	ep.Close()
	ep.Close()
	if len(a.live) != 0 {
		t.Errorf("%d buffers not freed after Close", len(a.live))
	}
	a.fail = true
	ep = l.Start(context.Background(), 0, 0)
	if _, err := ep.Next(); err == nil || !strings.Contains(err.Error(), "out of pinned memory") {
		t.Errorf("failed allocation: %v", err)
	}
	ep.Close()
}

// Cancelling the context ends Next with the context's error, not a quiet
// end of epoch.
func TestLoaderCancel(t *testing.T) {
	ds := &Random{N: 400, NumClasses: 4, Size: 12, Seed: 2}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loader{Data: ds, Batch: 4, Transform: Transform{Size: 8, CropFraction: 1}, Workers: 2}
	ep := l.Start(ctx, 0, 0)
	defer ep.Close()
	if _, err := ep.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		b, err := ep.Next()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
			return
		}
		if b == nil {
			t.Fatal("epoch ended quietly after cancel")
		}
	}
}
