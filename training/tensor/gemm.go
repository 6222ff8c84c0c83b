package tensor

// Blocking of the packed matrix multiply: an mr x nr tile of C stays in
// registers while the kernel walks kc steps of packed A (mr wide) and packed
// B (nr wide); a kc x nr panel of B (32 KiB) stays in L1 while all row
// panels of A stream past it.
const (
	mr       = 8
	nr       = 32
	kc       = 256
	ncPanels = 8 // B panels packed together per task

	// minParallelMACs is the least work worth splitting across cores:
	// below it the hand-over between cores' caches and the goroutine
	// wake-up cost more than they save.
	minParallelMACs = 1 << 21
)

type gemmScratch struct {
	a, b []float32
	tile [mr * nr]float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Gemm implements Backend.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, cm []float32, ldc int, accumulate bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(cm[i*ldc : i*ldc+n])
			}
		}
		return
	}
	// One bounds check for everything the assembly reads and writes.
	lastA := (m-1)*lda + k - 1
	if transA {
		lastA = (k-1)*lda + m - 1
	}
	lastB := (k-1)*ldb + n - 1
	if transB {
		lastB = (n-1)*ldb + k - 1
	}
	if lastA >= len(a) || lastB >= len(b) || (m-1)*ldc+n-1 >= len(cm) {
		panic("tensor: gemm operands smaller than their dimensions")
	}
	mp := (m + mr - 1) / mr
	np := (n + nr - 1) / nr

	// The SIMD kernels read full row panels of A in place; only a partial
	// last panel is packed (zero-padded). The portable kernel packs all.
	as := c.scratch.Get().(*gemmScratch)
	src := aSource{trans: transA, a: a, lda: lda, k: k, direct: c.simd, full: m / mr}
	if c.simd {
		if src.full < mp {
			as.a = grow(as.a, mr*k)
			packA(transA, m, k, a, lda, as.a, src.full, src.full, mp)
			src.ap = as.a
		}
	} else {
		as.a = grow(as.a, mp*mr*k)
		src.ap = as.a
		c.For(mp, 8, func(lo, hi int) { packA(transA, m, k, a, lda, src.ap, 0, lo, hi) })
		src.full = 0
	}

	// Tasks: groups of B panels; when there are few, split rows too so both
	// workers have work; when even that leaves one task (small m and n, long
	// k: weight gradients of early layers), split k and sum partial results.
	groups := (np + ncPanels - 1) / ncPanels
	rowSplit := 1
	if groups < c.workers && mp >= 2*c.workers {
		rowSplit = c.workers
	}
	tasks := groups * rowSplit
	small := m*n*k < minParallelMACs
	if small {
		tasks = 1
	}
	if tasks == 1 && !small && c.workers > 1 && k >= 2*kc {
		parts := min(c.workers, k/kc)
		partial := c.scratch.Get().(*gemmScratch)
		partial.b = grow(partial.b, (parts-1)*m*n)
		c.For(parts, 1, func(lo, hi int) {
			for q := lo; q < hi; q++ {
				k0, k1 := k*q/parts/kc*kc, k*(q+1)/parts/kc*kc
				if q == parts-1 {
					k1 = k
				}
				if q == 0 {
					c.gemmTask(&src, transB, m, n, b, ldb, cm, ldc, accumulate, 0, np, 0, mp, k0, k1)
				} else {
					c.gemmTask(&src, transB, m, n, b, ldb, partial.b[(q-1)*m*n:q*m*n], n, false, 0, np, 0, mp, k0, k1)
				}
			}
		})
		for q := 1; q < parts; q++ {
			p := partial.b[(q-1)*m*n : q*m*n]
			for i := 0; i < m; i++ {
				d, sr := cm[i*ldc:i*ldc+n], p[i*n:(i+1)*n]
				for j := range d {
					d[j] += sr[j]
				}
			}
		}
		c.scratch.Put(partial)
		c.scratch.Put(as)
		return
	}
	if small {
		c.gemmTask(&src, transB, m, n, b, ldb, cm, ldc, accumulate, 0, np, 0, mp, 0, k)
		c.scratch.Put(as)
		return
	}
	c.For(tasks, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			g, r := t/rowSplit, t%rowSplit
			j0 := g * ncPanels
			c.gemmTask(&src, transB, m, n, b, ldb, cm, ldc, accumulate, j0, min(j0+ncPanels, np), mp*r/rowSplit, mp*(r+1)/rowSplit, 0, k)
		}
	})
	c.scratch.Put(as)
}

// aSource is how the kernels read op(A): panels below full in place
// (direct), the others from ap, packed starting at panel full.
type aSource struct {
	trans  bool
	a      []float32
	lda, k int
	direct bool
	full   int
	ap     []float32
}

// kernel runs the micro-kernel for row panel i over k steps pc..pc+kb.
func (s *aSource) kernel(i, pc, kb int, bpan, dst []float32, ldd int, store bool) {
	if s.direct && i < s.full {
		_ = dst[(mr-1)*ldd+nr-1]
		if s.trans {
			p := &s.a[pc*s.lda+i*mr]
			if store {
				kern8x32SStore(kb, p, &bpan[0], &dst[0], ldd, s.lda)
			} else {
				kern8x32S(kb, p, &bpan[0], &dst[0], ldd, s.lda)
			}
			return
		}
		p := &s.a[i*mr*s.lda+pc]
		if store {
			kern8x32RStore(kb, p, &bpan[0], &dst[0], ldd, s.lda)
		} else {
			kern8x32R(kb, p, &bpan[0], &dst[0], ldd, s.lda)
		}
		return
	}
	apan := s.ap[((i-s.full)*s.k+pc)*mr : ((i-s.full)*s.k+pc+kb)*mr]
	switch {
	case s.direct && store:
		kern8x32Store(kb, &apan[0], &bpan[0], &dst[0], ldd)
	case s.direct:
		kern8x32(kb, &apan[0], &bpan[0], &dst[0], ldd)
	case store:
		kernGoStore(kb, apan, bpan, dst, ldd)
	default:
		kernGo(kb, apan, bpan, dst, ldd)
	}
}

// gemmTask computes the B panels j0..j1 and A panels i0..i1 of C over the
// k range k0..k1 (a multiple of kc apart from the end), on one goroutine.
// The first block of the range overwrites C unless accumulate is set.
func (c *CPU) gemmTask(src *aSource, transB bool, m, n int, b []float32, ldb int, cm []float32, ldc int, accumulate bool, j0, j1, i0, i1, k0, k1 int) {
	s := c.scratch.Get().(*gemmScratch)
	defer c.scratch.Put(s)
	for jb := j0; jb < j1; jb += ncPanels {
		je := min(jb+ncPanels, j1)
		for pc := k0; pc < k1; pc += kc {
			kb := min(kc, k1-pc)
			s.b = grow(s.b, kb*nr*ncPanels)
			store := pc == k0 && !accumulate
			for j := jb; j < je; j++ {
				packB(transB, n, b, ldb, pc, kb, j*nr, s.b[(j-jb)*kb*nr:(j-jb+1)*kb*nr])
			}
			for j := jb; j < je; j++ {
				bpan := s.b[(j-jb)*kb*nr : (j-jb+1)*kb*nr]
				col := j * nr
				for i := i0; i < i1; i++ {
					row := i * mr
					if row+mr <= m && col+nr <= n {
						src.kernel(i, pc, kb, bpan, cm[row*ldc+col:], ldc, store)
						continue
					}
					src.kernel(i, pc, kb, bpan, s.tile[:], nr, true)
					for r := 0; r < mr && row+r < m; r++ {
						dst := cm[(row+r)*ldc+col : (row+r)*ldc+min(col+nr, n)]
						t := s.tile[r*nr : r*nr+len(dst)]
						if store {
							copy(dst, t)
							continue
						}
						for q := range dst {
							dst[q] += t[q]
						}
					}
				}
			}
		}
	}
}

// packA writes row panels lo..hi of op(A) (m x k) as mr-wide columns:
// ap[((panel-base)*k+p)*mr+r] = op(A)[panel*mr+r][p], zero past row m.
func packA(trans bool, m, k int, a []float32, lda int, ap []float32, base, lo, hi int) {
	for pi := lo; pi < hi; pi++ {
		dst := ap[(pi-base)*k*mr : (pi-base+1)*k*mr]
		r0 := pi * mr
		rows := min(mr, m-r0)
		if rows < mr {
			clear(dst)
		}
		if !trans && rows == mr {
			// Eight rows at once: contiguous writes, eight read streams.
			a0, a1, a2, a3 := a[r0*lda:r0*lda+k], a[(r0+1)*lda:(r0+1)*lda+k], a[(r0+2)*lda:(r0+2)*lda+k], a[(r0+3)*lda:(r0+3)*lda+k]
			a4, a5, a6, a7 := a[(r0+4)*lda:(r0+4)*lda+k], a[(r0+5)*lda:(r0+5)*lda+k], a[(r0+6)*lda:(r0+6)*lda+k], a[(r0+7)*lda:(r0+7)*lda+k]
			for p := 0; p < k; p++ {
				d := (*[mr]float32)(dst[p*mr : p*mr+mr])
				d[0], d[1], d[2], d[3] = a0[p], a1[p], a2[p], a3[p]
				d[4], d[5], d[6], d[7] = a4[p], a5[p], a6[p], a7[p]
			}
			continue
		}
		if !trans {
			for r := 0; r < rows; r++ {
				src := a[(r0+r)*lda : (r0+r)*lda+k]
				for p, v := range src {
					dst[p*mr+r] = v
				}
			}
			continue
		}
		for p := 0; p < k; p++ {
			src := a[p*lda+r0 : p*lda+r0+rows]
			d := dst[p*mr : p*mr+rows]
			copy(d, src)
		}
	}
}

// packB writes rows pc..pc+kb of columns col..col+nr of op(B) (k x n) into
// dst as dst[p*nr+t], zero past column n.
func packB(trans bool, n int, b []float32, ldb, pc, kb, col int, dst []float32) {
	cols := min(nr, n-col)
	if !trans {
		for p := 0; p < kb; p++ {
			d := dst[p*nr : p*nr+nr]
			copy(d, b[(pc+p)*ldb+col:(pc+p)*ldb+col+cols])
			if cols < nr {
				clear(d[cols:])
			}
		}
		return
	}
	if cols < nr {
		clear(dst[:kb*nr])
	} else {
		// Transpose in 8x8 blocks: eight read streams, contiguous writes.
		for t0 := 0; t0 < nr; t0 += 8 {
			var src [8][]float32
			for t := range 8 {
				src[t] = b[(col+t0+t)*ldb+pc : (col+t0+t)*ldb+pc+kb]
			}
			for p := 0; p < kb; p++ {
				d := (*[8]float32)(dst[p*nr+t0 : p*nr+t0+8])
				d[0], d[1], d[2], d[3] = src[0][p], src[1][p], src[2][p], src[3][p]
				d[4], d[5], d[6], d[7] = src[4][p], src[5][p], src[6][p], src[7][p]
			}
		}
		return
	}
	for t := 0; t < cols; t++ {
		src := b[(col+t)*ldb+pc : (col+t)*ldb+pc+kb]
		for p, v := range src {
			dst[p*nr+t] = v
		}
	}
}

// kernGoStore is kernGo overwriting C.
func kernGoStore(k int, a, b, c []float32, ldc int) {
	for i := 0; i < mr; i++ {
		clear(c[i*ldc : i*ldc+nr])
	}
	kernGo(k, a, b, c, ldc)
}

// kernGo is the portable micro-kernel: C[mr x nr] (row stride ldc) +=
// packed A (k x mr) times packed B (k x nr).
func kernGo(k int, a, b, c []float32, ldc int) {
	for i := 0; i < mr; i += 2 {
		var acc0, acc1 [nr]float32
		for p := 0; p < k; p++ {
			a0, a1 := a[p*mr+i], a[p*mr+i+1]
			bp := (*[nr]float32)(b[p*nr : p*nr+nr])
			for j := 0; j < nr; j += 4 {
				b0, b1, b2, b3 := bp[j], bp[j+1], bp[j+2], bp[j+3]
				acc0[j] += a0 * b0
				acc0[j+1] += a0 * b1
				acc0[j+2] += a0 * b2
				acc0[j+3] += a0 * b3
				acc1[j] += a1 * b0
				acc1[j+1] += a1 * b1
				acc1[j+2] += a1 * b2
				acc1[j+3] += a1 * b3
			}
		}
		r0 := c[i*ldc : i*ldc+nr]
		r1 := c[(i+1)*ldc : (i+1)*ldc+nr]
		for j := 0; j < nr; j++ {
			r0[j] += acc0[j]
			r1[j] += acc1[j]
		}
	}
}
