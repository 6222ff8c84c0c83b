package tensor

// Backend runs the kernels whose cost dominates training. Layers hold a
// Backend and never loop over large data themselves except for cheap
// elementwise work, which they split with For.
//
// Slices are host memory today; a device backend would pair this interface
// with device-resident tensors.
type Backend interface {
	// Name identifies the backend in reports ("cpu-avx512", "cpu-go").
	Name() string
	// Workers is the number of parallel workers For uses.
	Workers() int
	// For calls f over a partition of [0, n) into contiguous ranges, in
	// parallel, and returns when all calls have returned. grain is the
	// smallest range worth its own worker.
	For(n, grain int, f func(lo, hi int))
	// Gemm computes C = op(A) x op(B) (+ C when accumulate), row-major,
	// with op(A) m x k and op(B) k x n; transA/transB say that A/B are
	// stored transposed (k x m, n x k). lda, ldb, ldc are row strides.
	Gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool)
	// Depthwise runs a depthwise convolution's forward pass or one of its
	// backward passes; see DepthwiseArgs.
	DepthwiseForward(a DepthwiseArgs, x, w, y []float32)
	// DepthwiseBackward computes dx (when dx != nil) and dw (overwritten)
	// from dy.
	DepthwiseBackward(a DepthwiseArgs, x, w, dy, dx, dw []float32)

	// Scratch lends a buffer of n floats (contents unspecified) for use
	// within one layer call; Release gives it back. Layers use it for
	// large temporaries (im2col columns) so those are not kept per layer.
	Scratch(n int) []float32
	Release(buf []float32)

	// Elementwise kernels on one slice (callers split work with For).

	// AffineAct writes act(a*src + b) into dst (which may be src).
	AffineAct(act Act, src, dst []float32, a, b float32)
	// AffineActGrad writes g * act'(a*x + b) into d (which may be g) and
	// returns sum(d) and sum(d * (x - mu)).
	AffineActGrad(act Act, x, g, d []float32, a, b, mu float32) (sd, sdx float64)
	// Axpby writes alpha*d + beta*x + gamma into d.
	Axpby(d, x []float32, alpha, beta, gamma float32)
	// SumShifted returns sum(x - shift) and sum((x - shift)^2).
	SumShifted(x []float32, shift float32) (s, ss float64)
	// SGDMomentum applies one SGD step with momentum to w:
	// d = g*scale + wd*w; v = mom*v + d; w -= lr*(nesterov ? d + mom*v : v).
	SGDMomentum(w, g, v []float32, lr, mom, wd, scale float32, nesterov bool)
}

// DepthwiseArgs is the geometry of a depthwise convolution over CHWN data
// (see the package doc): C channels, each convolved with its own K x K
// filter, padding Pad on every side.
type DepthwiseArgs struct {
	C, N, H, W     int // input
	K, Stride, Pad int
	OH, OW         int // output spatial size
}
