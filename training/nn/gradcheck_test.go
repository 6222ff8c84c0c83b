package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/training/tensor"
)

// awayFromKinks nudges values off the points where the activations are not
// differentiable, so central differences are meaningful.
func awayFromKinks(v float32) float32 {
	for _, k := range []float32{0, 6, -3, 3} {
		if d := v - k; d > -0.05 && d < 0.05 {
			return k + 0.1
		}
	}
	return v
}

func randTensor(r *rand.Rand, c, n, h, w int, scale float64) *tensor.Tensor {
	t := tensor.New(c, n, h, w)
	for i := range t.Data {
		t.Data[i] = awayFromKinks(float32(r.NormFloat64() * scale))
	}
	return t
}

// objective is sum(y * proj), in float64.
func objective(y, proj *tensor.Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(proj.Data[i])
	}
	return s
}

type gradCase struct {
	name    string
	layer   func(be tensor.Backend, r *rand.Rand) Layer
	c, h    int
	scale   float64
	train   bool
	prepare func(l Layer) // called before every forward (fixes dropout masks)
}

func checkGradients(t *testing.T, tc gradCase) {
	t.Helper()
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	r := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
	l := tc.layer(be, r)
	scale := tc.scale
	if scale == 0 {
		scale = 1
	}
	x := randTensor(r, tc.c, 2, tc.h, tc.h, scale)
	// Move parameters off zero so biases and gates see varied values.
	for _, p := range l.Params() {
		for i := range p.W {
			p.W[i] += float32(r.NormFloat64() * 0.3)
		}
	}
	prep := func() {
		if tc.prepare != nil {
			tc.prepare(l)
		}
	}
	prep()
	y := l.Forward(x, tc.train)
	proj := randTensor(r, y.C, y.N, y.H, y.W, 1)
	dx := l.Backward(proj)
	grads := map[*Param][]float32{}
	for _, p := range l.Params() {
		grads[p] = append([]float32(nil), p.G...)
	}
	dxs := append([]float32(nil), dx.Data...)

	const eps = 1e-2
	f := func() float64 {
		prep()
		return objective(l.Forward(x, tc.train), proj)
	}
	check := func(what string, vals []float32, analytic []float32) {
		idx := r.Perm(len(vals))
		if len(idx) > 24 {
			idx = idx[:24]
		}
		for _, i := range idx {
			old := vals[i]
			vals[i] = old + eps
			fp := f()
			vals[i] = old - eps
			fm := f()
			vals[i] = old
			num := (fp - fm) / (2 * eps)
			a := float64(analytic[i])
			if math.Abs(num-a) > 2e-2+2e-2*math.Max(math.Abs(num), math.Abs(a)) {
				t.Errorf("%s: d/d%s[%d] analytic %.5f numeric %.5f", tc.name, what, i, a, num)
			}
		}
	}
	check("x", x.Data, dxs)
	for _, p := range l.Params() {
		check(p.Name, p.W, grads[p])
	}
}

func TestGradients(t *testing.T) {
	conv := func(s ConvSpec) func(be tensor.Backend, r *rand.Rand) Layer {
		return func(be tensor.Backend, r *rand.Rand) Layer { return NewConv(be, r, s) }
	}
	act := func(k ActKind) func(be tensor.Backend, r *rand.Rand) Layer {
		return func(be tensor.Backend, r *rand.Rand) Layer { return NewAct(be, k) }
	}
	cases := []gradCase{
		{name: "conv3x3", layer: conv(ConvSpec{In: 3, Out: 4, K: 3, Pad: 1, Bias: true}), c: 3, h: 5},
		{name: "conv3x3-s2", layer: conv(ConvSpec{In: 3, Out: 4, K: 3, Stride: 2, Pad: 1}), c: 3, h: 6},
		{name: "conv5x5-s2", layer: conv(ConvSpec{In: 2, Out: 3, K: 5, Stride: 2, Pad: 2}), c: 2, h: 7},
		{name: "conv1x1", layer: conv(ConvSpec{In: 5, Out: 3, K: 1}), c: 5, h: 4},
		{name: "conv1x1-s2", layer: conv(ConvSpec{In: 4, Out: 6, K: 1, Stride: 2}), c: 4, h: 5},
		{name: "conv-groups2", layer: conv(ConvSpec{In: 4, Out: 6, K: 3, Pad: 1, Groups: 2}), c: 4, h: 4},
		{name: "depthwise3x3", layer: conv(ConvSpec{In: 4, Out: 4, K: 3, Pad: 1, Groups: 4}), c: 4, h: 5},
		{name: "depthwise5x5-s2", layer: conv(ConvSpec{In: 3, Out: 3, K: 5, Stride: 2, Pad: 2, Groups: 3}), c: 3, h: 7},
		{name: "depthwise7x7", layer: conv(ConvSpec{In: 2, Out: 2, K: 7, Pad: 3, Groups: 2, Bias: true}), c: 2, h: 4},
		{name: "batchnorm-train", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewBatchNorm(be, 3) }, c: 3, h: 3, train: true, scale: 2},
		{name: "batchnorm-eval", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewBatchNorm(be, 3) }, c: 3, h: 3},
		{name: "batchnorm-hardswish", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewBatchNormAct(be, 3, HardSwish) }, c: 3, h: 3, train: true, scale: 2},
		{name: "batchnorm-relu-eval", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewBatchNormAct(be, 3, ReLU) }, c: 3, h: 3, scale: 2},
		{name: "relu", layer: act(ReLU), c: 2, h: 3, scale: 3},
		{name: "relu6", layer: act(ReLU6), c: 2, h: 3, scale: 5},
		{name: "hardswish", layer: act(HardSwish), c: 2, h: 4, scale: 4},
		{name: "hardsigmoid", layer: act(HardSigmoid), c: 2, h: 4, scale: 4},
		{name: "se", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewSE(be, r, 4, 8) }, c: 4, h: 3, train: true},
		{name: "residual-identity", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return NewResidual(be, NewSequential(NewConv(be, r, ConvSpec{In: 3, Out: 3, K: 3, Pad: 1}), NewBatchNorm(be, 3)), nil)
		}, c: 3, h: 4, train: true},
		{name: "residual-projection", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return NewResidual(be, NewConv(be, r, ConvSpec{In: 3, Out: 5, K: 3, Stride: 2, Pad: 1}),
				NewSequential(NewAvgPool(be, 2, 2, 0), NewConv(be, r, ConvSpec{In: 3, Out: 5, K: 1})))
		}, c: 3, h: 4},
		{name: "avgpool3x3", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewAvgPool(be, 3, 1, 1) }, c: 2, h: 4},
		{name: "avgpool2x2-s2", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewAvgPool(be, 2, 2, 0) }, c: 2, h: 4},
		{name: "global-avgpool", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewGlobalAvgPool(be) }, c: 3, h: 3},
		{name: "linear", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewLinear(be, r, 6, 4) }, c: 6, h: 1},
		{name: "dropout", layer: func(be tensor.Backend, r *rand.Rand) Layer { return NewDropout(nil, 0.3) }, c: 3, h: 3, train: true,
			prepare: func(l Layer) { l.(*Dropout).rng = rand.New(rand.NewPCG(5, 5)) }},
		{name: "conv-bn", layer: func(be tensor.Backend, r *rand.Rand) Layer {
			return NewSequential(NewConv(be, r, ConvSpec{In: 3, Out: 4, K: 3, Pad: 1}), NewBatchNorm(be, 4))
		}, c: 3, h: 4, train: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkGradients(t, tc) })
	}
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	for _, eps := range []float64{0, 0.1} {
		logits := randTensor(r, 5, 3, 1, 1, 2)
		labels := []int{0, 4, 2}
		grad := tensor.New(5, 3, 1, 1)
		if _, err := SoftmaxCrossEntropy(logits, labels, eps, grad); err != nil {
			t.Fatal(err)
		}
		for i := range logits.Data {
			old := logits.Data[i]
			logits.Data[i] = old + 1e-2
			lp, _ := SoftmaxCrossEntropy(logits, labels, eps, nil)
			logits.Data[i] = old - 1e-2
			lm, _ := SoftmaxCrossEntropy(logits, labels, eps, nil)
			logits.Data[i] = old
			if num := (lp - lm) / 2e-2; math.Abs(num-float64(grad.Data[i])) > 1e-3 {
				t.Errorf("eps %v: dlogit[%d] analytic %v numeric %v", eps, i, grad.Data[i], num)
			}
		}
	}
	// Uniform logits give log K whatever the smoothing.
	l, _ := SoftmaxCrossEntropy(tensor.New(4, 2, 1, 1), []int{1, 3}, 0.1, nil)
	if math.Abs(l-math.Log(4)) > 1e-9 {
		t.Errorf("uniform loss %v, want log 4", l)
	}
	if _, err := SoftmaxCrossEntropy(tensor.New(4, 1, 1, 1), []int{4}, 0, nil); err == nil {
		t.Error("label out of range accepted")
	}
}

func TestBatchNormRunningStatistics(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	bn := NewBatchNorm(be, 1)
	x := tensor.New(1, 2, 1, 2)
	copy(x.Data, []float32{1, 2, 3, 6}) // mean 3, unbiased var 14/3
	y := bn.Forward(x, true)
	if got := bn.Mean.Data[0]; math.Abs(float64(got)-0.3) > 1e-6 {
		t.Errorf("running mean %v, want 0.3", got)
	}
	if got, want := bn.Var.Data[0], 0.9+0.1*14.0/3; math.Abs(float64(got)-want) > 1e-5 {
		t.Errorf("running var %v, want %v", got, want)
	}
	var s float32
	for _, v := range y.Data {
		s += v
	}
	if math.Abs(float64(s)) > 1e-5 {
		t.Errorf("training output mean %v, want 0", s/4)
	}
	// Evaluation uses the running statistics and leaves them alone.
	y = bn.Forward(x, false)
	want := (1 - 0.3) / math.Sqrt(0.9+0.1*14.0/3+1e-5)
	if math.Abs(float64(y.Data[0])-want) > 1e-5 || bn.Mean.Data[0] != float32(0.3) {
		t.Errorf("eval output %v want %v; running mean %v", y.Data[0], want, bn.Mean.Data[0])
	}
}

func TestTopK(t *testing.T) {
	logits := tensor.New(3, 2, 1, 1)
	// sample 0: scores 3,1,2 ; sample 1: scores 0,5,1
	copy(logits.Data, []float32{3, 0, 1, 5, 2, 1})
	if got := TopK(logits, []int{0, 2}, 1); got != 1 {
		t.Errorf("top-1 hits %d, want 1", got)
	}
	if got := TopK(logits, []int{0, 2}, 2); got != 2 {
		t.Errorf("top-2 hits %d, want 2", got)
	}
}
