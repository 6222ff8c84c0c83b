package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/nn"

	"github.com/genius-nas/genius/training/tensor"
)

// Result is one comparison of a kernel's output with the CPU engine's.
type Result struct {
	Op    string // what ran, e.g. "batchnorm train act=3 dx"
	DType DType
	Shape string
	// MaxAbs is the largest absolute difference; Ratio is the largest
	// difference over its tolerance (at most 1 passes).
	MaxAbs, Ratio float64
}

// OK reports whether the result is within tolerance.
func (r Result) OK() bool { return r.Ratio <= 1 }

func (r Result) String() string {
	verdict := "ok"
	if !r.OK() {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%-4s %-5s %-44s %-24s max|diff| %.3g (%.2f of tolerance)", verdict, r.DType, r.Op, r.Shape, r.MaxAbs, r.Ratio)
}

// checker runs kernels on a Device and compares them with the CPU engine.
type checker struct {
	d       Device
	rng     *rand.Rand
	cpu     *tensor.CPU
	results []Result
	allocs  []Ptr
}

// Check runs every kernel, forward and backward, in float32 and bf16
// storage, on random shapes drawn from seed, and compares each with the CPU
// engine's op (training/nn, training/tensor, training/optim). bf16 runs
// give the CPU the same bf16-rounded inputs and allow for the output's
// rounding. An error means the device failed, not a mismatch: mismatches
// are Results that are not OK.
func Check(d Device, seed uint64) ([]Result, error) {
	k := &checker{d: d, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), cpu: tensor.NewCPU(tensor.CPUOptions{Workers: 1})}
	defer k.freeAll()
	steps := []func() error{k.conversions, k.layouts, k.activations, k.residual, k.dropout, k.bias, k.batchNorm,
		k.depthwise, k.im2col, k.pooling, k.upsample, k.scale, k.loss, k.topK, k.optimiser, k.gemm, k.asyncWrites}
	for _, step := range steps {
		if err := step(); err != nil {
			return k.results, err
		}
	}
	return k.results, d.Sync()
}

func (k *checker) freeAll() {
	for _, p := range k.allocs {
		k.d.Free(p)
	}
	k.allocs = nil
}

func (k *checker) up(dt DType, v []float32) (Ptr, error) {
	p, err := Upload(k.d, dt, v)
	if err == nil {
		k.allocs = append(k.allocs, p)
	}
	return p, err
}

func (k *checker) ints(v []int) (Ptr, error) {
	p, err := UploadInts(k.d, v)
	if err == nil {
		k.allocs = append(k.allocs, p)
	}
	return p, err
}

func (k *checker) zeros(dt DType, n int) (Ptr, error) { return k.up(dt, make([]float32, n)) }

func (k *checker) down(dt DType, p Ptr, n int) ([]float32, error) {
	if err := k.d.Sync(); err != nil {
		return nil, err
	}
	return Download(k.d, dt, p, n)
}

// random returns n values in [-s, s), rounded to bf16 when dt is BF16 so
// that both sides see the same inputs.
func (k *checker) random(dt DType, n int, s float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*k.rng.Float32() - 1) * s
		if dt == BF16 {
			v[i] = RoundBF16(v[i])
		}
	}
	return v
}

func (k *checker) dim(lo, hi int) int { return lo + k.rng.IntN(hi-lo+1) }

// tolerance is (relative, absolute as a fraction of the reference's
// largest magnitude) for results stored as dt.
func tolerance(dt DType) (rel, abs float64) {
	if dt == BF16 {
		return 1.0 / 64, 1.0 / 128
	}
	return 2e-4, 2e-5
}

// expect downloads len(want) values of p, stored as dt, and compares them
// with want at dt's tolerance.
func (k *checker) expect(op string, dt DType, shape string, p Ptr, want []float32) error {
	return k.expectAs(op, dt, dt, shape, p, want)
}

// expectAs is expect for values stored as stored but held to tol's
// tolerance (float32 statistics of a bf16 layer).
func (k *checker) expectAs(op string, stored, tol DType, shape string, p Ptr, want []float32) error {
	got, err := k.down(stored, p, len(want))
	if err != nil {
		return err
	}
	k.compare(op, tol, shape, got, want)
	return nil
}

// compare records got against want.
func (k *checker) compare(op string, dt DType, shape string, got, want []float32) {
	rel, abs := tolerance(dt)
	var scale float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	r := Result{Op: op, DType: dt, Shape: shape}
	if len(got) != len(want) {
		r.Ratio = math.Inf(1)
	}
	for i := range min(len(got), len(want)) {
		g, w := float64(got[i]), float64(want[i])
		diff := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			diff = math.Inf(1)
		} else if math.IsNaN(g) {
			diff = 0
		}
		r.MaxAbs = math.Max(r.MaxAbs, diff)
		r.Ratio = math.Max(r.Ratio, diff/(abs*scale+rel*math.Abs(w)+1e-30))
	}
	k.results = append(k.results, r)
}

// store rounds v as the kernel's output storage would.
func store(dt DType, v []float32) []float32 {
	if dt == F32 {
		return v
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = RoundBF16(x)
	}
	return out
}

func randTensor(k *checker, dt DType, c, n, h, w int, s float32) *tensor.Tensor {
	t := tensor.New(c, n, h, w)
	copy(t.Data, k.random(dt, len(t.Data), s))
	return t
}

var dtypes = []DType{F32, BF16}

func (k *checker) conversions() error {
	v := k.random(F32, 1000, 100)
	// Halfway cases, both neighbours' parities, infinities, NaN, denormals.
	v = append(v, math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000), math.Float32frombits(0x3f80ffff),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x00000001),
		math.Float32frombits(0x807fffff), 0, float32(math.Copysign(0, -1)), math.MaxFloat32)
	n := len(v)
	src, err := k.up(F32, v)
	if err != nil {
		return err
	}
	mid, err := k.zeros(BF16, n)
	if err != nil {
		return err
	}
	back, err := k.zeros(F32, n)
	if err != nil {
		return err
	}
	if err := Convert(k.d, F32, BF16, n, src, mid); err != nil {
		return err
	}
	if err := Convert(k.d, BF16, F32, n, mid, back); err != nil {
		return err
	}
	got, err := k.down(F32, back, n)
	if err != nil {
		return err
	}
	// Bit-exact: the round trip must equal Go's rounding.
	r := Result{Op: "f32_to_bf16/bf16_to_f32 (bit-exact)", DType: BF16, Shape: fmt.Sprintf("n=%d", n)}
	for i := range v {
		if want := ToBF16(v[i]); ToBF16(got[i]) != want || math.Float32bits(got[i]) != uint32(want)<<16 {
			r.Ratio, r.MaxAbs = math.Inf(1), math.Abs(float64(got[i]-FromBF16(want)))
		}
	}
	k.results = append(k.results, r)
	return nil
}

func (k *checker) layouts() error {
	n, c, h, w := k.dim(1, 5), k.dim(1, 7), k.dim(1, 6), k.dim(1, 6)
	shape := fmt.Sprintf("N=%d C=%d H=%d W=%d", n, c, h, w)
	for _, dt := range dtypes {
		src := k.random(dt, n*c*h*w, 3)
		want := tensor.FromNCHW(src, n, c, h, w)
		ps, err := k.up(F32, src)
		if err != nil {
			return err
		}
		pd, err := k.zeros(dt, len(src))
		if err != nil {
			return err
		}
		if err := FromNCHW(k.d, dt, n, c, h*w, ps, pd); err != nil {
			return err
		}
		if err := k.expect("nchw_to_chwn", dt, shape, pd, want.Data); err != nil {
			return err
		}
		if dt == F32 {
			pb, err := k.zeros(F32, len(src))
			if err != nil {
				return err
			}
			if err := ToNCHW(k.d, n, c, h*w, pd, pb); err != nil {
				return err
			}
			if err := k.expectAs("chwn_to_nchw", F32, dt, shape, pb, want.ToNCHW()); err != nil {
				return err
			}
		}
	}
	return nil
}

func sigmoid(z float32) float32 { return float32(1 / (1 + math.Exp(-float64(z)))) }

func (k *checker) activations() error {
	for _, dt := range dtypes {
		for act := ActNone; act <= ActSigmoid; act++ {
			n := k.dim(1, 3000)
			a, b := 0.5+k.rng.Float32(), k.rng.Float32()-0.5
			x := k.random(dt, n, 8)
			g := k.random(dt, n, 2)
			want, dwant := make([]float32, n), make([]float32, n)
			if act == ActSigmoid {
				for i, v := range x {
					s := sigmoid(a*v + b)
					want[i], dwant[i] = s, g[i]*s*(1-s)
				}
			} else {
				k.cpu.AffineAct(tensor.Act(act), x, want, a, b)
				k.cpu.AffineActGrad(tensor.Act(act), x, g, dwant, a, b, 0)
			}
			px, err := k.up(dt, x)
			if err != nil {
				return err
			}
			pg, err := k.up(dt, g)
			if err != nil {
				return err
			}
			py, err := k.zeros(dt, n)
			if err != nil {
				return err
			}
			pd, err := k.zeros(dt, n)
			if err != nil {
				return err
			}
			if err := ActForward(k.d, dt, act, n, px, py, a, b); err != nil {
				return err
			}
			if err := ActBackward(k.d, dt, act, n, px, pg, pd, a, b); err != nil {
				return err
			}
			shape := fmt.Sprintf("n=%d", n)
			if err := k.expect(fmt.Sprintf("activation %d forward", act), dt, shape, py, want); err != nil {
				return err
			}
			if err := k.expect(fmt.Sprintf("activation %d backward", act), dt, shape, pd, dwant); err != nil {
				return err
			}
		}
	}
	return nil
}

func (k *checker) residual() error {
	for _, dt := range dtypes {
		n := k.dim(1, 5000)
		x, y := k.random(dt, n, 4), k.random(dt, n, 4)
		want := append([]float32(nil), x...)
		k.cpu.Axpby(want, y, 1, 1, 0)
		px, err := k.up(dt, x)
		if err != nil {
			return err
		}
		py, err := k.up(dt, y)
		if err != nil {
			return err
		}
		if err := Add(k.d, dt, n, px, py, px); err != nil {
			return err
		}
		got, err := k.down(dt, px, n)
		if err != nil {
			return err
		}
		k.compare("residual add (in place)", dt, fmt.Sprintf("n=%d", n), got, store(dt, want))
	}
	return nil
}

// bias checks bias add and its gradient against a 1x1 convolution with
// bias: the device adds the bias to the CPU's matrix product.
func (k *checker) bias() error {
	for _, dt := range dtypes {
		// Long rows, so the gradient's sums split into chunks.
		in, out, n, h, w := k.dim(1, 8), k.dim(1, 12), k.dim(1, 6), k.dim(1, 5), k.dim(1, 5)
		if dt == BF16 {
			out, n, h, w = 2, 32, 12, 12
		}
		conv := nn.NewConv(k.cpu, k.rng, nn.ConvSpec{In: in, Out: out, K: 1, Bias: true})
		copy(conv.Params()[1].W, k.random(F32, out, 1))
		x := randTensor(k, dt, in, n, h, w, 2)
		y := conv.Forward(x, true)
		m := n * h * w
		prod := make([]float32, out*m)
		k.cpu.Gemm(false, false, out, m, in, conv.Params()[0].W, in, x.Data, m, prod, m, false)
		py, err := k.up(dt, prod)
		if err != nil {
			return err
		}
		pb, err := k.up(F32, conv.Params()[1].W)
		if err != nil {
			return err
		}
		if err := BiasAdd(k.d, dt, out, m, py, pb); err != nil {
			return err
		}
		shape := fmt.Sprintf("C=%d m=%d", out, m)
		got, err := k.down(dt, py, out*m)
		if err != nil {
			return err
		}
		want := y.Data
		if dt == BF16 {
			// The product was rounded before the bias went on.
			want = make([]float32, len(prod))
			for i := range want {
				want[i] = RoundBF16(RoundBF16(prod[i]) + conv.Params()[1].W[i/m])
			}
		}
		k.compare("bias add (conv 1x1 + bias)", dt, shape, got, want)
		dy := randTensor(k, dt, out, n, h, w, 1)
		conv.Backward(dy)
		pdy, err := k.up(dt, dy.Data)
		if err != nil {
			return err
		}
		pdb, err := k.zeros(F32, out)
		if err != nil {
			return err
		}
		partial, err := k.zeros(F32, out*MaxChunks)
		if err != nil {
			return err
		}
		if err := BiasGrad(k.d, dt, out, m, pdy, partial, pdb); err != nil {
			return err
		}
		if err := k.expect("bias gradient", F32, shape, pdb, conv.Params()[1].G); err != nil {
			return err
		}
	}
	return nil
}
