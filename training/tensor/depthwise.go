package tensor

// Depthwise convolution over CHWN data. Per channel the input is copied
// into a zero-bordered (H+2p) x (W+2p) x N block, after which every output
// pixel is a sum over taps of weight x (a run of N inputs): contiguous
// multiply-adds over the batch. The SIMD path does those runs 16 lanes at a
// time in assembly when N is a multiple of 16.

type dwScratch struct {
	xp, dxp []float32
	offs    []int
	acc     []float32
}

func (a DepthwiseArgs) tapOffsets(buf []int) []int {
	wp := a.W + 2*a.Pad
	buf = buf[:0]
	for kh := 0; kh < a.K; kh++ {
		for kw := 0; kw < a.K; kw++ {
			buf = append(buf, (kh*wp+kw)*a.N)
		}
	}
	return buf
}

// padRows copies one channel (h x w x n) into dst, an (h+2p) x (w+2p) x n
// block with a zero border.
func padRows(dst, src []float32, h, w, n, p int) {
	wp := w + 2*p
	if p > 0 {
		clear(dst)
	}
	for i := 0; i < h; i++ {
		copy(dst[((i+p)*wp+p)*n:((i+p)*wp+p+w)*n], src[i*w*n:(i+1)*w*n])
	}
}

// cropRows is the inverse of padRows.
func cropRows(dst, src []float32, h, w, n, p int) {
	wp := w + 2*p
	for i := 0; i < h; i++ {
		copy(dst[i*w*n:(i+1)*w*n], src[((i+p)*wp+p)*n:((i+p)*wp+p+w)*n])
	}
}

func (c *CPU) dwScratch(a DepthwiseArgs, backward bool) *dwScratch {
	s := c.dwPool.Get().(*dwScratch)
	size := (a.H + 2*a.Pad) * (a.W + 2*a.Pad) * a.N
	s.xp = grow(s.xp, size)
	if backward {
		s.dxp = grow(s.dxp, size)
		s.acc = grow(s.acc, a.K*a.K*16)
	}
	s.offs = a.tapOffsets(s.offs)
	return s
}

func (a DepthwiseArgs) simdOK() bool { return a.N%16 == 0 }

// grain is the number of channels worth a worker of their own (see
// minParallelMACs).
func (a DepthwiseArgs) grain() int { return max(1, minParallelMACs/max(a.OH*a.OW*a.N*a.K*a.K, 1)) }

// DepthwiseForward implements Backend: y (C, OH, OW, N) = x (C, H, W, N)
// convolved per channel with w (C, K, K).
func (c *CPU) DepthwiseForward(a DepthwiseArgs, x, w, y []float32) {
	wp := a.W + 2*a.Pad
	ip, op, kk := a.H*a.W*a.N, a.OH*a.OW*a.N, a.K*a.K
	simd := c.simd && a.simdOK()
	c.For(a.C, a.grain(), func(lo, hi int) {
		s := c.dwScratch(a, false)
		defer c.dwPool.Put(s)
		for ch := lo; ch < hi; ch++ {
			padRows(s.xp, x[ch*ip:(ch+1)*ip], a.H, a.W, a.N, a.Pad)
			out := y[ch*op : (ch+1)*op]
			wk := w[ch*kk : (ch+1)*kk]
			for i := 0; i < a.OH; i++ {
				row := s.xp[i*a.Stride*wp*a.N:]
				orow := out[i*a.OW*a.N : (i+1)*a.OW*a.N]
				if simd {
					a.checkRow(row, orow)
					dwFwdRows(&orow[0], &row[0], &wk[0], &s.offs[0], kk, a.N/16, a.OW, a.Stride*a.N*4)
					continue
				}
				clear(orow)
				for j := 0; j < a.OW; j++ {
					o := orow[j*a.N : (j+1)*a.N]
					base := j * a.Stride * a.N
					for t, off := range s.offs {
						src := row[base+off : base+off+a.N]
						wv := wk[t]
						for n, v := range src {
							o[n] += wv * v
						}
					}
				}
			}
		}
	})
}

// checkRow guards the assembly against a geometry that would read past a
// buffer.
func (a DepthwiseArgs) checkRow(in, out []float32) {
	wp := a.W + 2*a.Pad
	need := ((a.K-1)*wp + (a.OW-1)*a.Stride + a.K) * a.N
	if need > len(in) || a.OW*a.N > len(out) {
		panic("tensor: depthwise geometry does not fit its buffers")
	}
}

// DepthwiseBackward implements Backend.
func (c *CPU) DepthwiseBackward(a DepthwiseArgs, x, w, dy, dx, dw []float32) {
	wp := a.W + 2*a.Pad
	ip, op, kk := a.H*a.W*a.N, a.OH*a.OW*a.N, a.K*a.K
	simd := c.simd && a.simdOK()
	c.For(a.C, a.grain(), func(lo, hi int) {
		s := c.dwScratch(a, true)
		defer c.dwPool.Put(s)
		for ch := lo; ch < hi; ch++ {
			padRows(s.xp, x[ch*ip:(ch+1)*ip], a.H, a.W, a.N, a.Pad)
			clear(s.dxp)
			g := dy[ch*op : (ch+1)*op]
			wk := w[ch*kk : (ch+1)*kk]
			dwk := dw[ch*kk : (ch+1)*kk]
			if simd {
				clear(s.acc)
				for i := 0; i < a.OH; i++ {
					base := i * a.Stride * wp * a.N
					grow := g[i*a.OW*a.N : (i+1)*a.OW*a.N]
					a.checkRow(s.xp[base:], grow)
					a.checkRow(s.dxp[base:], grow)
					dwBwdRows(&grow[0], &s.xp[base], &s.dxp[base], &wk[0], &s.acc[0], &s.offs[0], kk, a.N/16, a.OW, a.Stride*a.N*4)
				}
				for t := 0; t < kk; t++ {
					var sum float32
					for _, v := range s.acc[t*16 : t*16+16] {
						sum += v
					}
					dwk[t] = sum
				}
			} else {
				clear(dwk)
				for i := 0; i < a.OH; i++ {
					for j := 0; j < a.OW; j++ {
						gv := g[(i*a.OW+j)*a.N : (i*a.OW+j+1)*a.N]
						base := (i*a.Stride*wp + j*a.Stride) * a.N
						for t, off := range s.offs {
							src := s.xp[base+off : base+off+a.N]
							d := s.dxp[base+off : base+off+a.N]
							wv := wk[t]
							var acc float32
							for n, v := range gv {
								acc += v * src[n]
								d[n] += wv * v
							}
							dwk[t] += acc
						}
					}
				}
			}
			if dx != nil {
				cropRows(dx[ch*ip:(ch+1)*ip], s.dxp, a.H, a.W, a.N, a.Pad)
			}
		}
	})
}
