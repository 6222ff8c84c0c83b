package tensor

// padPlane copies an H x W plane into a zero-bordered (H+2p) x (W+2p) one.
func padPlane(dst, src []float32, h, w, p int) {
	wp := w + 2*p
	clear(dst)
	for i := 0; i < h; i++ {
		copy(dst[(i+p)*wp+p:(i+p)*wp+p+w], src[i*w:(i+1)*w])
	}
}

// DepthwiseForward implements Backend: y (C,N,OH,OW) = x (C,N,H,W)
// convolved per channel with w (C,K,K).
func (c *CPU) DepthwiseForward(a DepthwiseArgs, x, w, y []float32) {
	if c.simd {
		c.depthwiseForwardSIMD(a, x, w, y)
		return
	}
	hp, wp := a.H+2*a.Pad, a.W+2*a.Pad
	ip, op, kk := a.H*a.W, a.OH*a.OW, a.K*a.K
	c.For(a.C, 1, func(lo, hi int) {
		xp := make([]float32, hp*wp)
		for ch := lo; ch < hi; ch++ {
			wk := w[ch*kk : (ch+1)*kk]
			for n := 0; n < a.N; n++ {
				plane := ch*a.N + n
				padPlane(xp, x[plane*ip:(plane+1)*ip], a.H, a.W, a.Pad)
				out := y[plane*op : (plane+1)*op]
				dwForwardPlane(xp, wk, out, wp, a.K, a.Stride, a.OH, a.OW)
			}
		}
	})
}

func dwForwardPlane(xp, wk, out []float32, wp, k, s, oh, ow int) {
	clear(out)
	for kh := 0; kh < k; kh++ {
		for kw := 0; kw < k; kw++ {
			wv := wk[kh*k+kw]
			for i := 0; i < oh; i++ {
				o := out[i*ow : (i+1)*ow]
				base := (i*s+kh)*wp + kw
				if s == 1 {
					src := xp[base : base+ow]
					for j := range o {
						o[j] += wv * src[j]
					}
					continue
				}
				src := xp[base : base+(ow-1)*s+1]
				for j := range o {
					o[j] += wv * src[j*s]
				}
			}
		}
	}
}

// DepthwiseBackward implements Backend.
func (c *CPU) DepthwiseBackward(a DepthwiseArgs, x, w, dy, dx, dw []float32) {
	if c.simd {
		c.depthwiseBackwardSIMD(a, x, w, dy, dx, dw)
		return
	}
	hp, wp := a.H+2*a.Pad, a.W+2*a.Pad
	ip, op, kk := a.H*a.W, a.OH*a.OW, a.K*a.K
	k, s := a.K, a.Stride
	c.For(a.C, 1, func(lo, hi int) {
		xp := make([]float32, hp*wp)
		dxp := make([]float32, hp*wp)
		for ch := lo; ch < hi; ch++ {
			wk := w[ch*kk : (ch+1)*kk]
			dwk := dw[ch*kk : (ch+1)*kk]
			clear(dwk)
			for n := 0; n < a.N; n++ {
				plane := ch*a.N + n
				padPlane(xp, x[plane*ip:(plane+1)*ip], a.H, a.W, a.Pad)
				g := dy[plane*op : (plane+1)*op]
				if dx != nil {
					clear(dxp)
				}
				for kh := 0; kh < k; kh++ {
					for kw := 0; kw < k; kw++ {
						wv := wk[kh*k+kw]
						var acc float32
						for i := 0; i < a.OH; i++ {
							gr := g[i*a.OW : (i+1)*a.OW]
							base := (i*s+kh)*wp + kw
							if s == 1 {
								src := xp[base : base+a.OW]
								for j, gv := range gr {
									acc += gv * src[j]
								}
								if dx != nil {
									d := dxp[base : base+a.OW]
									for j, gv := range gr {
										d[j] += wv * gv
									}
								}
								continue
							}
							for j, gv := range gr {
								acc += gv * xp[base+j*s]
							}
							if dx != nil {
								for j, gv := range gr {
									dxp[base+j*s] += wv * gv
								}
							}
						}
						dwk[kh*k+kw] += acc
					}
				}
				if dx != nil {
					d := dx[plane*ip : (plane+1)*ip]
					for i := 0; i < a.H; i++ {
						copy(d[i*a.W:(i+1)*a.W], dxp[(i+a.Pad)*wp+a.Pad:(i+a.Pad)*wp+a.Pad+a.W])
					}
				}
			}
		}
	})
}
