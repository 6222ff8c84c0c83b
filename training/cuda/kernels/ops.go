package kernels

import (
	"fmt"
	"math"
)

// Block is the threads per block of every launch; the reduction kernels
// need exactly this many (GK_BLOCK in kernels.h).
const Block = 256

// maxGrid caps grid-stride launches: enough blocks to fill a large GPU.
const maxGrid = 4096

// GridLimiter is implemented by a Device that wants fewer blocks per
// launch (the host emulator, where each block costs real barriers). Every
// kernel is correct for any grid.
type GridLimiter interface {
	MaxGrid() int
}

func limit(d Device, g int) int {
	if l, ok := d.(GridLimiter); ok {
		return max(min(g, l.MaxGrid()), 1)
	}
	return g
}

func grid(d Device, n int) int { return limit(d, min(max((n+Block-1)/Block, 1), maxGrid)) }

func rows(d Device, n int) int { return limit(d, min(max(n, 1), 65535)) }

func checkLen(op string, n int) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("kernels: %s over %d elements: more than a C int indexes", op, n)
	}
	return nil
}

// Act is an activation code; 0..4 are tensor.Act's.
type Act int

// Activation codes (activation.h).
const (
	ActNone Act = iota
	ActReLU
	ActReLU6
	ActHardSwish
	ActHardSigmoid
	ActSigmoid
)

// ActForward writes act(a*x + b) into y, n elements.
func ActForward(d Device, dt DType, act Act, n int, x, y Ptr, a, b float32) error {
	if err := checkLen("activation", n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("act_fwd"), grid(d, n), Block, int(act), n, x, y, a, b)
}

// ActBackward writes dy * act'(a*x + b) into dx.
func ActBackward(d Device, dt DType, act Act, n int, x, dy, dx Ptr, a, b float32) error {
	if err := checkLen("activation gradient", n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("act_bwd"), grid(d, n), Block, int(act), n, x, dy, dx, a, b)
}

// Add writes x + y into out (residual connections).
func Add(d Device, dt DType, n int, x, y, out Ptr) error {
	if err := checkLen("add", n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("add"), grid(d, n), Block, n, x, y, out)
}

// DropoutForward writes x scaled by 1/(1-p) into y where the element is
// kept (DropoutKeep(seed, i, p)) and 0 elsewhere, n elements; p is in
// [0, 1). Backward needs the same seed and p: the mask is recomputed, not
// stored. Each forward pass wants a seed of its own, drawn for example
// from the network's generator, which checkpoints keep.
func DropoutForward(d Device, dt DType, n int, x, y Ptr, p float64, seed uint64) error {
	return dropout(d, dt, "dropout", grid(d, n), n, x, y, p, seed)
}

// DropoutBackward writes dy scaled by 1/(1-p) into dx where the forward
// pass with this seed and p kept the element, 0 elsewhere.
func DropoutBackward(d Device, dt DType, n int, dy, dx Ptr, p float64, seed uint64) error {
	return dropout(d, dt, "dropout gradient", grid(d, n), n, dy, dx, p, seed)
}

// dropout launches the kernel over g blocks (any g gives the same result).
func dropout(d Device, dt DType, op string, g, n int, src, dst Ptr, p float64, seed uint64) error {
	if err := checkLen(op, n); err != nil {
		return err
	}
	t, err := dropThreshold(p)
	if err != nil {
		return err
	}
	return d.Launch(dt.suffix("dropout"), g, Block, n, src, dst, int(int32(t)), DropoutScale(p),
		int(int32(uint32(seed))), int(int32(uint32(seed>>32))))
}

// DropoutScale is the factor kept elements are multiplied by, 1/(1-p)
// rounded to float32 as the CPU engine's dropout has it.
func DropoutScale(p float64) float32 { return float32(1 / (1 - p)) }

// dropThreshold is round(p * 2^32): an element is kept when the high 32
// bits of its hash are at least this.
func dropThreshold(p float64) (uint32, error) {
	if !(p >= 0 && p < 1) {
		return 0, fmt.Errorf("kernels: dropout probability %v outside [0, 1)", p)
	}
	return uint32(min(math.Round(p*(1<<32)), math.MaxUint32)), nil
}

// DropoutKeep reports whether dropout with seed and probability p keeps
// element i: the kernels' counter-based hash (dropout.cu), so the host can
// know the mask without reading it back.
func DropoutKeep(seed uint64, i int, p float64) bool {
	t, err := dropThreshold(p)
	if err != nil {
		return false
	}
	return dropoutBits(seed, i) >= t
}

// mix64 is splitmix64's finaliser (dropout.cu).
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// dropoutBits is dropout_bits in dropout.cu: the high half of
// mix64(mix64(seed) + (i+1)*golden ratio).
func dropoutBits(seed uint64, i int) uint32 {
	return uint32(mix64(mix64(seed)+(uint64(i)+1)*0x9e3779b97f4a7c15) >> 32)
}

// BiasAdd adds bias[c] (float32) to each of c rows of m values of y.
func BiasAdd(d Device, dt DType, c, m int, y, bias Ptr) error {
	if err := checkLen("bias", c*m); err != nil {
		return err
	}
	return d.Launch(dt.suffix("bias_add"), grid(d, c*m), Block, c, m, y, bias)
}

// MaxChunks bounds the slices a row is split into for per-channel sums.
const MaxChunks = 64

// chunkLen is the fewest values per slice worth a block of its own.
const chunkLen = 2048

// chunks is how many slices the per-channel reductions split each of c
// rows of m values into: enough blocks to fill a GPU when the channels are
// few and long, one per row otherwise.
func chunks(c, m int) int {
	return max(1, min(MaxChunks, (m+chunkLen-1)/chunkLen, 2048/max(c, 1)))
}

// BiasGrad writes the row sums of dy (c rows of m) into db (float32);
// partial is scratch of c*MaxChunks floats.
func BiasGrad(d Device, dt DType, c, m int, dy, partial, db Ptr) error {
	if err := checkLen("bias gradient", c*m); err != nil {
		return err
	}
	k := chunks(c, m)
	if err := d.Launch(dt.suffix("bias_grad"), rows(d, c*k), Block, c, m, k, dy, partial); err != nil {
		return err
	}
	return d.Launch("chunk_sum", grid(d, c), Block, c, k, partial, db)
}

// Convert copies n values from src stored as from to dst stored as to.
func Convert(d Device, from, to DType, n int, src, dst Ptr) error {
	if err := checkLen("conversion", n); err != nil {
		return err
	}
	switch {
	case from == F32 && to == BF16:
		return d.Launch("f32_to_bf16", grid(d, n), Block, n, src, dst)
	case from == BF16 && to == F32:
		return d.Launch("bf16_to_f32", grid(d, n), Block, n, src, dst)
	}
	return fmt.Errorf("kernels: no conversion from %s to %s", from, to)
}

// FromNCHW lays out float32 images (n, c, hw) as CHWN values stored as dt.
func FromNCHW(d Device, dt DType, n, c, hw int, src, dst Ptr) error {
	if err := checkLen("layout change", n*c*hw); err != nil {
		return err
	}
	return d.Launch(dt.suffix("nchw_to_chwn"), grid(d, n*c*hw), Block, n, c, hw, src, dst)
}

// ToNCHW lays out float32 CHWN values as (n, c, hw).
func ToNCHW(d Device, n, c, hw int, src, dst Ptr) error {
	if err := checkLen("layout change", n*c*hw); err != nil {
		return err
	}
	return d.Launch("chwn_to_nchw_f32", grid(d, n*c*hw), Block, n, c, hw, src, dst)
}

// BatchNorm is the state of one batch-norm layer in device memory, all
// float32: Gamma, Beta, running Mean and Var (C each), the buffers the
// backward pass needs (Mu, Inv: C each), the parameter gradients (DGamma,
// DBeta: C each) and scratch for partial sums (Stats: StatsLen(C)).
type BatchNorm struct {
	C                             int
	Momentum, Eps                 float32
	Act                           Act
	Gamma, Beta, Mean, Var        Ptr
	Mu, Inv, Stats, DGamma, DBeta Ptr
}

// StatsLen is the floats of scratch a batch norm over c channels needs.
func StatsLen(c int) int { return 2 * c * MaxChunks }

// Forward normalises x (C rows of m values) into y. In training it uses
// the batch statistics and updates the running ones (update false leaves
// them to another replica).
func (b *BatchNorm) Forward(d Device, dt DType, train, update bool, m int, x, y Ptr) error {
	if err := checkLen("batch norm", b.C*m); err != nil {
		return err
	}
	if train {
		k := chunks(b.C, m)
		if err := d.Launch(dt.suffix("bn_stats"), rows(d, b.C*k), Block, b.C, m, k, x, b.Mean, b.Stats); err != nil {
			return err
		}
		up := 0
		if update {
			up = 1
		}
		if err := d.Launch("bn_finalize", grid(d, b.C), Block, b.C, k, float32(m), b.Momentum, b.Eps, up, b.Stats,
			b.Mean, b.Var, b.Mu, b.Inv); err != nil {
			return err
		}
	} else if err := d.Launch("bn_eval_prep", grid(d, b.C), Block, b.C, b.Eps, b.Mean, b.Var, b.Mu, b.Inv); err != nil {
		return err
	}
	return d.Launch(dt.suffix("bn_apply"), grid(d, b.C*m), Block, int(b.Act), b.C, m, x, y, b.Gamma, b.Beta, b.Mu, b.Inv)
}

// Backward writes dx and the parameter gradients DGamma, DBeta from dy,
// for the last Forward over x (train says which kind it was).
func (b *BatchNorm) Backward(d Device, dt DType, train bool, m int, x, dy, dx Ptr) error {
	if err := checkLen("batch norm gradient", b.C*m); err != nil {
		return err
	}
	k := chunks(b.C, m)
	if err := d.Launch(dt.suffix("bn_bwd_reduce"), rows(d, b.C*k), Block, int(b.Act), b.C, m, k, x, dy, b.Gamma,
		b.Beta, b.Mu, b.Inv, b.Stats); err != nil {
		return err
	}
	if err := d.Launch("bn_bwd_finalize", grid(d, b.C), Block, b.C, k, b.Stats, b.Inv, b.DGamma, b.DBeta); err != nil {
		return err
	}
	tr := 0
	if train {
		tr = 1
	}
	return d.Launch(dt.suffix("bn_bwd_apply"), grid(d, b.C*m), Block, int(b.Act), tr, b.C, m, float32(m), x, dy, dx,
		b.Gamma, b.Beta, b.Mu, b.Inv, b.DGamma, b.DBeta)
}

// Conv is the geometry of a convolution over CHWN data: C channels of
// H x W x N in, K x K taps, stride, padding, OH x OW out.
type Conv struct {
	C, N, H, W, K, Stride, Pad, OH, OW int
}

// NewConv fills in the output size.
func NewConv(c, n, h, w, k, stride, pad int) Conv {
	return Conv{C: c, N: n, H: h, W: w, K: k, Stride: stride, Pad: pad,
		OH: (h+2*pad-k)/stride + 1, OW: (w+2*pad-k)/stride + 1}
}

func (g Conv) args() []any { return []any{g.C, g.N, g.H, g.W, g.K, g.Stride, g.Pad, g.OH, g.OW} }

func (g Conv) check(op string) error {
	if g.K < 1 || g.Stride < 1 || g.Pad < 0 || g.OH < 1 || g.OW < 1 {
		return fmt.Errorf("kernels: %s: bad geometry %+v", op, g)
	}
	return checkLen(op, max(g.C*g.K*g.K*g.OH*g.OW*g.N, g.C*g.H*g.W*g.N))
}

func (g Conv) launch(d Device, name string, n, grid int, ptrs ...Ptr) error {
	if err := g.check(name); err != nil {
		return err
	}
	args := g.args()
	for _, p := range ptrs {
		args = append(args, p)
	}
	return d.Launch(name, grid, Block, args...)
}

// DepthwiseForward convolves x with the per-channel filters w (float32,
// C x K x K) into y.
func (g Conv) DepthwiseForward(d Device, dt DType, x, w, y Ptr) error {
	n := g.C * g.OH * g.OW * g.N
	return g.launch(d, dt.suffix("dw_fwd"), n, grid(d, n), x, w, y)
}

// DepthwiseBackwardData writes the input gradient dx from dy.
func (g Conv) DepthwiseBackwardData(d Device, dt DType, dy, w, dx Ptr) error {
	n := g.C * g.H * g.W * g.N
	return g.launch(d, dt.suffix("dw_bwd_data"), n, grid(d, n), dy, w, dx)
}

// DepthwiseBackwardFilter writes the filter gradient dw (float32,
// overwritten) from x and dy.
func (g Conv) DepthwiseBackwardFilter(d Device, dt DType, x, dy, dw Ptr) error {
	return g.launch(d, dt.suffix("dw_bwd_filter"), 0, rows(d, g.C*g.K*g.K), x, dy, dw)
}

// Im2col lays x out as C*K*K rows of OH*OW*N columns, the right-hand side
// of the convolution's matrix product.
func (g Conv) Im2col(d Device, dt DType, x, col Ptr) error {
	n := g.C * g.K * g.K * g.OH * g.OW * g.N
	return g.launch(d, dt.suffix("im2col"), n, grid(d, n), x, col)
}

// Col2im sums column gradients back into dx (overwritten).
func (g Conv) Col2im(d Device, dt DType, col, dx Ptr) error {
	n := g.C * g.H * g.W * g.N
	return g.launch(d, dt.suffix("col2im"), n, grid(d, n), col, dx)
}

// PoolForward averages each of C x N feature maps of hw values into y (C x N).
func PoolForward(d Device, dt DType, c, hw, n int, x, y Ptr) error {
	if err := checkLen("pooling", c*hw*n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("gap_fwd"), grid(d, c*n), Block, c, hw, n, x, y)
}

// PoolBackward spreads dy (C x N) evenly over dx.
func PoolBackward(d Device, dt DType, c, hw, n int, dy, dx Ptr) error {
	if err := checkLen("pooling gradient", c*hw*n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("gap_bwd"), grid(d, c*hw*n), Block, c, hw, n, dy, dx)
}

// AvgPoolForward averages g.K x g.K windows of x (stride and padding as
// g's; padded positions not counted) into y, C x OH x OW x N.
func (g Conv) AvgPoolForward(d Device, dt DType, x, y Ptr) error {
	n := g.C * g.OH * g.OW * g.N
	return g.launch(d, dt.suffix("avgpool_fwd"), n, grid(d, n), x, y)
}

// AvgPoolBackward writes the input gradient dx (overwritten) from dy.
func (g Conv) AvgPoolBackward(d Device, dt DType, dy, dx Ptr) error {
	n := g.C * g.H * g.W * g.N
	return g.launch(d, dt.suffix("avgpool_bwd"), n, grid(d, n), dy, dx)
}

// ScaleForward writes x scaled by the gate g (C x N) into y, the output of
// squeeze-excitation.
func ScaleForward(d Device, dt DType, c, hw, n int, x, g, y Ptr) error {
	if err := checkLen("channel scale", c*hw*n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("se_scale_fwd"), grid(d, c*hw*n), Block, c, hw, n, x, g, y)
}

// ScaleBackwardGate writes the gradient at the gate, dg (C x N) = sum over
// positions of x*dy.
func ScaleBackwardGate(d Device, dt DType, c, hw, n int, x, dy, dg Ptr) error {
	if err := checkLen("channel scale gradient", c*hw*n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("se_gate_grad"), grid(d, c*n), Block, c, hw, n, x, dy, dg)
}

// ScaleBackwardData writes the input gradient dx = dy*g + dpool/hw, where
// dpool (C x N) is the gradient the gate's branch returns at the pooled
// values: the scale's and the pooling's gradients in one pass.
func ScaleBackwardData(d Device, dt DType, c, hw, n int, dy, g, dpool, dx Ptr) error {
	if err := checkLen("channel scale gradient", c*hw*n); err != nil {
		return err
	}
	return d.Launch(dt.suffix("se_scale_bwd"), grid(d, c*hw*n), Block, c, hw, n, dy, g, dpool, dx)
}

// SoftmaxCrossEntropy writes per-sample losses (n floats) and the gradient
// of the mean loss at the logits (k x n, float32). labels are n C ints,
// each in 0..k-1 (a label outside gives a NaN loss).
func SoftmaxCrossEntropy(d Device, k, n int, logits, labels Ptr, eps float32, loss, grad Ptr) error {
	if err := checkLen("cross-entropy", k*n); err != nil {
		return err
	}
	return d.Launch("softmax_xent", rows(d, n), Block, k, n, logits, labels, eps, loss, grad)
}

// TopK adds to hits[0] and hits[1] (C ints) the samples whose label is
// among the k1 and k2 highest logits.
func TopK(d Device, k, n int, logits, labels Ptr, k1, k2 int, hits Ptr) error {
	if err := checkLen("top-k", k*n); err != nil {
		return err
	}
	return d.Launch("topk_hits", grid(d, n), Block, k, n, logits, labels, k1, k2, hits)
}

// PartialBlocks is the size (in floats) of the scratch SumSquares needs.
const PartialBlocks = 256

// SumSquares writes sum(g[i]^2) over n floats to out[0], with partial
// holding PartialBlocks floats of scratch. Two passes, no atomics: the
// result is the same on every run.
func SumSquares(d Device, n int, g, partial, out Ptr) error {
	if err := checkLen("sum of squares", n); err != nil {
		return err
	}
	blocks := limit(d, PartialBlocks)
	if err := d.Launch("sumsq_partial", blocks, Block, n, g, partial); err != nil {
		return err
	}
	return Sum(d, blocks, partial, out)
}

// Sum writes the sum of n floats at v to out[0].
func Sum(d Device, n int, v, out Ptr) error {
	if err := checkLen("sum", n); err != nil {
		return err
	}
	return d.Launch("sum_final", 1, Block, n, v, out)
}

// SGD is one optimiser step's settings, as optim.SGDOptions (clipping
// reads the gradients' sum of squares from device memory).
type SGD struct {
	LR, Momentum, WeightDecay, ClipNorm float32
	Nesterov                            bool
}

// Step updates n weights w from gradients g and velocity v; decay holds a
// byte per weight, 1 where weight decay applies. sumsq (a float, from
// SumSquares) is read only when ClipNorm > 0.
func (s SGD) Step(d Device, n int, w, g, v, decay, sumsq Ptr) error {
	if err := checkLen("SGD", n); err != nil {
		return err
	}
	nest := 0
	if s.Nesterov {
		nest = 1
	}
	return d.Launch("sgd_step", grid(d, n), Block, n, w, g, v, decay, s.LR, s.Momentum, s.WeightDecay, s.ClipNorm,
		sumsq, nest)
}

// EMAUpdate folds n live values into their moving average.
func EMAUpdate(d Device, n int, shadow, live Ptr, decay float32) error {
	if err := checkLen("EMA", n); err != nil {
		return err
	}
	return d.Launch("ema_update", grid(d, n), Block, n, shadow, live, decay)
}

// Gemmer is a Device with a matrix product (cuBLAS on the GPU): row-major
// C = op(A) x op(B) (+ C when accumulate), op(A) m x k, op(B) k x n, as
// tensor.Backend.Gemm, with A and B stored as in, C as out, accumulating
// in float32.
type Gemmer interface {
	Gemm(transA, transB bool, m, n, k int, a Ptr, lda int, b Ptr, ldb int, c Ptr, ldc int, accumulate bool, in, out DType) error
}
