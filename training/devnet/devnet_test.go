//go:build cgo

package devnet

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// fixture is a case compiled for the emulator (see newCheckNet).
type fixture struct {
	dev *hostemu.Device
	*checkNet
}

func newFixture(t *testing.T, c Case, dt kernels.DType) *fixture {
	t.Helper()
	f := &fixture{dev: hostemu.New()}
	t.Cleanup(f.dev.Close)
	var err error
	if f.checkNet, err = newCheckNet(f.dev, dt, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.net.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func (f *fixture) floats(t *testing.T, p kernels.Ptr, n int) []float32 {
	t.Helper()
	v, err := f.download(p, n)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMatchesCPU runs Check's networks on the emulator: in float32 the
// logits of a training and an evaluation pass, the running statistics and
// every gradient; in bf16 the logits.
func TestMatchesCPU(t *testing.T) {
	for _, c := range Cases {
		for _, dt := range []kernels.DType{kernels.F32, kernels.BF16} {
			t.Run(fmt.Sprint(c, " ", dt), func(t *testing.T) {
				dev := hostemu.New()
				defer dev.Close()
				results, err := CheckCase(dev, dt, c)
				if err != nil {
					t.Fatal(err)
				}
				want := 2 // logits, training and evaluation
				if dt == kernels.F32 {
					want += 2 // running statistics, gradients
				}
				wantResults(t, results, want)
			})
		}
	}
}

// TestCheckSeesErrors makes sure the comparison fails a wrong network: the
// device's copy of one weight changed after Compile.
func TestCheckSeesErrors(t *testing.T) {
	f := newFixture(t, Cases[1], kernels.F32)
	s := f.net.Params.Slots[len(f.net.Params.Slots)/2]
	w := f.floats(t, f.net.W, f.net.Params.Len)
	w[s.Off] += 0.5
	if err := f.dev.Write(f.net.W, kernels.Encode(kernels.F32, w)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.net.Forward(f.px, checkBatch, true); err != nil {
		t.Fatal(err)
	}
	f.host.Forward(f.x, true)
	var results []kernels.Result
	if err := f.checkTraining(func(s string) string { return s }, "", &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[1].OK() {
		t.Errorf("gradients of a network with a changed weight: %v, want a mismatch", results)
	} else {
		t.Log(results[1])
	}
}

// TestPullPush checks the weights and buffers round trip: Push after
// changing the host, Pull after the device changed.
func TestPullPush(t *testing.T) {
	f := newFixture(t, Cases[1], kernels.F32)
	// Compile uploaded the host's values.
	w := f.floats(t, f.net.W, f.net.Params.Len)
	for i, p := range f.host.Params() {
		s := f.net.Params.Slots[i]
		if s.Off%SlotAlign != 0 {
			t.Errorf("%s at %d: not aligned to %d floats", p.Name, s.Off, SlotAlign)
		}
		if !equal(w[s.Off:s.Off+s.Len], p.W) {
			t.Fatalf("%s: the device's weights differ from the host's after Compile", p.Name)
		}
	}
	// Change the host, Push, then change the host again and Pull: the
	// host must get the pushed values back.
	want := map[string][]float32{}
	for i, p := range f.host.Params() {
		for j := range p.W {
			p.W[j] = float32(i) + float32(j)/1000
		}
		want[p.Name] = append([]float32(nil), p.W...)
	}
	for i, b := range f.host.Buffers() {
		for j := range b.Data {
			b.Data[j] = -float32(i) - float32(j)/1000
		}
		want[b.Name] = append([]float32(nil), b.Data...)
	}
	if err := f.net.Push(); err != nil {
		t.Fatal(err)
	}
	for _, p := range f.host.Params() {
		clear(p.W)
	}
	for _, b := range f.host.Buffers() {
		clear(b.Data)
	}
	if err := f.net.Pull(); err != nil {
		t.Fatal(err)
	}
	for _, p := range f.host.Params() {
		if !equal(p.W, want[p.Name]) {
			t.Errorf("%s: Pull after Push gave other values", p.Name)
		}
	}
	for _, b := range f.host.Buffers() {
		if !equal(b.Data, want[b.Name]) {
			t.Errorf("%s: Pull after Push gave other values", b.Name)
		}
	}
	// A training pass moves the device's running statistics; Pull brings
	// them to the host.
	if _, err := f.net.Forward(f.px, checkBatch, true); err != nil {
		t.Fatal(err)
	}
	if err := f.net.Pull(); err != nil {
		t.Fatal(err)
	}
	if b := f.net.Bytes(); b < int64(4*f.net.Params.Len*3) {
		t.Errorf("Bytes() = %d, less than the parameter arenas", b)
	}
	moved := 0
	for _, b := range f.host.Buffers() {
		if !equal(b.Data, want[b.Name]) {
			moved++
		}
	}
	if moved != len(f.host.Buffers()) {
		t.Errorf("after a training pass, Pull changed %d of %d buffers", moved, len(f.host.Buffers()))
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestDecayAndArenas checks the layout the optimiser relies on: slots in
// Params() order, one decay byte per weight set exactly for decayed
// parameters, zero gaps.
func TestDecayAndArenas(t *testing.T) {
	f := newFixture(t, Cases[2], kernels.F32)
	raw := make([]byte, f.net.Params.Len)
	if err := f.dev.Read(raw, f.net.Decay); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, f.net.Params.Len)
	end := 0
	for i, p := range f.host.Params() {
		s := f.net.Params.Slots[i]
		if s.Off < end || s.Len != len(p.W) {
			t.Fatalf("%s: slot %+v after offset %d", p.Name, s, end)
		}
		end = s.Off + s.Len
		if p.Decay {
			for j := s.Off; j < end; j++ {
				want[j] = 1
			}
		}
	}
	if end > f.net.Params.Len {
		t.Fatalf("slots end at %d, the arena has %d floats", end, f.net.Params.Len)
	}
	if string(raw) != string(want) {
		t.Error("decay bytes differ from the parameters' Decay flags")
	}
	v := f.floats(t, f.net.V, f.net.Params.Len)
	for i, x := range v {
		if x != 0 {
			t.Fatalf("velocity %d is %g, want 0", i, x)
		}
	}
}

// TestUnsupported checks the errors for what the device cannot run: a
// layer without kernels, a batch larger than
// compiled, a device without a matrix product.
func TestUnsupported(t *testing.T) {
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	dev := hostemu.New()
	defer dev.Close()
	// A layer the classifier compiler has no node for (upsampling runs
	// only in CompileDetector's pyramid).
	odd := &networks.Network{Space: "custom", Classes: 3, Body: nn.NewSequential(nn.NewUpsample(cpu, 2), nn.NewGlobalAvgPool(cpu))}
	_, err := Compile(dev, kernels.F32, odd, 2, 3, 8, 8)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "layer 1 (*nn.Upsample)") {
		t.Errorf("compiling a network with an upsampling layer: %v, want ErrUnsupported naming the layer", err)
	} else {
		t.Log(err)
	}

	f := newFixture(t, Case{space.ImageNetName, Cases[3].Arch, networks.Options{Dropout: 0.2}}, kernels.F32)
	if _, err := f.net.Forward(f.px, checkMaxBatch+1, false); err == nil || !strings.Contains(err.Error(), fmt.Sprint(checkMaxBatch)) {
		t.Errorf("forward of %d samples on a network compiled for %d: %v", checkMaxBatch+1, checkMaxBatch, err)
	}
	if _, err := Compile(noGemm{dev}, kernels.F32, f.host, 1, 3, checkSize, checkSize); err == nil || !strings.Contains(err.Error(), "Gemmer") {
		t.Errorf("compile for a device without a matrix product: %v", err)
	}
}

// noGemm hides the emulator's matrix product.
type noGemm struct{ kernels.Device }

// TestGradientBuffersReused compiles GENIUS-329 at ImageNet size (nothing
// runs: the emulator's memory is only reserved) and compares the planned
// gradient buffers with one per layer, as the CPU engine keeps them.
func TestGradientBuffersReused(t *testing.T) {
	genius329 := []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	host, err := networks.Build(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), space.ImageNetName, genius329, networks.Options{Dropout: -1})
	if err != nil {
		t.Fatal(err)
	}
	dev := hostemu.New()
	defer dev.Close()
	const n = 8
	net, err := Compile(dev, kernels.BF16, host, n, 3, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	ratio := float64(net.gradValues) / float64(net.gradNaive)
	t.Logf("GENIUS-329 at 224, bf16: %.1f MiB per sample in all; gradients %.2f M values per sample planned, %.2f M with a buffer per layer (%.3f)",
		float64(net.Bytes())/n/(1<<20), float64(net.gradValues)/1e6, float64(net.gradNaive)/1e6, ratio)
	if ratio > 0.15 {
		t.Errorf("planned gradient buffers are %.3f of a buffer per layer, want at most 0.15 (measured 0.099)", ratio)
	}
}

// TestDropout: in training the seed decides the mask (same seed, same
// logits; another seed, others), the gradient flows through it, and
// evaluation drops nothing.
func TestDropout(t *testing.T) {
	f := newFixture(t, Case{space.ImageNetName, Cases[3].Arch, networks.Options{Dropout: 0.5}}, kernels.F32)
	classes := f.host.Classes
	logits := func(seed uint64, train bool) []float32 {
		f.net.DropoutSeed = seed
		p, err := f.net.Forward(f.px, checkBatch, train)
		if err != nil {
			t.Fatal(err)
		}
		return f.floats(t, p, classes*checkBatch)
	}
	// Batch norm's statistics shift by the running mean, which each
	// training pass moves: equal masks agree to rounding, not bits.
	diff := func(x, y []float32) float64 {
		var d, s float64
		for i := range x {
			d = max(d, math.Abs(float64(x[i]-y[i])))
			s = max(s, math.Abs(float64(y[i])))
		}
		return d / s
	}
	a, b, c := logits(1, true), logits(1, true), logits(2, true)
	if d := diff(a, b); d > 1e-4 {
		t.Errorf("the same seed gave logits %.2g apart", d)
	}
	if d := diff(a, c); d < 1e-2 {
		t.Errorf("another seed gave logits only %.2g apart", d)
	}
	if err := f.net.Backward(f.px); err != nil {
		t.Errorf("backward through dropout: %v", err)
	}
	if e1, e2 := logits(1, false), logits(2, false); diff(e1, e2) != 0 {
		t.Error("evaluation depends on the dropout seed")
	}
}

// wantResults fails unless there are want comparisons, all within
// tolerance; verbose runs log the passing ones.
func wantResults(t *testing.T, results []kernels.Result, want int) {
	t.Helper()
	if len(results) != want {
		t.Errorf("%d comparisons, want %d", len(results), want)
	}
	for _, r := range results {
		if !r.OK() {
			t.Error(r)
		} else if testing.Verbose() {
			t.Log(r)
		}
	}
}
