package kernels

import (
	"fmt"
	"math"
)

// dropout checks dropout by its statistics and its exact values: the CPU
// engine draws its mask from another generator, so the two cannot be
// compared element by element. For each storage type and probability:
// the kept fraction is within 5 standard deviations of the binomial's
// mean; the mask is DropoutKeep's and kept values are exactly x times
// DropoutScale (rounded once to bf16); backward keeps the same elements;
// the same seed gives the same output on any grid; another seed gives
// another mask, differing in about 2p(1-p) of the elements.
func (k *checker) dropout() error {
	for _, dt := range dtypes {
		for _, p := range []float64{0, 0.5, 0.05 + 0.65*k.rng.Float64()} {
			if err := k.dropoutOne(dt, p, k.dim(5000, 20000)); err != nil {
				return err
			}
		}
	}
	return nil
}

// nonzero returns n values with magnitudes in [0.25, 4), so that a zero in
// the output can only be a dropped element.
func (k *checker) nonzero(dt DType, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(0.25 + 3.75*k.rng.Float64())
		if k.rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
		if dt == BF16 {
			v[i] = RoundBF16(v[i])
		}
	}
	return v
}

func (k *checker) dropoutOne(dt DType, p float64, n int) error {
	seed := k.rng.Uint64()
	x, dy := k.nonzero(dt, n), k.nonzero(dt, n)
	px, err := k.up(dt, x)
	if err != nil {
		return err
	}
	pdy, err := k.up(dt, dy)
	if err != nil {
		return err
	}
	out := make([]Ptr, 5) // y, y on one block, y again, dx, y with another seed
	for i := range out {
		if out[i], err = k.zeros(dt, n); err != nil {
			return err
		}
	}
	other := seed + 1
	if err := DropoutForward(k.d, dt, n, px, out[0], p, seed); err != nil {
		return err
	}
	if err := dropout(k.d, dt, "dropout", 1, n, px, out[1], p, seed); err != nil {
		return err
	}
	if err := DropoutForward(k.d, dt, n, px, out[2], p, seed); err != nil {
		return err
	}
	if err := DropoutBackward(k.d, dt, n, pdy, out[3], p, seed); err != nil {
		return err
	}
	if err := DropoutForward(k.d, dt, n, px, out[4], p, other); err != nil {
		return err
	}
	got := make([][]float32, len(out))
	for i, ptr := range out {
		if got[i], err = k.down(dt, ptr, n); err != nil {
			return err
		}
	}
	y, y1, y2, dx, yo := got[0], got[1], got[2], got[3], got[4]
	shape := fmt.Sprintf("n=%d p=%.3f", n, p)
	scale := DropoutScale(p)

	kept := 0
	for _, v := range y {
		if v != 0 {
			kept++
		}
	}
	mean, sd := float64(n)*(1-p), math.Sqrt(float64(n)*p*(1-p))
	k.results = append(k.results, Result{Op: "dropout kept fraction (binomial, 5 sd)", DType: dt, Shape: shape,
		MaxAbs: math.Abs(float64(kept)/float64(n) - (1 - p)), Ratio: math.Abs(float64(kept)-mean) / (5*sd + 1)})

	exact := func(op string, got []float32, want func(i int) float32) {
		r := Result{Op: op, DType: dt, Shape: shape}
		for i, g := range got {
			if w := want(i); math.Float32bits(g) != math.Float32bits(w) {
				r.Ratio = math.Inf(1)
				r.MaxAbs = math.Max(r.MaxAbs, math.Abs(float64(g-w)))
			}
		}
		k.results = append(k.results, r)
	}
	masked := func(v []float32) func(int) float32 {
		return func(i int) float32 {
			if !DropoutKeep(seed, i, p) {
				return 0
			}
			if dt == BF16 {
				return RoundBF16(v[i] * scale)
			}
			return v[i] * scale
		}
	}
	exact("dropout forward: DropoutKeep's mask, x*scale (bit-exact)", y, masked(x))
	exact("dropout backward: forward's mask, dy*scale (bit-exact)", dx, masked(dy))
	exact("dropout same seed, one block (bit-exact)", y1, func(i int) float32 { return y[i] })
	exact("dropout same seed again (bit-exact)", y2, func(i int) float32 { return y[i] })
	if p == 0 {
		exact("dropout p=0 is the identity (bit-exact)", y, func(i int) float32 { return x[i] })
		return nil
	}
	// Another seed: each element's fate differs with probability 2p(1-p).
	differ := 0
	for i := range y {
		if (y[i] != 0) != (yo[i] != 0) {
			differ++
		}
	}
	q := 2 * p * (1 - p)
	mean, sd = float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
	k.results = append(k.results, Result{Op: "dropout another seed: masks differ (binomial, 5 sd)", DType: dt, Shape: shape,
		MaxAbs: math.Abs(float64(differ)/float64(n) - q), Ratio: math.Abs(float64(differ)-mean) / (5*sd + 1)})
	return nil
}
