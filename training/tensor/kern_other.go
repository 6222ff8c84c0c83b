//go:build !amd64

package tensor

const haveSIMDKernel = false

func kern8x32(k int, a, b, c *float32, ldc int)                  { panic("tensor: no SIMD kernels") }
func kern8x32Store(k int, a, b, c *float32, ldc int)             { panic("tensor: no SIMD kernels") }
func kern8x32S(k int, a, b, c *float32, ldc int, astep int)      { panic("tensor: no SIMD kernels") }
func kern8x32SStore(k int, a, b, c *float32, ldc int, astep int) { panic("tensor: no SIMD kernels") }
func kern8x32R(k int, a, b, c *float32, ldc int, astep int)      { panic("tensor: no SIMD kernels") }
func kern8x32RStore(k int, a, b, c *float32, ldc int, astep int) { panic("tensor: no SIMD kernels") }

func dwFwdRows(out, xp, w *float32, offs *int, ntaps, nchunks, npix, xstride int) {
	panic("tensor: no SIMD kernels")
}

func dwBwdRows(grad, xp, dxp, w, dwacc *float32, offs *int, ntaps, nchunks, npix, xstride int) {
	panic("tensor: no SIMD kernels")
}
