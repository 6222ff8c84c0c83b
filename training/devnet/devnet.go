// Package devnet runs a network's forward and backward passes on a
// kernels.Device: the GPU, or the host emulator of the same kernels in
// tests. Compile walks the nn layer tree of a networks.Network once and
// turns it into a tree of nodes that launch kernels over device memory;
// the host network stays the reference for shapes and the home of the
// weights between Pull and Push.
//
// Every parameter lives in one contiguous float32 arena (weights,
// gradients, optimiser velocity, a weight-decay byte per weight), so the
// optimiser, gradient clipping and EMA are one launch each over the whole
// network rather than one per tensor. Batch-norm running statistics live
// in a second arena in the order of Network.Buffers.
//
// Mixed precision: activations, their gradients and the matrix products'
// inputs are stored as the Net's DType; parameters, gradients, batch-norm
// statistics and every accumulation are float32. With bf16 the weights
// feeding matrix products are converted to a bf16 copy at each Forward.
package devnet

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
)

// ErrUnsupported is wrapped by Compile's error for a layer kind the device
// path has no kernels for.
var ErrUnsupported = errors.New("devnet: not supported on the device backend")

// Slot is one host tensor's place in an arena, in floats.
type Slot struct {
	Off, Len int
}

// Arena is float32 device memory holding a list of host tensors back to
// back. Parameter slots start at multiples of SlotAlign floats (aligned
// matrix operands run on the GPU's tensor cores); the gaps between them
// hold zeros in every arena, zero decay bytes, and never get a gradient,
// so whole-arena launches (optimiser, clipping, EMA) leave them at zero.
type Arena struct {
	Len   int // floats
	Slots []Slot
}

// SlotAlign is the alignment, in floats, of each parameter's slot: 16
// bytes in bf16, 32 in float32.
const SlotAlign = 8

// Net is a network compiled for a device.
type Net struct {
	Dev   kernels.Device
	DType kernels.DType
	Host  *networks.Network

	// Params: one Slot per Host.Params() entry, in that order. W, G and V
	// are float32 weights, gradients and velocity; Decay a byte per weight
	// (1 where weight decay applies).
	Params  Arena
	W, G, V kernels.Ptr
	Decay   kernels.Ptr
	// Buffers: one Slot per Host.Buffers() entry (float32).
	Buffers Arena
	B       kernels.Ptr
	// DropoutSeed draws the dropout masks of the next training Forward;
	// the caller changes it for every micro-batch.
	DropoutSeed uint64

	gemm                kernels.Gemmer
	params              []*nn.Param // the arenas' host tensors
	buffers             []*nn.Buffer
	maxBatch, c, h, w   int
	root                node
	out                 shape // the body's output: Classes x 1 x 1
	wdt                 kernels.Ptr
	col, partial, stats kernels.Ptr // scratch shared by the layers
	zeros               kernels.Ptr // never written: a cell's empty sums
	logits, dlogits     kernels.Ptr // float32 logits and dt gradient (bf16 only)
	allocs              []kernels.Ptr
	bytes               int64
	// Gradient values per sample: planned, and a buffer per layer.
	gradValues, gradNaive int
	// Set by Forward for Backward.
	batch   int
	forward bool
}

// Compile uploads net's weights and buffers to dev and prepares the
// launches for batches of up to maxBatch samples of c x h x w. dev must
// have a matrix product (kernels.Gemmer). A layer kind without kernels
// gives an error wrapping ErrUnsupported that names the layer.
func Compile(dev kernels.Device, dt kernels.DType, net *networks.Network, maxBatch, c, h, w int) (*Net, error) {
	g, ok := dev.(kernels.Gemmer)
	if !ok {
		return nil, fmt.Errorf("devnet: device %T has no matrix product (kernels.Gemmer)", dev)
	}
	if maxBatch < 1 || c < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("devnet: compile for batches of %d samples of %dx%dx%d: every size must be at least 1", maxBatch, c, h, w)
	}
	if dt != kernels.F32 && dt != kernels.BF16 {
		return nil, fmt.Errorf("devnet: storage type %v: use f32 or bf16", dt)
	}
	n := &Net{Dev: dev, DType: dt, Host: net, gemm: g, maxBatch: maxBatch, c: c, h: h, w: w,
		params: net.Params(), buffers: net.Buffers()}
	if err := n.compile(); err != nil {
		n.Close()
		return nil, fmt.Errorf("devnet: compile %s for %dx%dx%d: %w", net.Space, c, h, w, err)
	}
	return n, nil
}

func (n *Net) compile() error {
	if err := n.arenas(); err != nil {
		return err
	}
	cp := n.compiler()
	var err error
	n.root, n.out, err = cp.layer(n.Host.Body, shape{n.c, n.h, n.w}, "body")
	if err != nil {
		return err
	}
	if n.out != (shape{n.Host.Classes, 1, 1}) {
		return fmt.Errorf("the network's output is %v, not %d classes x 1 x 1", n.out, n.Host.Classes)
	}
	if err := cp.finish(); err != nil {
		return err
	}
	if n.DType != kernels.F32 {
		k := n.Host.Classes * n.maxBatch
		if n.logits, err = n.alloc(4 * k); err != nil {
			return err
		}
		if n.dlogits, err = n.alloc(n.DType.Size() * k); err != nil {
			return err
		}
	}
	var plan gradPlan
	dx, err := n.root.plan(&plan, external)
	if err != nil {
		return err
	}
	plan.put(dx)
	n.gradValues, n.gradNaive = plan.size(), plan.naive
	return plan.allocate(n)
}

// arenas lays out n.params and n.buffers, allocates the arenas and
// uploads the host's values.
func (n *Net) arenas() error {
	params, buffers := n.params, n.buffers
	n.Params.Slots = make([]Slot, len(params))
	off := 0
	for i, p := range params {
		n.Params.Slots[i] = Slot{Off: off, Len: len(p.W)}
		off += (len(p.W) + SlotAlign - 1) / SlotAlign * SlotAlign
	}
	n.Params.Len = off
	n.Buffers.Slots = make([]Slot, len(buffers))
	off = 0
	for i, b := range buffers {
		n.Buffers.Slots[i] = Slot{Off: off, Len: len(b.Data)}
		off += len(b.Data)
	}
	n.Buffers.Len = off

	var err error
	for _, a := range []struct {
		p     *kernels.Ptr
		bytes int
	}{{&n.W, 4 * n.Params.Len}, {&n.G, 4 * n.Params.Len}, {&n.V, 4 * n.Params.Len}, {&n.Decay, n.Params.Len},
		{&n.B, 4 * n.Buffers.Len}} {
		if *a.p, err = n.alloc(a.bytes); err != nil {
			return err
		}
	}
	n.wdt = n.W
	if n.DType != kernels.F32 {
		if n.wdt, err = n.alloc(n.DType.Size() * n.Params.Len); err != nil {
			return err
		}
	}
	decay := make([]byte, max(n.Params.Len, 1))
	for i, p := range params {
		if p.Decay {
			s := n.Params.Slots[i]
			for j := s.Off; j < s.Off+s.Len; j++ {
				decay[j] = 1
			}
		}
	}
	if err := n.Dev.Write(n.Decay, decay); err != nil {
		return err
	}
	return n.Push()
}

// compiler returns a compiler over the arenas' tensors.
func (n *Net) compiler() *compiler {
	cp := &compiler{net: n, param: map[*nn.Param]int{}, buffer: map[*nn.Buffer]int{}, used: make([]bool, len(n.params))}
	for i, p := range n.params {
		cp.param[p] = i
	}
	for i, b := range n.buffers {
		cp.buffer[b] = i
	}
	return cp
}

// finish checks that the compiled layers use every parameter and
// allocates the scratch they share.
func (cp *compiler) finish() error {
	n := cp.net
	for i, u := range cp.used {
		if !u {
			return fmt.Errorf("parameter %s is not used by any layer the device runs", n.params[i].Name)
		}
	}
	// Scratch shared by all layers: each uses it within one call.
	for _, s := range []struct {
		p     *kernels.Ptr
		bytes int
	}{{&n.col, n.DType.Size() * cp.colLen}, {&n.partial, 4 * cp.partialLen}, {&n.stats, 4 * cp.statsLen},
		{&n.zeros, n.DType.Size() * cp.zerosLen * n.maxBatch}} {
		var err error
		if *s.p, err = n.alloc(max(s.bytes, 4)); err != nil {
			return err
		}
	}
	cp.bindScratch()
	return nil
}

// alloc returns zeroed device memory freed by Close.
func (n *Net) alloc(bytes int) (kernels.Ptr, error) {
	p, err := n.Dev.Alloc(max(bytes, 1))
	if err != nil {
		return 0, err
	}
	n.allocs = append(n.allocs, p)
	n.bytes += int64(max(bytes, 1))
	return p, nil
}

// Bytes is the device memory the Net holds: arenas, activations and their
// gradients for the compiled batch, scratch.
func (n *Net) Bytes() int64 { return n.bytes }

// act returns device memory for a tensor of s per sample at the largest
// batch, stored as the Net's DType.
func (n *Net) act(s shape) (kernels.Ptr, error) {
	return n.alloc(n.DType.Size() * s.size() * n.maxBatch)
}

// param is the address of float f of the W arena (or another float32
// arena at base).
func param(base kernels.Ptr, f int) kernels.Ptr { return base.Add(4 * f) }

// Forward runs the network on x (dt, CHWN, batch samples of the compiled
// c x h x w) and returns the logits: float32, Classes x batch, valid until
// the next Forward. train selects batch statistics (updating the running
// ones) and dropout. x must stay unchanged until Backward, which reads it.
func (n *Net) Forward(x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	n.forward = false
	if batch < 1 || batch > n.maxBatch {
		return 0, fmt.Errorf("devnet: forward of %d samples: the network is compiled for 1..%d", batch, n.maxBatch)
	}
	if n.DType != kernels.F32 {
		if err := kernels.Convert(n.Dev, kernels.F32, n.DType, n.Params.Len, n.W, n.wdt); err != nil {
			return 0, fmt.Errorf("devnet: weights to %s: %w", n.DType, err)
		}
	}
	y, err := n.root.forward(n, x, batch, train)
	if err != nil {
		return 0, fmt.Errorf("devnet: forward: %w", err)
	}
	if n.DType != kernels.F32 {
		if err := kernels.Convert(n.Dev, n.DType, kernels.F32, n.Host.Classes*batch, y, n.logits); err != nil {
			return 0, fmt.Errorf("devnet: logits to f32: %w", err)
		}
		y = n.logits
	}
	n.batch, n.forward = batch, true
	return y, nil
}

// Backward propagates dlogits (float32, Classes x n, for the last
// training Forward) and overwrites every parameter gradient in G.
func (n *Net) Backward(dlogits kernels.Ptr) error {
	if !n.forward {
		return errors.New("devnet: backward without a forward pass before it")
	}
	dy := dlogits
	if n.DType != kernels.F32 {
		if err := kernels.Convert(n.Dev, kernels.F32, n.DType, n.Host.Classes*n.batch, dlogits, n.dlogits); err != nil {
			return fmt.Errorf("devnet: logit gradient to %s: %w", n.DType, err)
		}
		dy = n.dlogits
	}
	if _, err := n.root.backward(n, dy, n.batch); err != nil {
		return fmt.Errorf("devnet: backward: %w", err)
	}
	return nil
}

// Pull copies the device's weights and buffers into the host network's
// Params and Buffers.
func (n *Net) Pull() error {
	if err := n.Params.Download(n.Dev, n.W, n.hostWeights()); err != nil {
		return fmt.Errorf("devnet: pull weights: %w", err)
	}
	if err := n.Buffers.Download(n.Dev, n.B, n.hostBuffers()); err != nil {
		return fmt.Errorf("devnet: pull buffers: %w", err)
	}
	return nil
}

// Push copies the host network's weights and buffers to the device (after
// a checkpoint was restored into it).
func (n *Net) Push() error {
	if err := n.Params.Upload(n.Dev, n.W, n.hostWeights()); err != nil {
		return fmt.Errorf("devnet: push weights: %w", err)
	}
	if err := n.Buffers.Upload(n.Dev, n.B, n.hostBuffers()); err != nil {
		return fmt.Errorf("devnet: push buffers: %w", err)
	}
	return nil
}

func (n *Net) hostWeights() [][]float32 {
	var v [][]float32
	for _, p := range n.params {
		v = append(v, p.W)
	}
	return v
}

func (n *Net) hostBuffers() [][]float32 {
	var v [][]float32
	for _, b := range n.buffers {
		v = append(v, b.Data)
	}
	return v
}

// Download reads the arena at p (float32) into one slice per slot, in slot
// order; each slice must have its slot's length.
func (a Arena) Download(d kernels.Device, p kernels.Ptr, dst [][]float32) error {
	if err := a.fits(dst); err != nil {
		return err
	}
	all, err := kernels.Download(d, kernels.F32, p, a.Len)
	if err != nil {
		return err
	}
	for i, s := range a.Slots {
		copy(dst[i], all[s.Off:s.Off+s.Len])
	}
	return nil
}

// Upload writes one slice per slot to the arena at p (float32); the gaps
// between slots are written as zeros.
func (a Arena) Upload(d kernels.Device, p kernels.Ptr, src [][]float32) error {
	if err := a.fits(src); err != nil {
		return err
	}
	all := make([]float32, a.Len)
	for i, s := range a.Slots {
		copy(all[s.Off:], src[i])
	}
	return d.Write(p, kernels.Encode(kernels.F32, all))
}

func (a Arena) fits(v [][]float32) error {
	if len(v) != len(a.Slots) {
		return fmt.Errorf("%d tensors for an arena of %d", len(v), len(a.Slots))
	}
	for i, s := range a.Slots {
		if len(v[i]) != s.Len {
			return fmt.Errorf("tensor %d has %d values, compiled for %d", i, len(v[i]), s.Len)
		}
	}
	return nil
}

// Close frees the device memory.
func (n *Net) Close() error {
	var errs []error
	for _, p := range n.allocs {
		errs = append(errs, n.Dev.Free(p))
	}
	n.allocs, n.bytes = nil, 0
	n.forward = false
	return errors.Join(errs...)
}
