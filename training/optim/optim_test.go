package optim

import (
	"math"
	"testing"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

func param(decay bool, w, g float32) *nn.Param {
	return &nn.Param{Name: "p", W: []float32{w}, G: []float32{g}, Decay: decay}
}

// Reference values follow torch.optim.SGD's update rule by hand.
func TestSGDStep(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	cases := []struct {
		name  string
		o     SGDOptions
		decay bool
		want  [2]float64 // weight after step 1 and 2 (gradient 1 each time)
	}{
		{"plain", SGDOptions{}, true, [2]float64{0.9, 0.8}},
		{"momentum", SGDOptions{Momentum: 0.9}, false, [2]float64{0.9, 0.71}},
		{"nesterov", SGDOptions{Momentum: 0.9, Nesterov: true}, false, [2]float64{0.81, 0.539}},
		{"decay", SGDOptions{WeightDecay: 0.5}, true, [2]float64{0.85, 0.7075}},
		{"decay-skipped", SGDOptions{WeightDecay: 0.5}, false, [2]float64{0.9, 0.8}},
		{"clip", SGDOptions{ClipNorm: 0.5}, false, [2]float64{0.95, 0.9}},
	}
	for _, tc := range cases {
		p := param(tc.decay, 1, 1)
		s := NewSGD(be, []*nn.Param{p}, tc.o)
		for i := 0; i < 2; i++ {
			p.G[0] = 1
			s.Step(0.1)
			if math.Abs(float64(p.W[0])-tc.want[i]) > 1e-5 {
				t.Errorf("%s step %d: w = %v, want %v", tc.name, i+1, p.W[0], tc.want[i])
			}
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{BaseLR: 1, WarmupSteps: 4, TotalSteps: 14}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.25}, {3, 1}, {4, 1}, {9, 0.5}, {14, 0}, {20, 0}} {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestEMA(t *testing.T) {
	p := param(true, 1, 0)
	b := &nn.Buffer{Data: []float32{2}}
	e := NewEMA([]*nn.Param{p}, []*nn.Buffer{b}, 0.5, 2)
	p.W[0], b.Data[0] = 3, 4
	e.Update(1, []*nn.Param{p}, []*nn.Buffer{b}) // not on the interval
	if e.Params[0][0] != 1 {
		t.Fatalf("updated off-interval: %v", e.Params[0][0])
	}
	e.Update(2, []*nn.Param{p}, []*nn.Buffer{b})
	if e.Params[0][0] != 2 || e.Buffers[0][0] != 3 {
		t.Fatalf("shadow %v %v, want 2 3", e.Params[0][0], e.Buffers[0][0])
	}
	e.Swap([]*nn.Param{p}, []*nn.Buffer{b})
	if p.W[0] != 2 || b.Data[0] != 3 {
		t.Fatalf("swap gave live %v %v", p.W[0], b.Data[0])
	}
	e.Swap([]*nn.Param{p}, []*nn.Buffer{b})
	if p.W[0] != 3 || b.Data[0] != 4 {
		t.Fatalf("swap back gave %v %v", p.W[0], b.Data[0])
	}
}

// Work is split across parameters of very different sizes; every element
// must get exactly one update.
func TestSGDManyParams(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	sizes := []int{1, 17, 70000, 3, 40000, 5}
	var ps []*nn.Param
	for i, n := range sizes {
		p := &nn.Param{W: make([]float32, n), G: make([]float32, n), Decay: i%2 == 0}
		for j := range p.W {
			p.W[j], p.G[j] = float32(j%7), float32(j%5)-2
		}
		ps = append(ps, p)
	}
	s := NewSGD(be, ps, SGDOptions{Momentum: 0.9, Nesterov: true, WeightDecay: 0.1})
	s.Step(0.5)
	for i, p := range ps {
		wd := 0.0
		if p.Decay {
			wd = 0.1
		}
		for j := range p.W {
			w0, g := float64(j%7), float64(j%5)-2
			d := g + wd*w0
			v := d
			want := w0 - 0.5*(d+0.9*v)
			if math.Abs(float64(p.W[j])-want) > 1e-4 {
				t.Fatalf("param %d[%d] = %v, want %v", i, j, p.W[j], want)
			}
		}
	}
}
