package kernels

import (
	"fmt"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/optim"
	"github.com/genius-nas/genius/training/tensor"
)

func (k *checker) labels(classes, n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = k.rng.IntN(classes)
	}
	return l
}

func (k *checker) loss() error {
	for _, classes := range []int{10, k.dim(200, 1000)} {
		for _, eps := range []float64{0, 0.1} {
			n := k.dim(1, 40)
			logits := randTensor(k, F32, classes, n, 1, 1, 6)
			labels := k.labels(classes, n)
			grad := tensor.New(classes, n, 1, 1)
			want, err := nn.SoftmaxCrossEntropy(logits, labels, eps, grad)
			if err != nil {
				return err
			}
			pl, err := k.up(F32, logits.Data)
			if err != nil {
				return err
			}
			py, err := k.ints(labels)
			if err != nil {
				return err
			}
			ploss, err := k.zeros(F32, n)
			if err != nil {
				return err
			}
			pgrad, err := k.zeros(F32, classes*n)
			if err != nil {
				return err
			}
			psum, err := k.zeros(F32, 1)
			if err != nil {
				return err
			}
			if err := SoftmaxCrossEntropy(k.d, classes, n, pl, py, float32(eps), ploss, pgrad); err != nil {
				return err
			}
			if err := Sum(k.d, n, ploss, psum); err != nil {
				return err
			}
			shape := fmt.Sprintf("K=%d N=%d eps=%g", classes, n, eps)
			got, err := k.down(F32, psum, 1)
			if err != nil {
				return err
			}
			k.compare("softmax cross-entropy loss", F32, shape, []float32{got[0] / float32(n)}, []float32{float32(want)})
			if err := k.expect("softmax cross-entropy gradient", F32, shape, pgrad, grad.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *checker) topK() error {
	classes, n := k.dim(5, 120), k.dim(1, 300)
	logits := randTensor(k, F32, classes, n, 1, 1, 4)
	for i := range logits.Data { // coarse values, so ties happen
		logits.Data[i] = float32(int(logits.Data[i]*2)) / 2
	}
	labels := k.labels(classes, n)
	pl, err := k.up(F32, logits.Data)
	if err != nil {
		return err
	}
	py, err := k.ints(labels)
	if err != nil {
		return err
	}
	ph, err := k.ints([]int{0, 0})
	if err != nil {
		return err
	}
	if err := TopK(k.d, classes, n, pl, py, 1, 5, ph); err != nil {
		return err
	}
	if err := k.d.Sync(); err != nil {
		return err
	}
	hits, err := DownloadInts(k.d, ph, 2)
	if err != nil {
		return err
	}
	want := []float32{float32(nn.TopK(logits, labels, 1)), float32(nn.TopK(logits, labels, 5))}
	k.compare("top-1/top-5 hits (exact)", F32, fmt.Sprintf("K=%d N=%d", classes, n),
		[]float32{float32(hits[0]), float32(hits[1])}, want)
	return nil
}

// optimiser checks the gradient norm, SGD steps (plain, momentum,
// Nesterov; with and without clipping and weight decay) and the EMA
// against training/optim on a few parameters of mixed sizes and decay
// flags, flattened as a device backend keeps them.
func (k *checker) optimiser() error {
	cases := []optim.SGDOptions{
		{},
		{Momentum: 0.9, WeightDecay: 5e-4},
		{Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5, ClipNorm: 0.5},
		{WeightDecay: 1e-3, ClipNorm: 1e3},
	}
	for _, o := range cases {
		if err := k.sgd(o); err != nil {
			return err
		}
	}
	return nil
}

func (k *checker) sgd(o optim.SGDOptions) error {
	var params []*nn.Param
	var w, decay []float32
	for range k.dim(1, 5) {
		size := k.dim(1, 3000)
		p := &nn.Param{Name: "p", W: k.random(F32, size, 1), G: k.random(F32, size, 1), Decay: k.rng.IntN(2) == 0}
		params = append(params, p)
		w = append(w, p.W...)
		for range size {
			if p.Decay {
				decay = append(decay, 1)
			} else {
				decay = append(decay, 0)
			}
		}
	}
	n := len(w)
	buffers := []*nn.Buffer{{Name: "b", Data: k.random(F32, 7, 1)}}
	flat := func(f func(p *nn.Param) []float32) []float32 {
		var out []float32
		for _, p := range params {
			out = append(out, f(p)...)
		}
		return out
	}
	pw, err := k.up(F32, w)
	if err != nil {
		return err
	}
	pg, err := k.up(F32, flat(func(p *nn.Param) []float32 { return p.G }))
	if err != nil {
		return err
	}
	pv, err := k.zeros(F32, n)
	if err != nil {
		return err
	}
	mask := make([]byte, n)
	for i, v := range decay {
		mask[i] = byte(v)
	}
	pm, err := k.d.Alloc(n)
	if err != nil {
		return err
	}
	k.allocs = append(k.allocs, pm)
	if err := k.d.Write(pm, mask); err != nil {
		return err
	}
	partial, err := k.zeros(F32, PartialBlocks)
	if err != nil {
		return err
	}
	psq, err := k.zeros(F32, 1)
	if err != nil {
		return err
	}
	shape := fmt.Sprintf("n=%d in %d params", n, len(params))
	// The norm first: the optimiser's clipping depends on it.
	if err := SumSquares(k.d, n, pg, partial, psq); err != nil {
		return err
	}
	sq, err := k.down(F32, psq, 1)
	if err != nil {
		return err
	}
	norm := optim.GradNorm(params)
	k.compare("gradient sum of squares", F32, shape, sq, []float32{float32(norm * norm)})

	ema := optim.NewEMA(params, buffers, 0.999, 1)
	pshadow, err := k.up(F32, flat(func(p *nn.Param) []float32 { return p.W }))
	if err != nil {
		return err
	}
	sgd := optim.NewSGD(k.cpu, params, o)
	step := SGD{LR: 0.05, Momentum: float32(o.Momentum), WeightDecay: float32(o.WeightDecay),
		ClipNorm: float32(o.ClipNorm), Nesterov: o.Nesterov}
	for s := 1; s <= 2; s++ {
		sgd.Step(0.05)
		ema.Update(s, params, buffers)
		if err := SumSquares(k.d, n, pg, partial, psq); err != nil {
			return err
		}
		if err := step.Step(k.d, n, pw, pg, pv, pm, psq); err != nil {
			return err
		}
		if err := EMAUpdate(k.d, n, pshadow, pw, 0.999); err != nil {
			return err
		}
	}
	op := fmt.Sprintf("SGD mom=%g nesterov=%v wd=%g clip=%g", o.Momentum, o.Nesterov, o.WeightDecay, o.ClipNorm)
	if err := k.expect(op+" weights", F32, shape, pw, flat(func(p *nn.Param) []float32 { return p.W })); err != nil {
		return err
	}
	if o.Momentum != 0 {
		var v []float32
		for _, x := range sgd.Velocity {
			v = append(v, x...)
		}
		if err := k.expect(op+" velocity", F32, shape, pv, v); err != nil {
			return err
		}
	}
	var sh []float32
	for _, x := range ema.Params {
		sh = append(sh, x...)
	}
	return k.expect("EMA update", F32, shape, pshadow, sh)
}
