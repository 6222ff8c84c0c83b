package tensor

const haveSIMDKernel = true

// AVX-512 micro-kernels (kern_amd64.s): C[8 x 32] (row stride ldc floats)
// += (or, for the Store forms, =) A (8 x k) times packed B (k x 32), k >= 1.
// Plain: A packed, 8 floats per k step. S: A strided, 8 contiguous floats
// per k step, astep floats apart. R: A as 8 rows astep floats apart.

//go:noescape
func kern8x32(k int, a, b, c *float32, ldc int)

//go:noescape
func kern8x32Store(k int, a, b, c *float32, ldc int)

//go:noescape
func kern8x32S(k int, a, b, c *float32, ldc int, astep int)

//go:noescape
func kern8x32SStore(k int, a, b, c *float32, ldc int, astep int)

//go:noescape
func kern8x32R(k int, a, b, c *float32, ldc int, astep int)

//go:noescape
func kern8x32RStore(k int, a, b, c *float32, ldc int, astep int)

// dwFwdRows and dwBwdRows are the AVX-512 depthwise kernels (dw_amd64.s).
//
//go:noescape
func dwFwdRows(out, xp, w *float32, offs *int, ntaps, nchunks, npix, xstride int)

//go:noescape
func dwBwdRows(grad, xp, dxp, w, dwacc *float32, offs *int, ntaps, nchunks, npix, xstride int)
