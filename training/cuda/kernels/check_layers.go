package kernels

import (
	"fmt"

	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// nnAct is the nn activation for a code (1..4).
func nnAct(a Act) nn.ActKind {
	return [...]nn.ActKind{ActReLU: nn.ReLU, ActReLU6: nn.ReLU6, ActHardSwish: nn.HardSwish, ActHardSigmoid: nn.HardSigmoid}[a]
}

// bnDevice uploads b's parameters and running statistics.
func (k *checker) bnDevice(b *nn.BatchNorm, act Act) (*BatchNorm, error) {
	d := &BatchNorm{C: b.C, Momentum: b.Momentum, Eps: b.Eps, Act: act}
	for _, f := range []struct {
		p *Ptr
		v []float32
	}{{&d.Gamma, b.Gamma.W}, {&d.Beta, b.Beta.W}, {&d.Mean, b.Mean.Data}, {&d.Var, b.Var.Data},
		{&d.Mu, make([]float32, b.C)}, {&d.Inv, make([]float32, b.C)}, {&d.Stats, make([]float32, StatsLen(b.C))},
		{&d.DGamma, make([]float32, b.C)}, {&d.DBeta, make([]float32, b.C)}} {
		p, err := k.up(F32, f.v)
		if err != nil {
			return nil, err
		}
		*f.p = p
	}
	return d, nil
}

func (k *checker) batchNorm() error {
	for _, dt := range dtypes {
		for act := ActNone; act <= ActHardSigmoid; act++ {
			for _, train := range []bool{true, false} {
				c, n, h, w := k.dim(1, 6), k.dim(1, 8), k.dim(1, 7), k.dim(1, 7)
				if err := k.batchNormOne(dt, act, train, c, n, h, w); err != nil {
					return err
				}
			}
		}
		// Few channels with long rows: the sums split into chunks.
		c, n, h, w := k.dim(2, 3), 32, k.dim(12, 16), 16
		if chunks(c, n*h*w) < 2 {
			panic("kernels: batch-norm check shape does not split into chunks")
		}
		if err := k.batchNormOne(dt, ActHardSwish, true, c, n, h, w); err != nil {
			return err
		}
	}
	return nil
}

func (k *checker) batchNormOne(dt DType, act Act, train bool, c, n, h, w int) error {
	var b *nn.BatchNorm
	if act == ActNone {
		b = nn.NewBatchNorm(k.cpu, c)
	} else {
		b = nn.NewBatchNormAct(k.cpu, c, nnAct(act))
	}
	copy(b.Gamma.W, k.random(F32, c, 2))
	copy(b.Beta.W, k.random(F32, c, 1))
	copy(b.Mean.Data, k.random(F32, c, 1))
	for i := range b.Var.Data {
		b.Var.Data[i] = 0.5 + k.rng.Float32()
	}
	x := randTensor(k, dt, c, n, h, w, 3)
	for i := range x.Data { // an offset per channel, as real activations have
		x.Data[i] += float32(i/x.Row()) * 0.5
		if dt == BF16 {
			x.Data[i] = RoundBF16(x.Data[i])
		}
	}
	db, err := k.bnDevice(b, act)
	if err != nil {
		return err
	}
	m := x.Row()
	y := b.Forward(x, train)
	px, err := k.up(dt, x.Data)
	if err != nil {
		return err
	}
	py, err := k.zeros(dt, len(x.Data))
	if err != nil {
		return err
	}
	if err := db.Forward(k.d, dt, train, true, m, px, py); err != nil {
		return err
	}
	mode := "eval"
	if train {
		mode = "train"
	}
	op := fmt.Sprintf("batchnorm %s act=%d", mode, act)
	shape := fmt.Sprintf("C=%d N=%d H=%d W=%d", c, n, h, w)
	if err := k.expect(op+" y", dt, shape, py, y.Data); err != nil {
		return err
	}
	if train {
		if err := k.expect(op+" running mean", F32, shape, db.Mean, b.Mean.Data); err != nil {
			return err
		}
		if err := k.expectAs(op+" running var", F32, statsType(dt), shape, db.Var, b.Var.Data); err != nil {
			return err
		}
	}
	dy := randTensor(k, dt, c, n, h, w, 1)
	dx := b.Backward(dy)
	pdy, err := k.up(dt, dy.Data)
	if err != nil {
		return err
	}
	pdx, err := k.zeros(dt, len(x.Data))
	if err != nil {
		return err
	}
	if err := db.Backward(k.d, dt, train, m, px, pdy, pdx); err != nil {
		return err
	}
	if err := k.expect(op+" dx", dt, shape, pdx, dx.Data); err != nil {
		return err
	}
	if err := k.expectAs(op+" dgamma", F32, statsType(dt), shape, db.DGamma, b.Gamma.G); err != nil {
		return err
	}
	if err := k.expectAs(op+" dbeta", F32, statsType(dt), shape, db.DBeta, b.Beta.G); err != nil {
		return err
	}
	return nil
}

// statsType is the tolerance class of float32 results computed from
// inputs stored as dt: reductions of bf16 data, where the activation's
// derivative can flip at a kink, are checked at bf16 tolerance.
func statsType(dt DType) DType { return dt }

func (k *checker) depthwise() error {
	for _, dt := range dtypes {
		for _, kk := range []int{3, 5, 7} {
			c, n, h, w := k.dim(1, 5), k.dim(1, 5), k.dim(kk/2+1, 11), k.dim(kk/2+1, 11)
			stride := k.dim(1, 2)
			conv := nn.NewConv(k.cpu, k.rng, nn.ConvSpec{In: c, Out: c, K: kk, Stride: stride, Pad: kk / 2, Groups: c})
			wt := conv.Params()[0].W
			g := NewConv(c, n, h, w, kk, stride, kk/2)
			x := randTensor(k, dt, c, n, h, w, 2)
			y := conv.Forward(x, true)
			dy := randTensor(k, dt, c, n, g.OH, g.OW, 1)
			dx := conv.Backward(dy)
			px, err := k.up(dt, x.Data)
			if err != nil {
				return err
			}
			pw, err := k.up(F32, wt)
			if err != nil {
				return err
			}
			py, err := k.zeros(dt, len(y.Data))
			if err != nil {
				return err
			}
			pdy, err := k.up(dt, dy.Data)
			if err != nil {
				return err
			}
			pdx, err := k.zeros(dt, len(x.Data))
			if err != nil {
				return err
			}
			pdw, err := k.zeros(F32, len(wt))
			if err != nil {
				return err
			}
			if err := g.DepthwiseForward(k.d, dt, px, pw, py); err != nil {
				return err
			}
			if err := g.DepthwiseBackwardData(k.d, dt, pdy, pw, pdx); err != nil {
				return err
			}
			if err := g.DepthwiseBackwardFilter(k.d, dt, px, pdy, pdw); err != nil {
				return err
			}
			shape := fmt.Sprintf("C=%d N=%d %dx%d k%d s%d", c, n, h, w, kk, stride)
			if err := k.expect("depthwise forward", dt, shape, py, y.Data); err != nil {
				return err
			}
			if err := k.expect("depthwise input gradient", dt, shape, pdx, dx.Data); err != nil {
				return err
			}
			if err := k.expectAs("depthwise weight gradient", F32, statsType(dt), shape, pdw, conv.Params()[0].G); err != nil {
				return err
			}
		}
	}
	return nil
}

// im2col checks im2col and col2im through a dense k x k convolution: the
// device lays out the columns, the CPU multiplies (cuBLAS does on the GPU),
// and the result must equal nn.Conv's.
func (k *checker) im2col() error {
	for _, dt := range dtypes {
		in, out, n, h, w := k.dim(1, 4), k.dim(1, 6), k.dim(1, 4), k.dim(3, 9), k.dim(3, 9)
		kk, stride := []int{1, 3, 5}[k.rng.IntN(3)], k.dim(1, 2)
		conv := nn.NewConv(k.cpu, k.rng, nn.ConvSpec{In: in, Out: out, K: kk, Stride: stride, Pad: kk / 2})
		wt := conv.Params()[0].W
		if dt == BF16 {
			for i := range wt {
				wt[i] = RoundBF16(wt[i])
			}
		}
		g := NewConv(in, n, h, w, kk, stride, kk/2)
		x := randTensor(k, dt, in, n, h, w, 2)
		y := conv.Forward(x, true)
		dy := randTensor(k, dt, out, n, g.OH, g.OW, 1)
		dx := conv.Backward(dy)
		m, rows := g.OH*g.OW*n, in*kk*kk
		px, err := k.up(dt, x.Data)
		if err != nil {
			return err
		}
		pcol, err := k.zeros(dt, rows*m)
		if err != nil {
			return err
		}
		if err := g.Im2col(k.d, dt, px, pcol); err != nil {
			return err
		}
		col, err := k.down(dt, pcol, rows*m)
		if err != nil {
			return err
		}
		prod := make([]float32, out*m)
		k.cpu.Gemm(false, false, out, m, rows, wt, rows, col, m, prod, m, false)
		shape := fmt.Sprintf("%d->%d N=%d %dx%d k%d s%d", in, out, n, h, w, kk, stride)
		k.compare("im2col (conv forward)", F32, shape, prod, y.Data)
		dcol := make([]float32, rows*m)
		k.cpu.Gemm(true, false, rows, m, out, wt, rows, dy.Data, m, dcol, m, false)
		pdcol, err := k.up(dt, dcol)
		if err != nil {
			return err
		}
		pdx, err := k.zeros(dt, len(x.Data))
		if err != nil {
			return err
		}
		if err := g.Col2im(k.d, dt, pdcol, pdx); err != nil {
			return err
		}
		if err := k.expect("col2im (conv input gradient)", dt, shape, pdx, dx.Data); err != nil {
			return err
		}
	}
	return nil
}

func (k *checker) pooling() error {
	for _, dt := range dtypes {
		c, n, h, w := k.dim(1, 6), k.dim(1, 9), k.dim(1, 9), k.dim(1, 9)
		p := nn.NewGlobalAvgPool(k.cpu)
		x := randTensor(k, dt, c, n, h, w, 3)
		y := p.Forward(x, true)
		dy := randTensor(k, dt, c, n, 1, 1, 1)
		dx := p.Backward(dy)
		py, pdx, err := k.forwardBackward(dt, x, dy, c*n, func(px, py Ptr) error { return PoolForward(k.d, dt, c, h*w, n, px, py) },
			func(pdy, pdx Ptr) error { return PoolBackward(k.d, dt, c, h*w, n, pdy, pdx) })
		if err != nil {
			return err
		}
		shape := fmt.Sprintf("C=%d N=%d H=%d W=%d", c, n, h, w)
		if err := k.expect("global average pool forward", dt, shape, py, y.Data); err != nil {
			return err
		}
		if err := k.expect("global average pool backward", dt, shape, pdx, dx.Data); err != nil {
			return err
		}
	}
	return k.avgPool()
}

// avgPool checks k x k average pooling against nn.AvgPool: the
// NAS-Bench-201 cell's 3x3 (stride 1, padding 1) and its reduction's 2x2
// (stride 2), and an odd case whose windows overhang the edge.
func (k *checker) avgPool() error {
	for _, dt := range dtypes {
		for _, geo := range [][3]int{{3, 1, 1}, {2, 2, 0}, {3, 2, 1}} {
			kk, stride, pad := geo[0], geo[1], geo[2]
			c, n, h, w := k.dim(1, 5), k.dim(1, 6), k.dim(kk, 9), k.dim(kk, 9)
			p := nn.NewAvgPool(k.cpu, kk, stride, pad)
			g := NewConv(c, n, h, w, kk, stride, pad)
			x := randTensor(k, dt, c, n, h, w, 3)
			y := p.Forward(x, true)
			dy := randTensor(k, dt, c, n, g.OH, g.OW, 1)
			dx := p.Backward(dy)
			py, pdx, err := k.forwardBackward(dt, x, dy, len(y.Data), func(px, py Ptr) error { return g.AvgPoolForward(k.d, dt, px, py) },
				func(pdy, pdx Ptr) error { return g.AvgPoolBackward(k.d, dt, pdy, pdx) })
			if err != nil {
				return err
			}
			shape := fmt.Sprintf("C=%d N=%d %dx%d k%d s%d p%d", c, n, h, w, kk, stride, pad)
			if err := k.expect("average pool forward", dt, shape, py, y.Data); err != nil {
				return err
			}
			if err := k.expect("average pool backward", dt, shape, pdx, dx.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// scale checks squeeze-excitation's channel scale: forward as the SE layer
// computes it, the gate gradient, and the input gradient with the pooling
// branch's gradient from nn.GlobalAvgPool.
func (k *checker) scale() error {
	for _, dt := range dtypes {
		c, n, h, w := k.dim(1, 6), k.dim(1, 9), k.dim(1, 8), k.dim(1, 8)
		hw := h * w
		x := randTensor(k, dt, c, n, h, w, 3)
		gate := k.random(dt, c*n, 1)
		dy := randTensor(k, dt, c, n, h, w, 1)
		dpool := randTensor(k, dt, c, n, 1, 1, 1)
		pool := nn.NewGlobalAvgPool(k.cpu)
		pool.Forward(x, true)
		dp := pool.Backward(dpool)
		y, dx := make([]float32, len(x.Data)), make([]float32, len(x.Data))
		dg := make([]float32, c*n)
		for i := range x.Data {
			ch, b := i/(hw*n), i%n
			y[i] = x.Data[i] * gate[ch*n+b]
			dg[ch*n+b] += x.Data[i] * dy.Data[i]
			dx[i] = dy.Data[i]*gate[ch*n+b] + dp.Data[i]
		}
		ptrs := map[string]Ptr{}
		for name, v := range map[string][]float32{"x": x.Data, "g": gate, "dy": dy.Data, "dpool": dpool.Data,
			"y": make([]float32, len(y)), "dx": make([]float32, len(y)), "dg": make([]float32, c*n)} {
			p, err := k.up(dt, v)
			if err != nil {
				return err
			}
			ptrs[name] = p
		}
		if err := ScaleForward(k.d, dt, c, hw, n, ptrs["x"], ptrs["g"], ptrs["y"]); err != nil {
			return err
		}
		if err := ScaleBackwardGate(k.d, dt, c, hw, n, ptrs["x"], ptrs["dy"], ptrs["dg"]); err != nil {
			return err
		}
		if err := ScaleBackwardData(k.d, dt, c, hw, n, ptrs["dy"], ptrs["g"], ptrs["dpool"], ptrs["dx"]); err != nil {
			return err
		}
		shape := fmt.Sprintf("C=%d N=%d H=%d W=%d", c, n, h, w)
		for _, out := range []struct {
			name string
			want []float32
		}{{"y", y}, {"dg", dg}, {"dx", dx}} {
			if err := k.expect("SE channel scale "+out.name, dt, shape, ptrs[out.name], out.want); err != nil {
				return err
			}
		}
	}
	return nil
}

// forwardBackward runs a layer's forward on x and its backward on dy, on
// the device: it uploads both in dt, makes room for the output (ny values)
// and the input gradient, and returns their pointers.
func (k *checker) forwardBackward(dt DType, x, dy *tensor.Tensor, ny int, fwd func(px, py Ptr) error, bwd func(pdy, pdx Ptr) error) (py, pdx Ptr, err error) {
	px, err := k.up(dt, x.Data)
	if err != nil {
		return 0, 0, err
	}
	if py, err = k.zeros(dt, ny); err != nil {
		return 0, 0, err
	}
	pdy, err := k.up(dt, dy.Data)
	if err != nil {
		return 0, 0, err
	}
	if pdx, err = k.zeros(dt, len(x.Data)); err != nil {
		return 0, 0, err
	}
	if err := fwd(px, py); err != nil {
		return 0, 0, err
	}
	return py, pdx, bwd(pdy, pdx)
}
