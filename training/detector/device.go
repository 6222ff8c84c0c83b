package detector

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/devnet"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/tensor"
)

// NewDeviceRun is NewRun on a device: the detector runs forward and
// backward there and the optimiser steps there; the focal and L1 losses
// and their gradients stay the host's code, on the downloaded outputs.
// The host detector holds the weights only between a pull (Checkpoint)
// and a push (Restore, LoadBackbone), so checkpoints are the CPU's and
// resume on either backend. The device is compiled for the largest
// batch the settings allow (a landscape and a portrait image padded to
// MaxLong x MaxLong), so a device that cannot hold it fails here rather
// than epochs later.
func NewDeviceRun(dev *training.Device, cfg Config, train *coco.Dataset) (*Run, error) {
	if dev == nil || dev.Kernels == nil {
		return nil, errors.New("detector: NewDeviceRun without a device")
	}
	// The host detector only builds and stores the weights and computes
	// the losses.
	r, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, train)
	if err != nil {
		return nil, err
	}
	c := r.Config
	side := padded(c.MaxLong, c.Transform().SizeDivisor)
	h, w := side, side
	det, err := devnet.CompileDetector(dev.Kernels, dev.DType, r.Net, c.Batch, 3, h, w)
	if err != nil {
		if errors.Is(err, kernels.ErrOutOfMemory) {
			return nil, fmt.Errorf("detector: %s ran out of memory for a batch of %d images of up to %dx%d: %w",
				dev.Name, c.Batch, w, h, err)
		}
		return nil, fmt.Errorf("detector: training on %s: %w", dev.Name, err)
	}
	e := &deviceDetector{dev: dev, d: dev.Kernels, det: det}
	for _, a := range []struct {
		p     *kernels.Ptr
		bytes int
	}{{&e.sum, 4}, {&e.partial, 4 * kernels.PartialBlocks}} {
		if *a.p, err = e.alloc(a.bytes); err != nil {
			e.close()
			return nil, fmt.Errorf("detector: training on %s: %w", dev.Name, err)
		}
	}
	r.dev = e
	return r, nil
}

// padded rounds a side up to the multiple batches are padded to.
func padded(side, div int) int { return (side + div - 1) / div * div }

// deviceDetector is a Run's state on a device.
type deviceDetector struct {
	dev *training.Device
	d   kernels.Device
	det *devnet.Detector
	// in holds the batch's images (inBytes); grads the outputs' gradients,
	// float32, cls and box of each level in turn (gradFloats).
	in, grads           kernels.Ptr
	inBytes, gradFloats int
	sum, partial        kernels.Ptr // the gradients' sum of squares
	host                []byte
	levels              []networks.Level
	allocs              []kernels.Ptr
}

func (e *deviceDetector) alloc(bytes int) (kernels.Ptr, error) {
	p, err := e.d.Alloc(max(bytes, 4))
	if err == nil {
		e.allocs = append(e.allocs, p)
	}
	return p, err
}

// grow returns *p with at least need bytes, reallocating it (have is its
// size).
func (e *deviceDetector) grow(p *kernels.Ptr, have *int, need int) error {
	if *p != 0 && *have >= need {
		return nil
	}
	if *p != 0 {
		for i, a := range e.allocs {
			if a == *p {
				e.allocs = append(e.allocs[:i], e.allocs[i+1:]...)
				break
			}
		}
		if err := e.d.Free(*p); err != nil {
			return err
		}
		*p = 0
	}
	var err error
	if *p, err = e.alloc(need); err != nil {
		return err
	}
	*have = need
	return nil
}

func (e *deviceDetector) close() error {
	var errs []error
	for _, p := range e.allocs {
		errs = append(errs, e.d.Free(p))
	}
	e.allocs = nil
	errs = append(errs, e.det.Close())
	return errors.Join(errs...)
}

// forward runs the detector on x (the batch in the engine's layout) and
// returns the levels' outputs in host tensors the device path reuses.
func (e *deviceDetector) forward(x *tensor.Tensor) ([]networks.Level, error) {
	dt := e.dev.DType
	if x.N > e.det.MaxBatch() {
		return nil, fmt.Errorf("detector: a batch of %d on a device compiled for %d", x.N, e.det.MaxBatch())
	}
	if err := e.det.Reshape(x.H, x.W); err != nil {
		return nil, e.failed(err)
	}
	n := x.Len() * dt.Size()
	if err := e.grow(&e.in, &e.inBytes, n); err != nil {
		return nil, e.failed(err)
	}
	if cap(e.host) < n {
		e.host = make([]byte, n)
	}
	kernels.EncodeTo(dt, e.host[:n], x.Data[:x.Len()])
	if err := e.d.Write(e.in, e.host[:n]); err != nil {
		return nil, e.failed(err)
	}
	cls, box, err := e.det.Forward(e.in, x.N)
	if err != nil {
		return nil, e.failed(err)
	}
	if err := e.d.Sync(); err != nil {
		return nil, e.failed(err)
	}
	e.levels = e.levels[:0]
	for l, lv := range e.det.Levels {
		out := networks.Level{Stride: lv.Stride}
		for _, o := range []struct {
			t  **tensor.Tensor
			p  kernels.Ptr
			ch int
		}{{&out.Cls, cls[l], lv.ClsChannels}, {&out.Box, box[l], lv.BoxChannels}} {
			v, err := kernels.Download(e.d, kernels.F32, o.p, o.ch*lv.H*lv.W*x.N)
			if err != nil {
				return nil, e.failed(err)
			}
			*o.t = &tensor.Tensor{C: o.ch, N: x.N, H: lv.H, W: lv.W, Data: v}
		}
		e.levels = append(e.levels, out)
	}
	return e.levels, nil
}

// step uploads the outputs' gradients, runs backward and the optimiser
// step (with clipping) over the trained parameters.
func (e *deviceDetector) step(r *Run, dcls, dbox []*tensor.Tensor, lr float64) error {
	total := 0
	for l := range dcls {
		total += dcls[l].Len() + dbox[l].Len()
	}
	if err := e.grow(&e.grads, &e.gradFloats, 4*total); err != nil {
		return e.failed(err)
	}
	var pc, pb []kernels.Ptr
	off := 0
	for l := range dcls {
		for _, g := range []struct {
			t  *tensor.Tensor
			ps *[]kernels.Ptr
		}{{dcls[l], &pc}, {dbox[l], &pb}} {
			p := e.grads.Add(4 * off)
			if err := e.d.Write(p, kernels.Encode(kernels.F32, g.t.Data[:g.t.Len()])); err != nil {
				return e.failed(err)
			}
			*g.ps = append(*g.ps, p)
			off += g.t.Len()
		}
	}
	if err := e.det.Backward(pc, pb); err != nil {
		return e.failed(err)
	}
	o := r.Opt.Options
	n := e.det.Trained
	if o.ClipNorm > 0 {
		if err := kernels.SumSquares(e.d, n, e.det.G, e.partial, e.sum); err != nil {
			return e.failed(err)
		}
	}
	sgd := kernels.SGD{LR: float32(lr), Momentum: float32(o.Momentum), WeightDecay: float32(o.WeightDecay),
		ClipNorm: float32(o.ClipNorm), Nesterov: o.Nesterov}
	if err := sgd.Step(e.d, n, e.det.W, e.det.G, e.det.V, e.det.Decay, e.sum); err != nil {
		return e.failed(err)
	}
	return nil
}

// velocity is the part of the Params arena the optimiser's velocity of
// the trained parameters lives in.
func (e *deviceDetector) velocity(r *Run) devnet.Arena {
	return devnet.Arena{Len: e.det.Params.Len, Slots: e.det.Params.Slots[:len(r.Net.Params())]}
}

// pull copies the device's weights, buffers and velocity into the host
// run, for a checkpoint.
func (e *deviceDetector) pull(r *Run) error {
	if err := e.det.Pull(); err != nil {
		return e.failed(err)
	}
	if err := e.velocity(r).Download(e.d, e.det.V, r.Opt.Velocity); err != nil {
		return e.failed(err)
	}
	return nil
}

// push copies the host run's weights and buffers, and with velocity the
// optimiser's velocity, to the device after they were restored or loaded
// there.
func (e *deviceDetector) push(r *Run, velocity bool) error {
	if err := e.det.Push(); err != nil {
		return e.failed(err)
	}
	if !velocity {
		return nil
	}
	if err := e.velocity(r).Upload(e.d, e.det.V, r.Opt.Velocity); err != nil {
		return e.failed(err)
	}
	return nil
}

func (e *deviceDetector) failed(err error) error {
	return fmt.Errorf("detector: training on %s: %w", e.dev.Name, err)
}

// DevicePeakBytes is the device's peak memory so far, when it measures it
// (0 on the CPU), for the training progress and results.
func (r *Run) DevicePeakBytes() int64 {
	if r.dev == nil {
		return 0
	}
	if pm, ok := r.dev.d.(kernels.PeakMeter); ok {
		return pm.PeakBytes()
	}
	return 0
}
