//go:build cgo

package hostemu

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// TestKernelsMatchPTX checks that the emulator has exactly the kernels the
// committed PTX defines, so none goes to the GPU unchecked.
func TestKernelsMatchPTX(t *testing.T) {
	files, err := filepath.Glob("../ptx/*.ptx")
	if err != nil || len(files) == 0 {
		t.Fatalf("no PTX under ../ptx (%v)", err)
	}
	entry := regexp.MustCompile(`(?m)^\.visible \.entry (\w+)\(`)
	var ptx []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range entry.FindAllStringSubmatch(string(text), -1) {
			ptx = append(ptx, m[1])
		}
	}
	slices.Sort(ptx)
	d := New()
	defer d.Close()
	if got := d.Kernels(); !slices.Equal(got, ptx) {
		t.Errorf("emulator kernels differ from the PTX's:\nemulator %s\nPTX      %s", strings.Join(got, " "), strings.Join(ptx, " "))
	}
}

// TestDeviceRejectsMisuse checks the emulator's guards: copies outside an
// allocation and launches whose arguments do not match the kernel.
func TestDeviceRejectsMisuse(t *testing.T) {
	d := New()
	defer d.Close()
	p, err := d.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(p.Add(8), make([]byte, 12)); err == nil {
		t.Error("write past the end of an allocation: no error")
	}
	if err := d.Read(make([]byte, 4), p.Add(16)); err == nil {
		t.Error("read outside any allocation: no error")
	}
	if err := d.Launch("add_f32", 1, 32, 4, p, p); err == nil {
		t.Error("launch with too few arguments: no error")
	}
	if err := d.Launch("add_f32", 1, 32, p, p, p, p); err == nil {
		t.Error("launch with a pointer for an int: no error")
	}
	if err := d.Launch("add_f32", 1, 32, 4, p, kernels.Ptr(0), p); err == nil {
		t.Error("launch with a null pointer: no error")
	}
	if err := d.Launch("no_such_kernel", 1, 32); err == nil {
		t.Error("launch of an unknown kernel: no error")
	}
	if err := d.Gemm(false, false, 2, 2, 2, p, 2, p, 2, p.Add(4), 2, false, kernels.F32, kernels.F32); err == nil {
		t.Error("gemm whose C overruns its allocation: no error")
	}
	if err := d.Gemm(false, false, 2, 2, 2, p, 1, p, 2, p, 2, false, kernels.F32, kernels.F32); err == nil {
		t.Error("gemm with a row stride shorter than a row: no error")
	}
	if err := d.Free(p.Add(4)); err == nil {
		t.Error("free of an address Alloc did not return: no error")
	}
	// A correct launch still works, over several blocks of a grid-stride loop.
	v := []float32{1, 2, 3, 4}
	if err := d.Write(p, kernels.Encode(kernels.F32, v)); err != nil {
		t.Fatal(err)
	}
	if err := d.Launch("add_f32", 2, 3, 4, p, p, p); err != nil {
		t.Fatal(err)
	}
	got, err := kernels.Download(d, kernels.F32, p, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float32{2, 4, 6, 8}) {
		t.Errorf("x+x = %v, want [2 4 6 8]", got)
	}
}

// TestPeakBytes checks the high-water mark of Alloc and Free.
func TestPeakBytes(t *testing.T) {
	d := New()
	defer d.Close()
	a, err := d.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Alloc(500)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Free(a); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(200); err != nil {
		t.Fatal(err)
	}
	if got := d.PeakBytes(); got != 1500 {
		t.Errorf("peak after 1000+500, free 1000, 200: %d bytes, want 1500", got)
	}
	d.ResetPeak() // 700 in use
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(300); err != nil {
		t.Fatal(err)
	}
	if got := d.PeakBytes(); got != 700 {
		t.Errorf("peak since the reset at 700 bytes, then free 500, alloc 300: %d, want 700", got)
	}
}
