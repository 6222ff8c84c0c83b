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
}

// DepthwiseArgs is the geometry of a depthwise convolution over CHWN data
// (see the package doc): C channels, each convolved with its own K x K
// filter, padding Pad on every side.
type DepthwiseArgs struct {
	C, N, H, W     int // input
	K, Stride, Pad int
	OH, OW         int // output spatial size
}
