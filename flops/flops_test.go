package flops

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	genius329 = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	genius401 = []int{1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 4, 4, 0, 4, 0, 4, 4, 5, 0, 5, 0, 5, 6, 5, 0, 6, 0, 5}
)

func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

func TestReferenceNetworks(t *testing.T) {
	tests := []struct {
		name            string
		arch            []int
		flopsM, paramsM float64 // the paper's, two decimals
		flops3          float64 // three decimals where the paper gives them
	}{
		{"GENIUS-329", genius329, 329.41, 6.97, 329.413},
		{"GENIUS-401", genius401, 401.50, 7.45, 401.495},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := MobileNetV2(tt.arch, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := round(c.FLOPsM(), 2); got != tt.flopsM {
				t.Errorf("FLOPs = %.6f M, want %.2f", c.FLOPsM(), tt.flopsM)
			}
			if got := round(c.FLOPsM(), 3); got != tt.flops3 {
				t.Errorf("FLOPs = %.6f M, want %.3f", c.FLOPsM(), tt.flops3)
			}
			if got := round(c.ParamsM(), 2); got != tt.paramsM {
				t.Errorf("params = %.6f M, want %.2f", c.ParamsM(), tt.paramsM)
			}
			if c.MACs != math.Trunc(c.MACs) {
				t.Errorf("MACs %v not whole", c.MACs)
			}
		})
	}
}

// The paper's per-slot table, M at 224.
var paperFirst = [Stages][Ops]float64{
	{1.5053, 23.7855, 26.9967, 31.8136, 35.5292, 40.3461, 47.5715},
	{0.8781, 12.5486, 13.7528, 15.5592, 18.7648, 20.5711, 23.2806},
	{0.6899, 8.5114, 9.0131, 9.7658, 12.7472, 13.4998, 14.6288},
	{1.5805, 12.2314, 13.2349, 14.7402, 18.3479, 19.8532, 22.1111},
	{0.9408, 11.495, 11.7961, 12.2477, 17.279, 17.7306, 18.408},
}
var paperRest = [Stages][Ops]float64{
	{0.0, 19.8743, 24.6912, 31.9165, 29.6655, 36.8909, 47.7289},
	{0.0, 12.3059, 14.313, 17.3235, 18.4077, 21.4182, 25.9341},
	{0.0, 11.2154, 12.2189, 13.7242, 16.8301, 18.3354, 20.5933},
	{0.0, 15.8792, 17.0834, 18.8897, 23.8364, 25.6428, 28.3523},
	{0.0, 15.423, 16.0251, 16.9283, 23.3368, 24.24, 25.5948},
}

func TestSlotTableMatchesPaper(t *testing.T) {
	tab := Slots(Options{})
	if tab.Input != 224 || tab.Classes != 1000 {
		t.Fatalf("defaults: input %d classes %d", tab.Input, tab.Classes)
	}
	for s := 0; s < Stages; s++ {
		for o := 0; o < Ops; o++ {
			if got := round(tab.First[s][o], 4); got != paperFirst[s][o] {
				t.Errorf("stage%d_first[%d] = %.6f, want %.4f", s+1, o, tab.First[s][o], paperFirst[s][o])
			}
			if got := round(tab.Rest[s][o], 4); got != paperRest[s][o] {
				t.Errorf("stage%d_rest[%d] = %.6f, want %.4f", s+1, o, tab.Rest[s][o], paperRest[s][o])
			}
		}
	}
	r := tab.Round(4)
	if r.First != paperFirst || r.Rest != paperRest {
		t.Errorf("Round(4) differs from the paper's table")
	}
}

func TestFixedLayers(t *testing.T) {
	tab := Slots(Options{})
	want := map[string]float64{ // counter's figures, 4 decimals
		"stem conv 3x3 3→16":              5.4190,
		"stem batch norm":                 0.8028,
		"depthwise-separable block 16→16": 6.6235,
		"conv 1x1 192→320 + batch norm":   3.0733,
		"global average pool":             0.0160,
		"conv 1x1 320→1280":               0.4096,
		"classifier":                      1.2800,
	}
	if len(tab.Fixed) != len(want) {
		t.Fatalf("%d fixed parts, want %d", len(tab.Fixed), len(want))
	}
	for _, f := range tab.Fixed {
		if w, ok := want[f.Name]; !ok || round(f.MFLOPs, 4) != w {
			t.Errorf("%s = %.6f, want %.4f", f.Name, f.MFLOPs, w)
		}
	}
	// The paper lists the stem conv, pool and classifier as the counter does.
	for _, f := range tab.Fixed {
		if f.Paper != 0 && math.Abs(f.Paper-f.MFLOPs) < 1e-3 {
			continue
		}
		if f.Name == "stem conv 3x3 3→16" || f.Name == "global average pool" || f.Name == "classifier" {
			t.Errorf("%s: paper %.4f, counter %.4f", f.Name, f.Paper, f.MFLOPs)
		}
	}
	if Slots(Options{Input: 196}).Fixed[0].Paper != 0 {
		t.Error("paper figures given at input 196")
	}
}

// The table plus the fixed parts must add up to the counter's total, so a
// model that sums the prompt's table reaches the figure constraints use.
func TestTableSumsToTotal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, opts := range []Options{{}, {Input: 196}, {Input: 32, Classes: 10}, {Input: 225, Classes: 100}} {
		tab := Slots(opts)
		for n := 0; n < 200; n++ {
			arch := randomArch(r)
			var sum float64
			for _, f := range tab.Fixed {
				sum += f.MFLOPs
			}
			for i, op := range arch {
				if i%SlotsPerStage == 0 {
					sum += tab.First[i/SlotsPerStage][op]
				} else {
					sum += tab.Rest[i/SlotsPerStage][op]
				}
			}
			c, err := MobileNetV2(arch, opts)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(sum-c.FLOPsM()) > 1e-9 {
				t.Fatalf("%+v %v: table sums to %.9f, counter %.9f", opts, arch, sum, c.FLOPsM())
			}
		}
	}
}

func randomArch(r *rand.Rand) []int {
	a := make([]int, Positions)
	for i := range a {
		a[i] = r.IntN(Ops)
	}
	return a
}

func TestLayersSumToCount(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 50; n++ {
		arch := randomArch(r)
		opts := Options{Input: 160 + r.IntN(100), Classes: 1 + r.IntN(2000)}
		c, _ := MobileNetV2(arch, opts)
		layers, err := Layers(arch, opts)
		if err != nil {
			t.Fatal(err)
		}
		var macs, params int64
		for _, l := range layers {
			macs += l.MACs
			params += l.Params
		}
		if float64(macs) != c.MACs || params != c.Params {
			t.Fatalf("layers sum %d/%d, count %v/%d", macs, params, c.MACs, c.Params)
		}
	}
}

func TestLayersShape(t *testing.T) {
	layers, err := Layers(genius329, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, last := layers[0], layers[len(layers)-1]
	if first.Block != "stem" || first.OutSize != 112 || first.Stride != 2 {
		t.Errorf("stem %+v", first)
	}
	if last.Name != "classifier" || last.In != 1280 || last.Out != 1000 || last.Params != 1281000 {
		t.Errorf("classifier %+v", last)
	}
	blocks := map[string]bool{}
	for _, l := range layers {
		blocks[l.Block] = true
		switch {
		case l.Block == "stage1.0" && l.Name == "expand":
			if l.Out != 64 || l.InSize != 112 {
				t.Errorf("stage1.0 expand %+v", l)
			}
		case l.Block == "stage1.0" && l.Name == "dw":
			if l.OutSize != 56 || l.Groups != 64 || l.Residual {
				t.Errorf("stage1.0 dw %+v", l)
			}
		case l.Block == "stage3.0" && l.Name == "se_reduce":
			// 40×6 = 240 hidden; 240/4 = 60 rounds up to 64.
			if l.In != 240 || l.Out != 64 || !l.Bias {
				t.Errorf("stage3.0 se %+v", l)
			}
		case l.Block == "stage5.1" && l.Name == "dw":
			if l.Kernel != 5 || l.OutSize != 7 || !l.Residual {
				t.Errorf("stage5.1 dw %+v", l)
			}
		case l.Block == "dwsep":
			if !l.Residual {
				t.Errorf("dwsep without residual %+v", l)
			}
		}
	}
	// Skips in slots 1..5 remove the layer; slot 0 is always built.
	for _, b := range []string{"stage1.1", "stage1.2", "stage3.1", "stage5.5"} {
		if blocks[b] {
			t.Errorf("block %s built for op 0", b)
		}
	}
	for _, b := range []string{"stage1.0", "stage1.4", "stage5.4", "dwsep", "head"} {
		if !blocks[b] {
			t.Errorf("block %s missing", b)
		}
	}
}

func TestZerosPositionDoesNotMatter(t *testing.T) {
	a := []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	b := []int{1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 4, 4, 3, 0, 0, 0, 4, 3, 4, 4, 0, 0, 5, 5, 5, 5, 0, 0}
	ca, _ := MobileNetV2(a, Options{})
	cb, _ := MobileNetV2(b, Options{})
	if ca != cb {
		t.Errorf("%v != %v", ca, cb)
	}
	// Slot 0's skip is a projection, not a removal: moving it changes the count.
	c := append([]int(nil), a...)
	c[0], c[1] = 0, 1
	cc, _ := MobileNetV2(c, Options{})
	if cc == ca {
		t.Error("moving op 0 into slot 0 did not change the count")
	}
}

func TestOptionsChangeCount(t *testing.T) {
	base, _ := MobileNetV2(genius329, Options{Input: 224, Classes: 1000})
	def, _ := MobileNetV2(genius329, Options{})
	if base != def {
		t.Fatalf("defaults differ: %v %v", base, def)
	}
	// Fewer classes: the classifier shrinks by 1280+1 per class, MACs by 1280.
	c10, _ := MobileNetV2(genius329, Options{Classes: 10})
	if base.MACs-c10.MACs != 990*1280 || base.Params-c10.Params != 990*1281 {
		t.Errorf("classes 10: %v vs %v", c10, base)
	}
	// A smaller input lowers MACs, leaves parameters alone.
	c196, _ := MobileNetV2(genius329, Options{Input: 196})
	if !(c196.MACs < base.MACs) || c196.Params != base.Params {
		t.Errorf("input 196: %v vs %v", c196, base)
	}
	// 448 has exactly 4× the spatial elements everywhere except the 1x1
	// SE, pooled and classifier parts, so MACs grow by less than 4×.
	c448, _ := MobileNetV2(genius329, Options{Input: 448})
	if r := c448.MACs / base.MACs; r <= 3.9 || r >= 4 {
		t.Errorf("input 448 ratio %.4f", r)
	}
	// Odd sizes round up like PyTorch's padded convolutions: 225 → 113 → ... → 8.
	layers, _ := Layers(genius329, Options{Input: 225})
	if l := layers[len(layers)-4]; l.Name != "bn" || l.OutSize != 8 {
		t.Errorf("head at 225: %+v", l)
	}
}

func TestInvalidArch(t *testing.T) {
	tests := []struct {
		arch []int
		want string
	}{
		{nil, "has 0 entries, want 30"},
		{genius329[:29], "has 29 entries"},
		{append(append([]int(nil), genius329[:7]...), append([]int{7}, genius329[8:]...)...), "position 8 (stage 2, slot 1) is 7, allowed 0..6"},
		{append([]int{-1}, genius329[1:]...), "position 1 (stage 1, slot 0) is -1"},
	}
	for _, tt := range tests {
		if _, err := MobileNetV2(tt.arch, Options{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.arch, err, tt.want)
		}
		if _, err := Layers(tt.arch, Options{}); err == nil {
			t.Errorf("Layers(%v) accepted", tt.arch)
		}
	}
}

func BenchmarkMobileNetV2(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MobileNetV2(genius401, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSlots(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Slots(Options{})
	}
}

func TestCounterEqualsMobileNetV2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, opts := range []Options{{}, {Input: 196}, {Input: 33, Classes: 7}} {
		c := NewCounter(opts)
		if got := c.Options(); got != opts.normalized() {
			t.Errorf("Options() = %+v", got)
		}
		for n := 0; n < 300; n++ {
			arch := randomArch(r)
			want, _ := MobileNetV2(arch, opts)
			got, err := c.Count(arch)
			if err != nil || got != want {
				t.Fatalf("%+v %v: counter %v (%v), MobileNetV2 %v", opts, arch, got, err, want)
			}
		}
		if _, err := c.Count(genius329[:3]); err == nil {
			t.Error("short arch accepted")
		}
	}
}

func BenchmarkCounter(b *testing.B) {
	c := NewCounter(Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Count(genius401); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewCounter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewCounter(Options{})
	}
}
