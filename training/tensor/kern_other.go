//go:build !amd64

package tensor

const haveSIMDKernel = false

func kernSIMD(k int, a, b, c []float32, ldc int) { kernGo(k, a, b, c, ldc) }

func kernSIMDStore(k int, a, b, c []float32, ldc int) { kernGoStore(k, a, b, c, ldc) }

func dwFwdRows(out, xp, w *float32, offs *int, ntaps, nchunks, npix, xstride int) {
	panic("tensor: no SIMD depthwise kernel on this architecture")
}

func dwBwdRows(grad, xp, dxp, w, dwacc *float32, offs *int, ntaps, nchunks, npix, xstride int) {
	panic("tensor: no SIMD depthwise kernel on this architecture")
}
