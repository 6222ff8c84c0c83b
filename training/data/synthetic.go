package data

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// SyntheticCIFAR describes a made-up dataset in the CIFAR binary format for
// demos and tests: each class is a shape in a colour on a noisy textured
// background, at a random place and size, so a network can learn it in
// minutes and fine-tuning beats chance clearly.
type SyntheticCIFAR struct {
	// Format is "cifar10" (10 classes, data_batch_1..5.bin and
	// test_batch.bin) or "cifar100" (100 classes, train.bin and test.bin,
	// coarse label = fine label / 5).
	Format string
	// Train and Test are the numbers of images per split.
	Train, Test int
	// Seed fixes the images.
	Seed uint64
}

// syntheticShapes is the number of shapes drawn.
const syntheticShapes = 5

// Write writes the split files into dir (created if missing) and returns
// their paths.
func (s SyntheticCIFAR) Write(dir string) ([]string, error) {
	classes := 10
	switch s.Format {
	case "cifar10":
	case "cifar100":
		classes = 100
	default:
		return nil, fmt.Errorf("data: synthetic CIFAR format %q: use cifar10 or cifar100", s.Format)
	}
	if s.Train < 1 || s.Test < 1 {
		return nil, fmt.Errorf("data: synthetic CIFAR needs at least one training and one test image, got %d and %d", s.Train, s.Test)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	type file struct {
		name string
		n    int
	}
	var files []file
	if s.Format == "cifar10" {
		for i := 0; i < 5; i++ {
			files = append(files, file{fmt.Sprintf("data_batch_%d.bin", i+1), s.Train*(i+1)/5 - s.Train*i/5})
		}
		files = append(files, file{"test_batch.bin", s.Test})
	} else {
		files = []file{{"train.bin", s.Train}, {"test.bin", s.Test}}
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	var paths []string
	next := 0
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := s.writeFile(p, f.n, classes, &next, r); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func (s SyntheticCIFAR) writeFile(path string, n, classes int, next *int, r *rand.Rand) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	w := bufio.NewWriter(out)
	rec := make([]byte, 0, 2+cifarPixels)
	for i := 0; i < n; i++ {
		label := *next % classes // balanced classes
		*next++
		rec = rec[:0]
		if s.Format == "cifar100" {
			rec = append(rec, uint8(label/5))
		}
		rec = append(rec, uint8(label))
		rec = append(rec, syntheticImage(label, classes, r)...)
		if _, err := w.Write(rec); err != nil {
			out.Close()
			return fmt.Errorf("data: writing %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return fmt.Errorf("data: writing %s: %w", path, err)
	}
	return out.Close()
}

// syntheticImage draws class label's shape in its colour; planes are red,
// green, blue as in the CIFAR files.
func syntheticImage(label, classes int, r *rand.Rand) []byte {
	shape := label % syntheticShapes
	hue := float64(label) / float64(classes) // every class its own hue too
	fr, fg, fb := hsv(hue, 0.9, 0.95)
	cx, cy := 10+r.Float64()*12, 10+r.Float64()*12
	rad := 6 + r.Float64()*4
	base := 40 + r.Float64()*80
	pix := make([]byte, cifarPixels)
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			var in bool
			switch shape {
			case 0: // disc
				in = dx*dx+dy*dy <= rad*rad
			case 1: // square
				in = math.Abs(dx) <= rad*0.8 && math.Abs(dy) <= rad*0.8
			case 2: // cross
				in = (math.Abs(dx) <= rad/3 && math.Abs(dy) <= rad) || (math.Abs(dy) <= rad/3 && math.Abs(dx) <= rad)
			case 3: // triangle
				in = dy <= rad*0.8 && dy >= -rad && math.Abs(dx) <= (dy+rad)/2
			default: // ring
				d := math.Sqrt(dx*dx + dy*dy)
				in = d <= rad && d >= rad*0.55
			}
			texture := base + 25*math.Sin(float64(x+y)*0.7) + r.NormFloat64()*12
			c := [3]float64{texture, texture, texture}
			if in {
				c = [3]float64{fr * 255, fg * 255, fb * 255}
				for k := range c {
					c[k] += r.NormFloat64() * 10
				}
			}
			p := y*32 + x
			for k := 0; k < 3; k++ {
				pix[k*1024+p] = uint8(math.Max(0, math.Min(255, c[k])))
			}
		}
	}
	return pix
}

// hsv converts a colour to red, green and blue in [0, 1].
func hsv(h, s, v float64) (r, g, b float64) {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-f*s), v*(1-(1-f)*s)
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}
