package devnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// Case is a small network Check compares: an architecture of a space.
type Case struct {
	Space string
	Arch  []int
	Opts  networks.Options
}

func (c Case) String() string { return fmt.Sprint(c.Space, c.Arch) }

// Cases is a small network of each classifier space. The architectures
// keep the host emulator's work small while covering every layer kind the
// space uses: plain and strided 1x1, 3x3 and 5x5/7x7 depthwise, residuals
// with and without a shortcut branch, squeeze-excitation, fused and
// separate activations, NAS-Bench-201's every edge operation, and a cell
// whose node 2 feeds nothing (its edge gets a zero gradient).
var Cases = []Case{
	{space.NASBenchMacroName, []int{2, 0, 1, 0, 0, 1, 0, 0}, networks.Options{}},
	{space.ChannelResNetName, []int{0, 0, 0, 0, 0, 0, 0}, networks.Options{}},
	{space.ChannelMobileNetName, []int{0, 0, 0, 0, 0, 0, 0}, networks.Options{}},
	{space.ImageNetName, []int{1, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, networks.Options{}},
	{space.NB201Name, []int{4, 2, 1, 0, 3, 4}, networks.Options{NB201Cells: 1, NB201Channels: 8}},
	{space.NB201Name, []int{2, 2, 0, 0, 4, 0}, networks.Options{NB201Cells: 2, NB201Channels: 4}},
}

// The geometry Check runs: 5 classes, batches of 4 at 32x32 on a network
// compiled for 6 (the layers must index by the batch, not the capacity).
const (
	checkClasses  = 5
	checkBatch    = 4
	checkMaxBatch = 6
	checkSize     = 32
)

// Tolerances. float32: kernels.Check's widened for a network's depth
// (batch norm sums in float64 on the CPU, in float32 blocks on the
// device), relative and absolute as a fraction of the reference's largest
// magnitude. bf16 logits: RMS error relative to the logits' RMS, and each
// logit's error relative to the largest.
const (
	relTol, absTol   = 1e-3, 1e-4
	bf16RMS, bf16Abs = 1.0 / 16, 1.0 / 8
)

// checkNet is a case built on the serial CPU engine and compiled for a
// device, with an input batch on both sides.
type checkNet struct {
	host *networks.Network
	net  *Net
	x    *tensor.Tensor
	px   kernels.Ptr
}

func newCheckNet(dev kernels.Device, dt kernels.DType, c Case) (*checkNet, error) {
	o := c.Opts
	if o.Classes == 0 {
		o.Classes = checkClasses
	}
	if o.Dropout == 0 {
		o.Dropout = -1 // the device's masks are not the CPU's
	}
	host, err := networks.Build(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), c.Space, c.Arch, o)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(7, 7))
	scrambleBatchNorms(host, r)
	cn := &checkNet{host: host}
	if cn.net, err = Compile(dev, dt, host, checkMaxBatch, 3, checkSize, checkSize); err != nil {
		return nil, err
	}
	cn.x = tensor.New(3, checkBatch, checkSize, checkSize)
	for i := range cn.x.Data {
		cn.x.Data[i] = float32(r.NormFloat64())
		if dt == kernels.BF16 {
			cn.x.Data[i] = kernels.RoundBF16(cn.x.Data[i])
		}
	}
	if cn.px, err = cn.net.alloc(dt.Size() * len(cn.x.Data)); err != nil {
		cn.net.Close()
		return nil, err
	}
	if err := dev.Write(cn.px, kernels.Encode(dt, cn.x.Data)); err != nil {
		cn.net.Close()
		return nil, err
	}
	return cn, nil
}

func (cn *checkNet) download(p kernels.Ptr, n int) ([]float32, error) {
	if err := cn.net.Dev.Sync(); err != nil {
		return nil, err
	}
	return kernels.Download(cn.net.Dev, kernels.F32, p, n)
}

// Check runs each of Cases on dev in float32 and in bf16 and compares it
// with the CPU engine: in float32 the logits of a training and an
// evaluation pass, the running statistics the training pass updates, and
// every parameter's gradient; in bf16 the logits. An error means the
// device failed, not a mismatch: mismatches are Results that are not OK.
func Check(dev kernels.Device) ([]kernels.Result, error) {
	var all []kernels.Result
	for _, c := range Cases {
		for _, dt := range []kernels.DType{kernels.F32, kernels.BF16} {
			rs, err := CheckCase(dev, dt, c)
			all = append(all, rs...)
			if err != nil {
				return all, fmt.Errorf("%v %s: %w", c, dt, err)
			}
		}
	}
	return all, nil
}

// CheckCase is Check for one case and storage type.
func CheckCase(dev kernels.Device, dt kernels.DType, c Case) (results []kernels.Result, err error) {
	cn, err := newCheckNet(dev, dt, c)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cn.net.Close()) }()
	name := func(what string) string { return fmt.Sprintf("%s %s", c, what) }
	shape := fmt.Sprintf("N=%d %dx%d", checkBatch, checkSize, checkSize)
	logits := func(train bool) error {
		p, err := cn.net.Forward(cn.px, checkBatch, train)
		if err != nil {
			return err
		}
		got, err := cn.download(p, checkClasses*checkBatch)
		if err != nil {
			return err
		}
		want := cn.host.Forward(cn.x, train).Data
		what := name(fmt.Sprintf("logits train=%v", train))
		if dt == kernels.F32 {
			results = append(results, result(what, dt, shape, got, want, relTol, absTol, maxAbs(want)))
			return nil
		}
		// bf16 keeps 8 bits and the error grows through the depth (most
		// where batch norm normalises a handful of values, as the last
		// layers do at batch 4 and 1x1).
		r := result(what, dt, shape, got, want, 0, bf16Abs, maxAbs(want))
		r.Ratio = math.Max(r.Ratio, relRMS(got, want)/bf16RMS)
		results = append(results, r)
		return nil
	}
	if err := logits(true); err != nil {
		return results, err
	}
	if dt == kernels.F32 {
		if err := cn.checkTraining(name, shape, &results); err != nil {
			return results, err
		}
	}
	return results, logits(false)
}

// checkTraining compares the running statistics of the training pass just
// run, then runs the backward pass on both sides and compares the
// gradients.
func (cn *checkNet) checkTraining(name func(string) string, shape string, results *[]kernels.Result) error {
	n := cn.net
	b, err := cn.download(n.B, n.Buffers.Len)
	if err != nil {
		return err
	}
	var stats []kernels.Result
	for i, buf := range cn.host.Buffers() {
		s := n.Buffers.Slots[i]
		stats = append(stats, result(buf.Name, kernels.F32, shape, b[s.Off:s.Off+s.Len], buf.Data, relTol, absTol, maxAbs(buf.Data)))
	}
	*results = append(*results, summary(name("running statistics"), shape, stats))

	dl := tensor.New(checkClasses, checkBatch, 1, 1)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range dl.Data {
		dl.Data[i] = float32(r.NormFloat64())
	}
	pdl, err := n.alloc(4 * len(dl.Data))
	if err != nil {
		return err
	}
	if err := n.Dev.Write(pdl, kernels.Encode(kernels.F32, dl.Data)); err != nil {
		return err
	}
	// Garbage in G first: Backward must overwrite every gradient.
	junk := make([]float32, n.Params.Len)
	for i := range junk {
		junk[i] = 1e3
	}
	if err := n.Dev.Write(n.G, kernels.Encode(kernels.F32, junk)); err != nil {
		return err
	}
	if err := n.Backward(pdl); err != nil {
		return err
	}
	cn.host.Backward(dl)
	g, err := cn.download(n.G, n.Params.Len)
	if err != nil {
		return err
	}
	// A batch norm's shift and scale gradients are sums over the same
	// values; where the shift's is zero but for rounding (the layer feeds
	// a convolution into a training batch norm, which cancels the mean),
	// the scale's sets the absolute tolerance. Below a thousandth of the
	// network's largest gradient, a gradient is held to that: float32 and
	// float64 sums of cancelling terms differ at that level.
	var largest float64
	for _, p := range cn.host.Params() {
		largest = max(largest, maxAbs(p.G))
	}
	scale := map[*nn.Param]float64{}
	for _, bn := range cn.host.BatchNorms() {
		s := max(maxAbs(bn.Gamma.G), maxAbs(bn.Beta.G))
		scale[bn.Gamma], scale[bn.Beta] = s, s
	}
	var grads []kernels.Result
	for i, p := range cn.host.Params() {
		s := n.Params.Slots[i]
		grads = append(grads, result(p.Name, kernels.F32, shape, g[s.Off:s.Off+s.Len], p.G, relTol, absTol,
			max(scale[p], maxAbs(p.G), largest/1000)))
	}
	*results = append(*results, summary(name("gradients"), shape, grads))
	return nil
}

// summary is one Result for many tensors': the largest difference and
// the worst ratio, naming the tensor it belongs to.
func summary(op, shape string, rs []kernels.Result) kernels.Result {
	sum := kernels.Result{Op: op, DType: kernels.F32, Shape: shape}
	worst := ""
	for _, r := range rs {
		sum.MaxAbs = math.Max(sum.MaxAbs, r.MaxAbs)
		if r.Ratio > sum.Ratio || math.IsNaN(r.Ratio) || worst == "" {
			sum.Ratio, worst = r.Ratio, r.Op
		}
	}
	if worst != "" {
		sum.Op += " (worst " + worst + ")"
	}
	return sum
}

// result compares got with want: the largest difference over rel*|want| +
// abs*scale.
func result(op string, dt kernels.DType, shape string, got, want []float32, rel, abs, scale float64) kernels.Result {
	r := kernels.Result{Op: op, DType: dt, Shape: shape}
	if len(got) != len(want) {
		r.Ratio = math.Inf(1)
		return r
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		if math.IsNaN(g) || math.IsNaN(w) {
			d = math.Inf(1)
		}
		r.MaxAbs = math.Max(r.MaxAbs, d)
		r.Ratio = math.Max(r.Ratio, d/(abs*scale+rel*math.Abs(w)+1e-30))
	}
	return r
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// relRMS is the RMS of got-want over the RMS of want.
func relRMS(got, want []float32) float64 {
	var d, w float64
	for i := range want {
		d += math.Pow(float64(got[i])-float64(want[i]), 2)
		w += math.Pow(float64(want[i]), 2)
	}
	if w == 0 {
		return math.Inf(1)
	}
	return math.Sqrt(d / w)
}

// scrambleBatchNorms moves a network's batch-norm parameters and
// statistics away from 1 and 0, so that a swapped gamma/beta or mean/var
// shows in a comparison.
func scrambleBatchNorms(net *networks.Network, r *rand.Rand) {
	for _, b := range net.BatchNorms() {
		for i := range b.C {
			b.Gamma.W[i] = 0.5 + r.Float32()
			b.Beta.W[i] = 0.2 * (2*r.Float32() - 1)
			b.Mean.Data[i] = 0.1 * (2*r.Float32() - 1)
			b.Var.Data[i] = 0.5 + r.Float32()
		}
	}
}
