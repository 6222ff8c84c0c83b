package data

import (
	"testing"
)

// The synthetic files read back through OpenCIFAR with balanced labels, and
// CIFAR-100's fine label (after the coarse one) is the one used.
func TestSyntheticCIFARReadsBack(t *testing.T) {
	for _, tc := range []struct {
		format  string
		classes int
	}{{"cifar10", 10}, {"cifar100", 100}} {
		dir := t.TempDir()
		if _, err := (SyntheticCIFAR{Format: tc.format, Train: 2 * tc.classes, Test: tc.classes, Seed: 3}).Write(dir); err != nil {
			t.Fatal(err)
		}
		for _, train := range []bool{true, false} {
			c, err := OpenCIFAR(dir, tc.format, train)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.classes
			if train {
				want *= 2
			}
			if c.Len() != want || c.Classes() != tc.classes {
				t.Fatalf("%s train=%v: %d images of %d classes, want %d of %d", tc.format, train, c.Len(), c.Classes(), want, tc.classes)
			}
			counts := make([]int, tc.classes)
			for i := 0; i < c.Len(); i++ {
				counts[c.Label(i)]++
			}
			for l, n := range counts {
				if n != want/tc.classes {
					t.Fatalf("%s: class %d has %d images, want %d", tc.format, l, n, want/tc.classes)
				}
			}
		}
	}
	if _, err := (SyntheticCIFAR{Format: "svhn", Train: 1, Test: 1}).Write(t.TempDir()); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

// The classes differ in colour: the mean foreground-ish colour of two
// classes' images is far apart, so fine-tuning can beat chance.
func TestSyntheticCIFARClassesDiffer(t *testing.T) {
	dir := t.TempDir()
	if _, err := (SyntheticCIFAR{Format: "cifar10", Train: 200, Test: 10, Seed: 1}).Write(dir); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCIFAR(dir, "cifar10", true)
	if err != nil {
		t.Fatal(err)
	}
	// Mean of (red - blue) per class: hue 0 (red) against hue 0.6 (blue).
	diff := make([]float64, 10)
	n := make([]int, 10)
	for i := 0; i < c.Len(); i++ {
		img, _ := c.Image(i)
		s := 0.0
		for p := 0; p < 1024; p++ {
			s += float64(img.Pix[p*3]) - float64(img.Pix[p*3+2])
		}
		diff[c.Label(i)] += s / 1024
		n[c.Label(i)]++
	}
	red, blue := diff[0]/float64(n[0]), diff[6]/float64(n[6])
	if red-blue < 20 {
		t.Fatalf("class 0 (red) and class 6 (blue) differ by %.1f in mean red-blue, want a clear gap", red-blue)
	}
}
