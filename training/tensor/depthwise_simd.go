package tensor

// The SIMD depthwise path transposes each channel to batch-innermost order
// (H+2p) x (W+2p) x Np, Np = N rounded up to 16, so that every filter tap
// is a 16-lane multiply-add over the batch instead of a short scalar loop
// over a small feature map (late stages are 2x2 or 1x1).

type dwScratch struct {
	xp, dxp, yT []float32
	offs        []int
	acc         []float32
}

func (a DepthwiseArgs) lanes() int { return (a.N + 15) &^ 15 }

func (a DepthwiseArgs) tapOffsets(buf []int) []int {
	wp, np := a.W+2*a.Pad, a.lanes()
	buf = buf[:0]
	for kh := 0; kh < a.K; kh++ {
		for kw := 0; kw < a.K; kw++ {
			buf = append(buf, (kh*wp+kw)*np)
		}
	}
	return buf
}

// toBatchInner writes channel data (N planes of h x w) into dst, an
// (h+2p) x (w+2p) x np block, zero elsewhere.
func toBatchInner(dst, src []float32, n, h, w, p, np int) {
	clear(dst)
	wp := w + 2*p
	for b := 0; b < n; b++ {
		plane := src[b*h*w : (b+1)*h*w]
		for i := 0; i < h; i++ {
			row := plane[i*w : (i+1)*w]
			base := ((i+p)*wp+p)*np + b
			for j, v := range row {
				dst[base+j*np] = v
			}
		}
	}
}

// fromBatchInner is the inverse of toBatchInner (without the border).
func fromBatchInner(dst, src []float32, n, h, w, p, np int) {
	wp := w + 2*p
	for b := 0; b < n; b++ {
		plane := dst[b*h*w : (b+1)*h*w]
		for i := 0; i < h; i++ {
			row := plane[i*w : (i+1)*w]
			base := ((i+p)*wp+p)*np + b
			for j := range row {
				row[j] = src[base+j*np]
			}
		}
	}
}

func (a DepthwiseArgs) checkSIMD(xp, out []float32) {
	np := a.lanes()
	wp := a.W + 2*a.Pad
	lastX := (((a.OH-1)*a.Stride+a.K-1)*wp+(a.OW-1)*a.Stride+a.K-1)*np + np
	if lastX > len(xp) || a.OH*a.OW*np > len(out) {
		panic("tensor: depthwise geometry does not fit its buffers")
	}
}

func (c *CPU) depthwiseForwardSIMD(a DepthwiseArgs, x, w, y []float32) {
	hp, wp, np := a.H+2*a.Pad, a.W+2*a.Pad, a.lanes()
	ip, op, kk := a.H*a.W, a.OH*a.OW, a.K*a.K
	c.For(a.C, 1, func(lo, hi int) {
		s := c.dwPool.Get().(*dwScratch)
		defer c.dwPool.Put(s)
		s.xp, s.yT = grow(s.xp, hp*wp*np), grow(s.yT, op*np)
		s.offs = a.tapOffsets(s.offs)
		a.checkSIMD(s.xp, s.yT)
		for ch := lo; ch < hi; ch++ {
			toBatchInner(s.xp, x[ch*a.N*ip:(ch+1)*a.N*ip], a.N, a.H, a.W, a.Pad, np)
			for i := 0; i < a.OH; i++ {
				dwFwdRows(&s.yT[i*a.OW*np], &s.xp[i*a.Stride*wp*np], &w[ch*kk], &s.offs[0], kk, np/16, a.OW, a.Stride*np*4)
			}
			fromBatchInner(y[ch*a.N*op:(ch+1)*a.N*op], s.yT, a.N, a.OH, a.OW, 0, np)
		}
	})
}

func (c *CPU) depthwiseBackwardSIMD(a DepthwiseArgs, x, w, dy, dx, dw []float32) {
	hp, wp, np := a.H+2*a.Pad, a.W+2*a.Pad, a.lanes()
	ip, op, kk := a.H*a.W, a.OH*a.OW, a.K*a.K
	c.For(a.C, 1, func(lo, hi int) {
		s := c.dwPool.Get().(*dwScratch)
		defer c.dwPool.Put(s)
		s.xp, s.dxp, s.yT, s.acc = grow(s.xp, hp*wp*np), grow(s.dxp, hp*wp*np), grow(s.yT, op*np), grow(s.acc, kk*16)
		s.offs = a.tapOffsets(s.offs)
		a.checkSIMD(s.xp, s.yT)
		for ch := lo; ch < hi; ch++ {
			toBatchInner(s.xp, x[ch*a.N*ip:(ch+1)*a.N*ip], a.N, a.H, a.W, a.Pad, np)
			toBatchInner(s.yT, dy[ch*a.N*op:(ch+1)*a.N*op], a.N, a.OH, a.OW, 0, np)
			clear(s.dxp)
			clear(s.acc)
			for i := 0; i < a.OH; i++ {
				base := i * a.Stride * wp * np
				dwBwdRows(&s.yT[i*a.OW*np], &s.xp[base], &s.dxp[base], &w[ch*kk], &s.acc[0], &s.offs[0], kk, np/16, a.OW, a.Stride*np*4)
			}
			for t := 0; t < kk; t++ {
				var sum float32
				for _, v := range s.acc[t*16 : t*16+16] {
					sum += v
				}
				dw[ch*kk+t] = sum
			}
			if dx != nil {
				fromBatchInner(dx[ch*a.N*ip:(ch+1)*a.N*ip], s.dxp, a.N, a.H, a.W, a.Pad, np)
			}
		}
	})
}
