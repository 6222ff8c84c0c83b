package tensor

// Act selects the activation of the fused elementwise kernels.
type Act int

// Activation codes.
const (
	ActNone Act = iota
	ActReLU
	ActReLU6
	ActHardSwish
	ActHardSigmoid
)

// The elementwise kernels below work on one contiguous slice each (the
// caller splits work with For). The SIMD versions do 16 lanes at a time
// and leave the tail (len mod 16) to the portable loops.

func simdLen(n int) int { return n &^ 15 }

// AffineAct implements Backend.
func (c *CPU) AffineAct(act Act, src, dst []float32, a, b float32) {
	dst = dst[:len(src)]
	k := 0
	if c.simd {
		if k = simdLen(len(src)); k > 0 {
			affineActAVX(int(act), &src[0], &dst[0], k, a, b)
		}
	}
	affineActGo(act, src[k:], dst[k:], a, b)
}

func affineActGo(act Act, src, dst []float32, a, c float32) {
	for i, v := range src {
		z := a*v + c
		switch act {
		case ActReLU:
			z = max(z, 0)
		case ActReLU6:
			z = min(max(z, 0), 6)
		case ActHardSwish:
			z = z * min(max(z+3, 0), 6) * (1.0 / 6)
		case ActHardSigmoid:
			z = min(max(z+3, 0), 6) * (1.0 / 6)
		}
		dst[i] = z
	}
}

// ActDeriv is the derivative of act at z (the one-sided choices match
// PyTorch: 0 at ReLU's kink, (2z+3)/6 on HardSwish's closed middle).
func ActDeriv(act Act, z float32) float32 {
	switch act {
	case ActNone:
		return 1
	case ActReLU:
		if z > 0 {
			return 1
		}
	case ActReLU6:
		if z > 0 && z < 6 {
			return 1
		}
	case ActHardSwish:
		if z > 3 {
			return 1
		}
		if z >= -3 {
			return z*(1.0/3) + 0.5
		}
	case ActHardSigmoid:
		if z > -3 && z < 3 {
			return 1.0 / 6
		}
	}
	return 0
}

// AffineActGrad implements Backend.
func (c *CPU) AffineActGrad(act Act, x, g, d []float32, a, b, mu float32) (sd, sdx float64) {
	g, d = g[:len(x)], d[:len(x)]
	k := 0
	if c.simd {
		if k = simdLen(len(x)); k > 0 {
			var sums [32]float32
			affineActGradAVX(int(act), &x[0], &g[0], &d[0], k, a, b, mu, &sums[0])
			for j := 0; j < 16; j++ {
				sd += float64(sums[j])
				sdx += float64(sums[16+j])
			}
		}
	}
	for i := k; i < len(x); i++ {
		q := g[i] * ActDeriv(act, a*x[i]+b)
		d[i] = q
		sd += float64(q)
		sdx += float64(q) * float64(x[i]-mu)
	}
	return sd, sdx
}

// Axpby implements Backend.
func (c *CPU) Axpby(d, x []float32, alpha, beta, gamma float32) {
	x = x[:len(d)]
	k := 0
	if c.simd {
		if k = simdLen(len(d)); k > 0 {
			axpbyAVX(&d[0], &x[0], k, alpha, beta, gamma)
		}
	}
	for i := k; i < len(d); i++ {
		d[i] = alpha*d[i] + beta*x[i] + gamma
	}
}

// SumShifted implements Backend.
func (c *CPU) SumShifted(x []float32, shift float32) (s, ss float64) {
	k := 0
	if c.simd {
		if k = simdLen(len(x)); k > 0 {
			var sums [32]float32
			sumShiftedAVX(&x[0], k, shift, &sums[0])
			for j := 0; j < 16; j++ {
				s += float64(sums[j])
				ss += float64(sums[16+j])
			}
		}
	}
	for _, v := range x[k:] {
		d := float64(v - shift)
		s += d
		ss += d * d
	}
	return s, ss
}

// SGDMomentum implements Backend.
func (c *CPU) SGDMomentum(w, g, v []float32, lr, mom, wd, scale float32, nesterov bool) {
	g, v = g[:len(w)], v[:len(w)]
	k := 0
	if c.simd {
		if k = simdLen(len(w)); k > 0 {
			sgdMomentumAVX(&w[0], &g[0], &v[0], k, lr, mom, wd, scale, nesterov)
		}
	}
	for j := k; j < len(w); j++ {
		d := g[j]*scale + wd*w[j]
		v[j] = mom*v[j] + d
		if nesterov {
			w[j] -= lr * (d + mom*v[j])
		} else {
			w[j] -= lr * v[j]
		}
	}
}
