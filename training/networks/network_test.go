package networks

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/tensor"
)

var (
	genius329 = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	genius401 = []int{1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 4, 4, 0, 4, 0, 4, 4, 5, 0, 5, 0, 5, 6, 5, 0, 6, 0, 5}
)

func TestImageNetParamsMatchDesignAndCounter(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	for _, tc := range []struct {
		arch    []int
		classes int
		wantM   float64 // the paper's counts, 1000 classes; 0 = counter only
	}{{genius329, 1000, 6.97}, {genius401, 1000, 7.45}, {genius329, 10, 0}, {make([]int, 30), 100, 0}} {
		n, err := Build(be, space.ImageNetName, tc.arch, Options{Classes: tc.classes})
		if err != nil {
			t.Fatal(err)
		}
		got := n.NumParams()
		if tc.wantM > 0 && math.Abs(float64(got)/1e6-tc.wantM) >= 0.005 {
			t.Errorf("%v: %d parameters, the paper says %.2f M", tc.arch, got, tc.wantM)
		}
		c, err := flops.MobileNetV2(tc.arch, flops.Options{Classes: tc.classes})
		if err != nil {
			t.Fatal(err)
		}
		if c.Params != got {
			t.Errorf("%v classes %d: network has %d parameters, the FLOPs counter %d", tc.arch, tc.classes, got, c.Params)
		}
	}
}

func TestBuildEverySpace(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	cases := []struct {
		space string
		arch  []int
		input int
		opts  Options
	}{
		{space.ImageNetName, genius329, 32, Options{Classes: 10}},
		{space.NASBenchMacroName, []int{1, 0, 1, 0, 0, 1, 0, 2}, 32, Options{}},
		{space.NASBenchMacroName, []int{0, 0, 0, 0, 0, 0, 0, 0}, 32, Options{}},
		{space.ChannelResNetName, []int{0, 1, 2, 3, 0, 1, 2}, 32, Options{}},
		{space.ChannelMobileNetName, []int{0, 0, 0, 0, 0, 0, 0}, 32, Options{Classes: 100}},
		{space.NB201Name, []int{3, 3, 3, 1, 3, 3}, 16, Options{NB201Cells: 1}},
		{space.NB201Name, []int{0, 0, 0, 0, 0, 0}, 16, Options{NB201Cells: 1}},
		{space.NB201Name, []int{4, 2, 1, 0, 3, 4}, 16, Options{NB201Cells: 2, NB201Channels: 8}},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range cases {
		n, err := Build(be, tc.space, tc.arch, tc.opts)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.space, tc.arch, err)
		}
		x := tensor.New(3, 2, tc.input, tc.input)
		for i := range x.Data {
			x.Data[i] = float32(r.NormFloat64())
		}
		y := n.Forward(x, true)
		if y.C != n.Classes || y.N != 2 || y.H != 1 || y.W != 1 {
			t.Fatalf("%s %v: logits %s, want %d classes x 2", tc.space, tc.arch, y, n.Classes)
		}
		n.Backward(y) // must not panic; shapes line up
		for _, v := range y.Data {
			if math.IsNaN(float64(v)) {
				t.Fatalf("%s: NaN logits", tc.space)
			}
		}
	}
	if _, err := Build(be, space.NASBenchMacroName, []int{3, 0, 0, 0, 0, 0, 0, 0}, Options{}); err == nil {
		t.Error("out-of-range choice accepted")
	}
	if _, err := Build(be, "nope", nil, Options{}); err == nil {
		t.Error("unknown space accepted")
	}
}

// The NAS-Bench-201 cell routes gradients through a graph, not a chain:
// check it against central differences.
func TestCellGradient(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	r := rand.New(rand.NewPCG(2, 3))
	cell := newCell(be, r, []int{3, 1, 4, 2, 0, 3}, 2)
	x := tensor.New(2, 2, 3, 3)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	proj := make([]float32, x.Len())
	for i := range proj {
		proj[i] = float32(r.NormFloat64())
	}
	f := func() float64 {
		var s float64
		for i, v := range cell.Forward(x, true).Data {
			s += float64(v) * float64(proj[i])
		}
		return s
	}
	f()
	dy := tensor.New(2, 2, 3, 3)
	copy(dy.Data, proj)
	dx := append([]float32(nil), cell.Backward(dy).Data...)
	for i := range x.Data {
		old := x.Data[i]
		x.Data[i] = old + 1e-2
		fp := f()
		x.Data[i] = old - 1e-2
		fm := f()
		x.Data[i] = old
		num := (fp - fm) / 2e-2
		if math.Abs(num-float64(dx[i])) > 2e-2+2e-2*math.Abs(num) {
			t.Errorf("dx[%d] analytic %v numeric %v", i, dx[i], num)
		}
	}
}

func TestBatchNormsFoundEverywhere(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	for _, tc := range []struct {
		space string
		arch  []int
		want  int
	}{
		{space.ImageNetName, genius329, 2*1 + 3 + 5*0 + 0},
		{space.NB201Name, []int{3, 3, 3, 3, 3, 3}, 1 + 5*6*3 + 2*2 + 1},
	} {
		n, err := Build(be, tc.space, tc.arch, Options{Classes: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := len(n.BatchNorms())
		if 2*got != len(n.Buffers()) {
			t.Errorf("%s: %d batch norms for %d buffers", tc.space, got, len(n.Buffers()))
		}
		if tc.space == space.NB201Name && got != tc.want {
			t.Errorf("%s: %d batch norms, want %d", tc.space, got, tc.want)
		}
	}
}
