//go:build cgo

package devnet

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
)

// TestDetectorMatchesCPU runs CheckDetector's cases on the emulator: in
// float32 every level's outputs and every trained parameter's gradient,
// in bf16 the outputs.
func TestDetectorMatchesCPU(t *testing.T) {
	for _, c := range DetectorCases {
		for _, dt := range []kernels.DType{kernels.F32, kernels.BF16} {
			t.Run(fmt.Sprint(c, " ", dt), func(t *testing.T) {
				dev := hostemu.New()
				defer dev.Close()
				results, err := CheckDetector(dev, dt, c)
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if dt == kernels.F32 {
					want++
				}
				wantResults(t, results, want)
			})
		}
	}
}

// TestDetectorCheckSeesErrors makes sure the comparison fails a wrong
// detector: the device's copy of one shared subnet weight changed after
// compiling moves every level's outputs, and a level whose tied gradient
// is not added shows in the gradients.
func TestDetectorCheckSeesErrors(t *testing.T) {
	c := DetectorCases[0]
	dev := hostemu.New()
	defer dev.Close()
	cd, err := newCheckDetector(dev, kernels.F32, c)
	if err != nil {
		t.Fatal(err)
	}
	defer cd.det.Close()
	d := cd.det
	w, err := cd.download(d.W, d.Params.Len)
	if err != nil {
		t.Fatal(err)
	}
	head := cd.host.Head.Params()[0] // the class subnet's first convolution
	s := d.Params.Slots[len(cd.host.Params())-len(cd.host.Head.Params())]
	if s.Len != len(head.W) {
		t.Fatalf("slot %+v is not %s's (%d values)", s, head.Name, len(head.W))
	}
	w[s.Off] += 0.5
	if err := dev.Write(d.W, kernels.Encode(kernels.F32, w)); err != nil {
		t.Fatal(err)
	}
	r, err := cd.outputs(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Errorf("outputs with a changed shared weight: %v, want a mismatch", r)
	}
	w[s.Off] -= 0.5
	if err := dev.Write(d.W, kernels.Encode(kernels.F32, w)); err != nil {
		t.Fatal(err)
	}
	if r, err = cd.outputs(c, ""); err != nil || !r.OK() {
		t.Fatalf("outputs with the weight restored: %v, %v", r, err)
	}
	// P4's use of the class subnet's first convolution stops adding its
	// weight gradient (it adds nothing, then the weights' first values to
	// the biases).
	u := d.cls[1].nodes[0].(*convNode)
	if u.acc == 0 {
		t.Fatal("level 1's use of a tied convolution does not accumulate")
	}
	u.wlen = 0
	if r, err = cd.gradients(c, ""); err != nil {
		t.Fatal(err)
	}
	if r.OK() || !strings.Contains(r.Op, head.Name[:len(head.Name)-len("weight")]) {
		t.Errorf("gradients without one level's tied contribution: %v, want a mismatch at %s", r, head.Name)
	} else {
		t.Log(r)
	}
}

// TestDetectorReshape recompiles a detector for another size, as batches
// of a detection data set need: the arenas stay (with the gradient the
// last Backward left), the outputs and gradients match the CPU's at the
// new size.
func TestDetectorReshape(t *testing.T) {
	c := DetectorCases[1]
	dev := hostemu.New()
	defer dev.Close()
	cd, err := newCheckDetector(dev, kernels.F32, c)
	if err != nil {
		t.Fatal(err)
	}
	defer cd.det.Close()
	d := cd.det
	w, b := d.W, d.B
	before := d.Bytes()
	c.Size = 40
	if err := d.Reshape(c.Size, c.Size); err != nil {
		t.Fatal(err)
	}
	if d.W != w || d.B != b {
		t.Error("Reshape moved the arenas")
	}
	if after := d.Bytes(); after >= before {
		t.Errorf("%d bytes at 40 px, %d at 72: the activations were not replaced", after, before)
	}
	if d.Levels[0].H != 5 || d.Levels[4].H != 1 {
		t.Errorf("levels at 40 px: %+v, want P3 5x5 ... P7 1x1", d.Levels)
	}
	if err := cd.input(rand.New(rand.NewPCG(1, 1)), c.Size); err != nil {
		t.Fatal(err)
	}
	shape := "40x40 after 72x72"
	for _, check := range []func(DetectorCase, string) (kernels.Result, error){cd.outputs, cd.gradients} {
		r, err := check(c, shape)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() {
			t.Error(r)
		} else {
			t.Log(r)
		}
	}
}
