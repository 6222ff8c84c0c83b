package training

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/devnet"
	"github.com/genius-nas/genius/training/tensor"
)

// Device is an accelerator a Run trains on instead of the CPU: the GPU
// (training/cuda, build tag cuda) or, in tests, the host emulator of the
// same kernels. Parameters, gradients, optimiser state and batch-norm
// statistics live in its memory in float32; activations in DType.
type Device struct {
	Kernels kernels.Device
	DType   kernels.DType
	// Name identifies the device in results and progress ("cuda:0 NVIDIA
	// H100 80GB HBM3", "hostemu").
	Name string
	// SyncWrites copies inputs synchronously even when the device can
	// overlap copies with compute (the GPU check measures both).
	SyncWrites bool
}

// ErrDeviceUnsupported is wrapped by errors for what the device path
// cannot run yet (a layer kind, a setting).
var ErrDeviceUnsupported = devnet.ErrUnsupported

// NewDeviceRun is NewRun on a device: the network is built on the host,
// copied to dev, and every training step, optimiser update and EMA update
// runs there. The host network holds the weights only between a pull
// (Checkpoint) and a push (Restore, LoadBackbone), so checkpoints are the
// CPU's and resume on either backend.
func NewDeviceRun(dev *Device, cfg Config, classes, stepsPerEpoch int) (*Run, error) {
	if dev == nil || dev.Kernels == nil {
		return nil, errors.New("training: NewDeviceRun without a device")
	}
	cfg = cfg.withDefaults()
	// The host network only builds and stores the weights: one serial
	// worker is plenty.
	host := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	cfg.Replicas = 1
	r, err := newRun(host, cfg, classes, stepsPerEpoch, -1)
	if err != nil {
		return nil, err
	}
	e, err := newDeviceEngine(dev, r)
	if err != nil {
		return nil, err
	}
	r.dev = e
	return r, nil
}

// deviceEngine is a Run's state on a device.
//
// The host queues work and reads results once per optimiser step (and
// once per loader batch in evaluation): micro-batch inputs go to two
// slots in turn, through the device's AsyncWriter when it has one, so the
// next micro-batch is copied while the device still computes this one,
// and each micro-batch's loss sum waits in its own float on the device.
type deviceEngine struct {
	dev *Device
	d   kernels.Device
	net *devnet.Net

	micro, classes int
	part           int // the micro-batch's index in its batch
	// in are the two input slots, labels (C ints, padded to inLabels
	// bytes) then the images; slot is the one the next upload writes.
	in       [2]kernels.Ptr
	slot     int
	inLabels int
	async    kernels.AsyncWriter // nil: synchronous writes
	host     []byte              // the encoded micro-batch
	x, y     kernels.Ptr         // the micro-batch in flight: images, labels
	loss     kernels.Ptr         // per-sample losses
	dlogits  kernels.Ptr
	// sums holds maxSums floats: the loss sums of the step's (or the
	// loader batch's) micro-batches not yet read, described by pending.
	sums    kernels.Ptr
	maxSums int
	pending []pendingSum
	read    []float32
	sum     kernels.Ptr // one float: the gradients' sum of squares
	partial kernels.Ptr // kernels.PartialBlocks floats
	hits    kernels.Ptr // two ints
	acc     kernels.Ptr // gradient sum of a batch's earlier micro-batches
	// stepLoss is the step's loss so far; stepErr and badLoss the first
	// micro-batch whose mean loss is not finite.
	stepLoss, badLoss float64
	stepErr           error
	times             DeviceTimes
	// EMA shadows of the weights and of the buffers, and room to park
	// the live ones while the averaged network is evaluated.
	emaW, emaB, liveW, liveB kernels.Ptr
	allocs                   []kernels.Ptr
}

// pendingSum is a micro-batch whose loss sum is still on the device.
type pendingSum struct {
	n      int
	weight float64
}

// DeviceTimes split a device run's host time, for reading throughput:
// Upload is encoding micro-batches and queuing their copies, Wait is
// blocking on the device for results. Wait near zero means the device
// waits for the host.
type DeviceTimes struct {
	Upload, Wait time.Duration
}

// DeviceTimes returns the host time the run has spent so far uploading
// and waiting on its device (zero for a CPU run).
func (r *Run) DeviceTimes() DeviceTimes {
	if r.dev == nil {
		return DeviceTimes{}
	}
	return r.dev.times
}

func newDeviceEngine(dev *Device, r *Run) (_ *deviceEngine, err error) {
	cfg := r.Config
	e := &deviceEngine{dev: dev, d: dev.Kernels, micro: cfg.Micro(), classes: r.Net.Classes}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.net, err = devnet.Compile(e.d, dev.DType, r.Net, e.micro, 3, cfg.Input, cfg.Input)
	if err != nil {
		return nil, e.memoryError(err, cfg)
	}
	np, nb := e.net.Params.Len, e.net.Buffers.Len
	// A step's micro-batches each hold a sample; a TrainStep over a
	// larger batch reads its sums when they fill up.
	e.maxSums = max(cfg.Batch, 1)
	e.inLabels = (4*e.micro + 255) &^ 255
	inBytes := e.inLabels + 3*cfg.Input*cfg.Input*e.micro*dev.DType.Size()
	for _, a := range []struct {
		p     *kernels.Ptr
		bytes int
	}{
		{&e.in[0], inBytes},
		{&e.in[1], inBytes},
		{&e.loss, 4 * e.micro},
		{&e.dlogits, 4 * e.classes * e.micro},
		{&e.sums, 4 * e.maxSums},
		{&e.sum, 4},
		{&e.partial, 4 * kernels.PartialBlocks},
		{&e.hits, 8},
		{&e.acc, 4 * np},
	} {
		if *a.p, err = e.alloc(a.bytes); err != nil {
			return nil, e.memoryError(err, cfg)
		}
	}
	if !dev.SyncWrites {
		e.async, _ = e.d.(kernels.AsyncWriter)
	}
	if r.EMA != nil {
		for _, a := range []struct {
			p     *kernels.Ptr
			bytes int
		}{{&e.emaW, 4 * np}, {&e.emaB, 4 * nb}, {&e.liveW, 4 * np}, {&e.liveB, 4 * nb}} {
			if *a.p, err = e.alloc(a.bytes); err != nil {
				return nil, e.memoryError(err, cfg)
			}
		}
		if err := e.copy(np, e.net.W, e.emaW); err != nil {
			return nil, err
		}
		if err := e.copy(nb, e.net.B, e.emaB); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *deviceEngine) alloc(bytes int) (kernels.Ptr, error) {
	p, err := e.d.Alloc(max(bytes, 4))
	if err == nil {
		e.allocs = append(e.allocs, p)
	}
	return p, err
}

func (e *deviceEngine) close() {
	for _, p := range e.allocs {
		_ = e.d.Free(p)
	}
	e.allocs = nil
	if e.net != nil {
		_ = e.net.Close()
	}
}

// memoryError names the micro-batch to try when the device ran out of
// memory building the run.
func (e *deviceEngine) memoryError(err error, cfg Config) error {
	if !errors.Is(err, kernels.ErrOutOfMemory) {
		return fmt.Errorf("training on %s: %w", e.dev.Name, err)
	}
	if e.micro > 1 {
		return settingError("MicroBatch", "%s ran out of memory for a micro-batch of %d (batch %d): set a micro-batch of %d or less (%w)",
			e.dev.Name, e.micro, cfg.Batch, e.micro/2, err)
	}
	return fmt.Errorf("training on %s: out of memory even for one sample at %d px: %w", e.dev.Name, cfg.Input, err)
}

// copy copies n floats from src to dst on the device.
func (e *deviceEngine) copy(n int, src, dst kernels.Ptr) error {
	if n == 0 {
		return nil
	}
	return kernels.ActForward(e.d, kernels.F32, kernels.ActNone, n, src, dst, 1, 0)
}

// upload writes a micro-batch and its labels to the next input slot and
// points e.x and e.y at them.
func (e *deviceEngine) upload(x *tensor.Tensor, labels []int) error {
	if x.N > e.micro {
		return fmt.Errorf("training: a batch of %d on a device run built for micro-batches of %d", x.N, e.micro)
	}
	start := time.Now()
	defer func() { e.times.Upload += time.Since(start) }()
	n := e.inLabels + x.Len()*e.dev.DType.Size()
	if cap(e.host) < n {
		e.host = make([]byte, n)
	}
	b := e.host[:n]
	for i, l := range labels {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(l)))
	}
	encode(e.dev.DType, b[e.inLabels:], x.Data[:x.Len()])
	p := e.in[e.slot]
	e.slot ^= 1
	var err error
	if e.async != nil {
		err = e.async.WriteAsync(p, b)
	} else {
		err = e.d.Write(p, b)
	}
	if err != nil {
		return err
	}
	e.y, e.x = p, p.Add(e.inLabels)
	return nil
}

// encode is kernels.EncodeTo, spread over the cores for a large batch:
// it is the host's share of every micro-batch.
func encode(dt kernels.DType, b []byte, v []float32) {
	const chunk = 1 << 18
	if len(v) <= chunk {
		kernels.EncodeTo(dt, b, v)
		return
	}
	var wg sync.WaitGroup
	for lo := 0; lo < len(v); lo += chunk {
		hi := min(lo+chunk, len(v))
		wg.Add(1)
		go func() {
			defer wg.Done()
			kernels.EncodeTo(dt, b[lo*dt.Size():], v[lo:hi])
		}()
	}
	wg.Wait()
}

// sumLoss queues the sum of the n per-sample losses into the next free
// float of e.sums, reading the earlier ones first when they are all used.
func (e *deviceEngine) sumLoss(n int, weight float64, flush func() error) error {
	if len(e.pending) == e.maxSums {
		if err := flush(); err != nil {
			return err
		}
	}
	if err := kernels.Sum(e.d, n, e.loss, e.sums.Add(4*len(e.pending))); err != nil {
		return err
	}
	e.pending = append(e.pending, pendingSum{n: n, weight: weight})
	return nil
}

// readSums waits for the device and returns the pending loss sums, in
// the order they were queued; the caller empties e.pending.
func (e *deviceEngine) readSums() ([]float32, error) {
	start := time.Now()
	defer func() { e.times.Wait += time.Since(start) }()
	k := len(e.pending)
	if err := e.d.Sync(); err != nil {
		return nil, fmt.Errorf("training on %s: %w", e.dev.Name, err)
	}
	if k == 0 {
		return nil, nil
	}
	if cap(e.read) < k {
		e.read = make([]float32, k)
	}
	b := make([]byte, 4*k)
	if err := e.d.Read(b, e.sums); err != nil {
		return nil, fmt.Errorf("training on %s: %w", e.dev.Name, err)
	}
	v := e.read[:k]
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// flushStep reads the step's pending loss sums into e.stepLoss: each
// micro-batch's mean loss times its weight, added in order as the CPU
// path adds them, and the first non-finite mean is the step's error.
func (e *deviceEngine) flushStep(r *Run) error {
	sums, err := e.readSums()
	if err != nil {
		e.pending = e.pending[:0]
		return err
	}
	for i, s := range sums {
		l := float64(s) / float64(e.pending[i].n)
		if e.stepErr == nil {
			e.stepErr, e.badLoss = checkLoss(l, r.Step, r.Config.LR), l
		}
		e.stepLoss += l * e.pending[i].weight
	}
	e.pending = e.pending[:0]
	return nil
}

// accumulate is Run.accumulate on the device: forward, loss, backward,
// and the fold of the micro-batch's gradients into the batch's. Nothing
// waits for the device: the loss is read by update.
func (e *deviceEngine) accumulate(r *Run, x *tensor.Tensor, labels []int, weight float64, first, last bool) error {
	n := x.N
	if first {
		e.part = 0
		e.pending = e.pending[:0]
		e.stepLoss, e.stepErr = 0, nil
	}
	if err := e.upload(x, labels); err != nil {
		return err
	}
	// Masks follow from the seed, the step and the micro-batch, all of
	// which a checkpoint restores, so a resumed run drops what an
	// uninterrupted one would.
	e.net.DropoutSeed = mix(r.Config.Seed, uint64(r.Step), uint64(e.part))
	e.part++
	logits, err := e.net.Forward(e.x, n, true)
	if err != nil {
		return err
	}
	if err := kernels.SoftmaxCrossEntropy(e.d, e.classes, n, logits, e.y, float32(r.Config.LabelSmoothing), e.loss, e.dlogits); err != nil {
		return err
	}
	if weight != 1 {
		if err := kernels.ActForward(e.d, kernels.F32, kernels.ActNone, e.classes*n, e.dlogits, e.dlogits, float32(weight), 0); err != nil {
			return err
		}
	}
	if err := e.net.Backward(e.dlogits); err != nil {
		return err
	}
	np := e.net.Params.Len
	switch {
	case first && last:
	case first:
		err = e.copy(np, e.net.G, e.acc)
	case last:
		err = kernels.Add(e.d, kernels.F32, np, e.net.G, e.acc, e.net.G)
	default:
		err = kernels.Add(e.d, kernels.F32, np, e.acc, e.net.G, e.acc)
	}
	if err != nil {
		return err
	}
	return e.sumLoss(n, weight, func() error { return e.flushStep(r) })
}

// update reads the step's loss (the batch's mean), then takes the
// optimiser step (with clipping) and the EMA update unless the loss is not
// finite.
func (e *deviceEngine) update(r *Run, lr float64, step int) (float64, error) {
	if err := e.flushStep(r); err != nil {
		return 0, err
	}
	if e.stepErr != nil {
		return e.badLoss, e.stepErr
	}
	return e.stepLoss, e.step(r, lr, step)
}

// step is the optimiser step (with clipping) and the EMA update.
func (e *deviceEngine) step(r *Run, lr float64, step int) error {
	o := r.Opt.Options
	np := e.net.Params.Len
	if o.ClipNorm > 0 {
		if err := kernels.SumSquares(e.d, np, e.net.G, e.partial, e.sum); err != nil {
			return err
		}
	}
	sgd := kernels.SGD{LR: float32(lr), Momentum: float32(o.Momentum), WeightDecay: float32(o.WeightDecay),
		ClipNorm: float32(o.ClipNorm), Nesterov: o.Nesterov}
	if err := sgd.Step(e.d, np, e.net.W, e.net.G, e.net.V, e.net.Decay, e.sum); err != nil {
		return err
	}
	if r.EMA != nil && step%r.EMA.Interval == 0 {
		d := float32(r.EMA.Decay)
		if err := kernels.EMAUpdate(e.d, np, e.emaW, e.net.W, d); err != nil {
			return err
		}
		if nb := e.net.Buffers.Len; nb > 0 {
			if err := kernels.EMAUpdate(e.d, nb, e.emaB, e.net.B, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// swapEMA exchanges the live and the averaged weights and buffers on the
// device (live ones parked in liveW/liveB), as optim.EMA.Swap does.
func (e *deviceEngine) swapEMA(toAverage bool) error {
	np, nb := e.net.Params.Len, e.net.Buffers.Len
	if toAverage {
		for _, c := range [][3]any{{np, e.net.W, e.liveW}, {nb, e.net.B, e.liveB}, {np, e.emaW, e.net.W}, {nb, e.emaB, e.net.B}} {
			if err := e.copy(c[0].(int), c[1].(kernels.Ptr), c[2].(kernels.Ptr)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := e.copy(np, e.liveW, e.net.W); err != nil {
		return err
	}
	return e.copy(nb, e.liveB, e.net.B)
}

// evaluate queues one eval-mode micro-batch of a loader batch (first and
// last say where it is in it). At the last it waits for the device and
// returns the summed loss of each micro-batch, in order, and the loader
// batch's top-1 and top-5 hits; before, nothing.
func (e *deviceEngine) evaluate(x *tensor.Tensor, labels []int, first, last bool) (losses []float64, h1, h5 int, err error) {
	n := x.N
	if first {
		e.pending = e.pending[:0]
		// A synchronous write, after the previous loader batch was read:
		// the device has little or nothing left to do.
		if err := e.d.Write(e.hits, make([]byte, 8)); err != nil {
			return nil, 0, 0, err
		}
	}
	if err := e.upload(x, labels); err != nil {
		return nil, 0, 0, err
	}
	logits, err := e.net.Forward(e.x, n, false)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := kernels.SoftmaxCrossEntropy(e.d, e.classes, n, logits, e.y, 0, e.loss, e.dlogits); err != nil {
		return nil, 0, 0, err
	}
	if err := kernels.TopK(e.d, e.classes, n, logits, e.y, 1, min(5, e.classes), e.hits); err != nil {
		return nil, 0, 0, err
	}
	var early []float32
	if err := e.sumLoss(n, 1, func() error {
		s, err := e.readSums()
		e.pending = e.pending[:0]
		early = append(early, s...)
		return err
	}); err != nil {
		return nil, 0, 0, err
	}
	if !last {
		for _, s := range early {
			losses = append(losses, float64(s))
		}
		return losses, 0, 0, nil
	}
	sums, err := e.readSums()
	e.pending = e.pending[:0]
	if err != nil {
		return nil, 0, 0, err
	}
	for _, s := range append(early, sums...) {
		losses = append(losses, float64(s))
	}
	hits, err := kernels.DownloadInts(e.d, e.hits, 2)
	if err != nil {
		return nil, 0, 0, err
	}
	return losses, hits[0], hits[1], nil
}

// pull copies the device's weights, buffers, velocity and EMA shadows into
// the host run, for a checkpoint.
func (e *deviceEngine) pull(r *Run) error {
	if err := e.net.Pull(); err != nil {
		return err
	}
	if err := e.download(e.net.V, e.net.Params, r.Opt.Velocity); err != nil {
		return err
	}
	if r.EMA == nil {
		return nil
	}
	if err := e.download(e.emaW, e.net.Params, r.EMA.Params); err != nil {
		return err
	}
	return e.download(e.emaB, e.net.Buffers, r.EMA.Buffers)
}

// push copies the host run's state to the device, after a restore.
func (e *deviceEngine) push(r *Run) error {
	if err := e.net.Push(); err != nil {
		return err
	}
	if err := e.upload32(e.net.V, e.net.Params, r.Opt.Velocity); err != nil {
		return err
	}
	if r.EMA == nil {
		return nil
	}
	if err := e.upload32(e.emaW, e.net.Params, r.EMA.Params); err != nil {
		return err
	}
	return e.upload32(e.emaB, e.net.Buffers, r.EMA.Buffers)
}

func (e *deviceEngine) download(p kernels.Ptr, a devnet.Arena, dst [][]float32) error {
	if err := e.d.Sync(); err != nil {
		return err
	}
	return a.Download(e.d, p, dst)
}

func (e *deviceEngine) upload32(p kernels.Ptr, a devnet.Arena, src [][]float32) error {
	return a.Upload(e.d, p, src)
}

// checkLoss turns a non-finite loss into the error the CPU path gives.
func checkLoss(loss float64, step int, lr float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("training: loss is %v at step %d: lower the learning rate (%v) or enable gradient clipping", loss, step, lr)
	}
	return nil
}

// mix hashes a few numbers into one seed (splitmix64's finaliser).
func mix(vs ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vs {
		h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}
