package tensor

const haveSIMDKernel = true

// kern8x32 is the AVX-512 micro-kernel (kern_amd64.s): C[8 x 32] (row
// stride ldc floats) += packed A (k x 8) times packed B (k x 32); k >= 1.
//
//go:noescape
func kern8x32(k int, a, b, c *float32, ldc int)

//go:noescape
func kern8x32Store(k int, a, b, c *float32, ldc int)

func kernSIMD(k int, a, b, c []float32, ldc int) {
	_ = a[k*mr-1]
	_ = b[k*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kern8x32(k, &a[0], &b[0], &c[0], ldc)
}

func kernSIMDStore(k int, a, b, c []float32, ldc int) {
	_ = a[k*mr-1]
	_ = b[k*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kern8x32Store(k, &a[0], &b[0], &c[0], ldc)
}

// dwFwdRows and dwBwdRows are the AVX-512 depthwise kernels over
// batch-innermost planes (dw_amd64.s); see depthwise_simd.go.
//
//go:noescape
func dwFwdRows(out, xp, w *float32, offs *int, ntaps, nchunks, npix, xstride int)

//go:noescape
func dwBwdRows(grad, xp, dxp, w, dwacc *float32, offs *int, ntaps, nchunks, npix, xstride int)
