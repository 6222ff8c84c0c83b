//go:build cgo

package devnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/cuda/hostemu"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// A small network of each classifier space, at 32x32 with 5 classes. The
// architectures keep the emulator's work small while covering every layer
// kind the space uses: plain and strided 1x1, 3x3 and 5x5/7x7 depthwise,
// residuals, squeeze-excitation, fused and separate activations.
var cases = []struct {
	space string
	arch  []int
	opts  networks.Options
}{
	{space.NASBenchMacroName, []int{2, 0, 1, 0, 0, 1, 0, 0}, networks.Options{}},
	{space.ChannelResNetName, []int{0, 0, 0, 0, 0, 0, 0}, networks.Options{}},
	{space.ChannelMobileNetName, []int{0, 0, 0, 0, 0, 0, 0}, networks.Options{}},
	{space.ImageNetName, []int{1, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, networks.Options{}},
	// Every edge operation; then a cell whose node 2 feeds nothing (its
	// edge gets a zero gradient) and whose sums have one term each.
	{space.NB201Name, []int{4, 2, 1, 0, 3, 4}, networks.Options{NB201Cells: 1, NB201Channels: 8}},
	{space.NB201Name, []int{2, 2, 0, 0, 4, 0}, networks.Options{NB201Cells: 2, NB201Channels: 4}},
}

const (
	classes  = 5
	batch    = 4
	maxBatch = 6
	size     = 32
)

// fixture is a host network on the serial CPU engine, the same network
// compiled for the emulator, and an input batch on both sides.
type fixture struct {
	dev  *hostemu.Device
	host *networks.Network
	net  *Net
	x    *tensor.Tensor
	px   kernels.Ptr
}

func newFixture(t *testing.T, spaceName string, arch []int, dt kernels.DType, o networks.Options) *fixture {
	t.Helper()
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	if o.Classes == 0 {
		o.Classes = classes
	}
	if o.Dropout == 0 {
		o.Dropout = -1
	}
	host, err := networks.Build(cpu, spaceName, arch, o)
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial batch-norm parameters and statistics, so that a swapped
	// gamma/beta or mean/var shows.
	r := rand.New(rand.NewPCG(7, 7))
	for _, b := range host.BatchNorms() {
		for i := range b.C {
			b.Gamma.W[i] = 0.5 + r.Float32()
			b.Beta.W[i] = 0.2 * (2*r.Float32() - 1)
			b.Mean.Data[i] = 0.1 * (2*r.Float32() - 1)
			b.Var.Data[i] = 0.5 + r.Float32()
		}
	}
	f := &fixture{dev: hostemu.New(), host: host}
	t.Cleanup(f.dev.Close)
	// Compiled for more than the batch it runs: the layers must index by
	// the batch, not the capacity.
	f.net, err = Compile(f.dev, dt, host, maxBatch, 3, size, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.net.Close(); err != nil {
			t.Error(err)
		}
	})
	f.x = tensor.New(3, batch, size, size)
	for i := range f.x.Data {
		f.x.Data[i] = float32(r.NormFloat64())
		if dt == kernels.BF16 {
			f.x.Data[i] = kernels.RoundBF16(f.x.Data[i])
		}
	}
	if f.px, err = kernels.Upload(f.dev, dt, f.x.Data); err != nil {
		t.Fatal(err)
	}
	return f
}

// tolerance is kernels.Check's for float32 results (relative, and absolute
// as a fraction of the reference's largest magnitude), widened for a whole
// network's depth: batch norm sums in float64 on the CPU and in float32
// blocks on the device.
const relTol, absTol = 1e-3, 1e-4

// compare returns the largest difference over its tolerance (at most 1
// passes).
func compare(got, want []float32, rel, abs float64) float64 {
	return compareScaled(got, want, rel, abs, maxAbs(want))
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// compareScaled is compare with the absolute tolerance a fraction of
// scale.
func compareScaled(got, want []float32, rel, abs, scale float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var ratio float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		if math.IsNaN(g) || math.IsNaN(w) {
			d = math.Inf(1)
		}
		ratio = math.Max(ratio, d/(abs*scale+rel*math.Abs(w)+1e-30))
	}
	return ratio
}

func (f *fixture) download(t *testing.T, p kernels.Ptr, n int) []float32 {
	t.Helper()
	if err := f.dev.Sync(); err != nil {
		t.Fatal(err)
	}
	v, err := kernels.Download(f.dev, kernels.F32, p, n)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMatchesCPU runs each space's network on the emulator and on the CPU
// engine in float32: logits of a training and an evaluation forward pass,
// the running statistics the training pass updates, and every parameter's
// gradient.
func TestMatchesCPU(t *testing.T) {
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.space, tc.arch), func(t *testing.T) {
			f := newFixture(t, tc.space, tc.arch, kernels.F32, tc.opts)
			check := func(what string, got, want []float32, scale float64) {
				t.Helper()
				if r := compareScaled(got, want, relTol, absTol, max(scale, maxAbs(want))); r > 1 {
					t.Errorf("%s: differs from the CPU engine by %.2f of the tolerance", what, r)
				} else if testing.Verbose() {
					t.Logf("%s: %.3f of the tolerance", what, r)
				}
			}

			logits, err := f.net.Forward(f.px, batch, true)
			if err != nil {
				t.Fatal(err)
			}
			want := f.host.Forward(f.x, true)
			check("training logits", f.download(t, logits, classes*batch), want.Data, 0)

			b := f.download(t, f.net.B, f.net.Buffers.Len)
			for i, buf := range f.host.Buffers() {
				s := f.net.Buffers.Slots[i]
				check(buf.Name, b[s.Off:s.Off+s.Len], buf.Data, 0)
			}

			dl := tensor.New(classes, batch, 1, 1)
			r := rand.New(rand.NewPCG(3, 3))
			for i := range dl.Data {
				dl.Data[i] = float32(r.NormFloat64())
			}
			pdl, err := kernels.Upload(f.dev, kernels.F32, dl.Data)
			if err != nil {
				t.Fatal(err)
			}
			// Garbage in G first: Backward must overwrite every gradient.
			junk := make([]float32, f.net.Params.Len)
			for i := range junk {
				junk[i] = 1e3
			}
			if err := f.dev.Write(f.net.G, kernels.Encode(kernels.F32, junk)); err != nil {
				t.Fatal(err)
			}
			if err := f.net.Backward(pdl); err != nil {
				t.Fatal(err)
			}
			f.host.Backward(dl)
			// A batch norm's shift and scale gradients are sums over the
			// same values; where the shift's is zero but for rounding (the
			// layer feeds a convolution into a training batch norm, which
			// cancels the mean), the scale's sets the absolute tolerance.
			// Below a thousandth of the network's largest gradient, a
			// gradient is held to that: float32 and float64 sums of
			// cancelling terms differ at that level.
			var largest float64
			for _, p := range f.host.Params() {
				largest = max(largest, maxAbs(p.G))
			}
			scale := map[*nn.Param]float64{}
			for _, p := range f.host.Params() {
				scale[p] = largest / 1000
			}
			for _, bn := range f.host.BatchNorms() {
				s := max(maxAbs(bn.Gamma.G), maxAbs(bn.Beta.G), largest/1000)
				scale[bn.Gamma], scale[bn.Beta] = s, s
			}
			g := f.download(t, f.net.G, f.net.Params.Len)
			for i, p := range f.host.Params() {
				s := f.net.Params.Slots[i]
				check("gradient "+p.Name, g[s.Off:s.Off+s.Len], p.G, scale[p])
			}

			logits, err = f.net.Forward(f.px, batch, false)
			if err != nil {
				t.Fatal(err)
			}
			want = f.host.Forward(f.x, false)
			check("evaluation logits", f.download(t, logits, classes*batch), want.Data, 0)
		})
	}
}

// TestBF16LogitsClose runs each network with bf16 activations: the logits
// must stay close to the float32 CPU engine's on the same (bf16-rounded)
// input, and the gradients finite and of the same sign where large.
func TestBF16LogitsClose(t *testing.T) {
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.space, tc.arch), func(t *testing.T) {
			f := newFixture(t, tc.space, tc.arch, kernels.BF16, tc.opts)
			for _, train := range []bool{true, false} {
				logits, err := f.net.Forward(f.px, batch, train)
				if err != nil {
					t.Fatal(err)
				}
				want := f.host.Forward(f.x, train)
				got := f.download(t, logits, classes*batch)
				// bf16 keeps 8 bits, and the error grows through the depth
				// (most where batch norm normalises a handful of values, as
				// the last layers do at batch 4 and 1x1): the logits as a
				// whole within 1/16 of their size (RMS), each within 1/8
				// of the largest.
				if e := relRMS(got, want.Data); e > 1.0/16 {
					t.Errorf("train=%v: bf16 logits %v differ from float32 %v by %.3f (RMS, relative)", train, got, want.Data, e)
				} else if r := compare(got, want.Data, 0, 1.0/8); r > 1 {
					t.Errorf("train=%v: bf16 logits %v differ from float32 %v by %.2f of the tolerance", train, got, want.Data, r)
				} else {
					t.Logf("train=%v: bf16 logits within %.3f (RMS, relative), %.2f of the largest-value tolerance", train, e, r)
				}
			}
		})
	}
}

// relRMS is the RMS of got-want over the RMS of want.
func relRMS(got, want []float32) float64 {
	var d, w float64
	for i := range want {
		d += math.Pow(float64(got[i])-float64(want[i]), 2)
		w += math.Pow(float64(want[i]), 2)
	}
	return math.Sqrt(d / w)
}

// TestPullPush checks the weights and buffers round trip: Push after
// changing the host, Pull after the device changed.
func TestPullPush(t *testing.T) {
	f := newFixture(t, space.ChannelResNetName, cases[1].arch, kernels.F32, networks.Options{})
	// Compile uploaded the host's values.
	w := f.download(t, f.net.W, f.net.Params.Len)
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
	if _, err := f.net.Forward(f.px, batch, true); err != nil {
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
	f := newFixture(t, space.ChannelMobileNetName, cases[2].arch, kernels.F32, networks.Options{})
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
	v := f.download(t, f.net.V, f.net.Params.Len)
	for i, x := range v {
		if x != 0 {
			t.Fatalf("velocity %d is %g, want 0", i, x)
		}
	}
}

// TestUnsupported checks the errors for what the device cannot run: a
// layer without kernels, dropout in training, a batch larger than
// compiled, a device without a matrix product.
func TestUnsupported(t *testing.T) {
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	dev := hostemu.New()
	defer dev.Close()
	// RetinaNet's layers have no device kernels.
	odd := &networks.Network{Space: "custom", Classes: 3, Body: nn.NewSequential(nn.NewUpsample(cpu, 2), nn.NewGlobalAvgPool(cpu))}
	_, err := Compile(dev, kernels.F32, odd, 2, 3, 8, 8)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "layer 1 (*nn.Upsample)") {
		t.Errorf("compiling a network with an upsampling layer: %v, want ErrUnsupported naming the layer", err)
	} else {
		t.Log(err)
	}

	f := newFixture(t, space.ImageNetName, cases[3].arch, kernels.F32, networks.Options{Dropout: 0.2})
	if _, err := f.net.Forward(f.px, batch, true); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "dropout") {
		t.Errorf("training forward with dropout: %v, want ErrUnsupported naming dropout", err)
	}
	if err := f.net.Backward(f.px); err == nil {
		t.Error("backward after a failed forward: no error")
	}
	if _, err := f.net.Forward(f.px, batch, false); err != nil {
		t.Errorf("evaluation forward with dropout: %v", err)
	}
	if _, err := f.net.Forward(f.px, maxBatch+1, false); err == nil || !strings.Contains(err.Error(), fmt.Sprint(maxBatch)) {
		t.Errorf("forward of %d samples on a network compiled for %d: %v", maxBatch+1, maxBatch, err)
	}
	if _, err := Compile(noGemm{dev}, kernels.F32, f.host, 1, 3, size, size); err == nil || !strings.Contains(err.Error(), "Gemmer") {
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
