package detector

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/coco"
	"github.com/genius-nas/genius/training/detection"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/optim"
	"github.com/genius-nas/genius/training/tensor"
)

// Run is a RetinaNet being trained on a COCO-format training set: weights,
// optimiser, schedule and position. It is not safe for concurrent use.
type Run struct {
	Config Config
	Net    *networks.RetinaNet
	Opt    *optim.SGD
	Sched  detection.Schedule
	// Step counts optimiser steps; Epoch completed epochs; StepInEpoch the
	// batches done in the current epoch.
	Step, Epoch, StepInEpoch int
	// Sums accumulate the current epoch's steps; checkpoints keep them.
	Sums Sums
	// PostProcess turns outputs into detections (mmdetection's RetinaNet
	// test settings).
	PostProcess detection.PostProcess

	be         tensor.Backend
	train      *coco.Dataset
	images     []int // the training images with objects, as mmdetection trains on
	dcls, dbox []*tensor.Tensor
	x          *tensor.Tensor
	flat       []float32       // one image's logits, deltas and their gradients
	dev        *deviceDetector // nil on the CPU
}

// ensure returns buf with n elements, reusing its memory when it can.
func ensure(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Sums are running sums over an epoch's steps.
type Sums struct {
	Loss, Cls, Box float64
	Steps, Samples int
}

// MeanLoss is the mean of the steps' total losses (0 before the first).
func (s Sums) MeanLoss() float64 {
	if s.Steps == 0 {
		return 0
	}
	return s.Loss / float64(s.Steps)
}

// Losses are one step's losses, summed over the batch and normalised by
// its positive anchors.
type Losses struct{ Cls, Box float64 }

// Total is the loss minimised.
func (l Losses) Total() float64 { return l.Cls + l.Box }

// NewRun builds a RetinaNet of cfg (defaults applied) on a freshly
// initialised backbone, to train on train. Load the backbone's weights
// with LoadBackbone, or a run's state with Restore.
func NewRun(be tensor.Backend, cfg Config, train *coco.Dataset) (*Run, error) {
	cfg = cfg.WithDefaults()
	if cfg.Classes == 0 && train != nil {
		cfg.Classes = len(train.Classes)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if train != nil && len(train.Classes) != cfg.Classes {
		return nil, fmt.Errorf("detector: config says %d classes but the training set has %d", cfg.Classes, len(train.Classes))
	}
	backbone, err := networks.Build(be, cfg.Space, cfg.Arch, networks.Options{Classes: 1, Dropout: -1, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	rc := networks.ReferenceRetinaNet(cfg.Classes)
	rc.Channels, rc.StackedConvs, rc.FrozenStages, rc.Seed = cfg.Channels, cfg.StackedConvs, *cfg.FrozenStages, cfg.Seed
	net, err := networks.NewRetinaNet(be, backbone, rc)
	if err != nil {
		return nil, err
	}
	r := &Run{Config: cfg, Net: net, be: be, train: train, PostProcess: detection.RetinaNetPostProcess(),
		Opt: optim.NewSGD(be, net.Params(), optim.SGDOptions{Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, ClipNorm: cfg.ClipNorm})}
	perEpoch := 1
	if train != nil {
		r.images = train.WithObjects()
		perEpoch = len(r.images) / cfg.Batch
		if perEpoch == 0 {
			return nil, fmt.Errorf("detector: %d training images with objects are fewer than one batch of %d", len(r.images), cfg.Batch)
		}
	}
	r.Sched = cfg.Schedule(perEpoch)
	if err := r.Sched.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// StepsPerEpoch is the number of full batches in an epoch (the last
// partial one is dropped).
func (r *Run) StepsPerEpoch() int { return r.Sched.ItersPerEpoch }

// TotalSteps is the schedule's length.
func (r *Run) TotalSteps() int { return r.Sched.TotalIters() }

// LoadBackbone loads the weights and batch-norm statistics of a classifier
// checkpoint of the same architecture (its EMA weights when it has them)
// into the backbone; the classifier head is not used. It returns the
// number of tensors loaded.
func (r *Run) LoadBackbone(c *checkpoint.Checkpoint) (int, error) {
	h := c.Header
	if h.Space != r.Config.Space || !slices.Equal(h.Arch, r.Config.Arch) {
		return 0, fmt.Errorf("detector: checkpoint holds %s %v, not %s %v: give a checkpoint of the backbone's architecture",
			h.Space, h.Arch, r.Config.Space, r.Config.Arch)
	}
	prefix := ""
	if ps := r.Net.Backbone.Params(); len(ps) > 0 {
		if _, ok := c.Lookup("ema/" + backboneName(ps[0].Name)); ok {
			prefix = "ema/"
		}
	}
	n := 0
	load := func(name string, dst []float32) error {
		if err := c.CopyTo(prefix+backboneName(name), dst); err != nil {
			return fmt.Errorf("detector: backbone: %w", err)
		}
		n++
		return nil
	}
	for _, p := range r.Net.Backbone.Params() {
		if err := load(p.Name, p.W); err != nil {
			return n, err
		}
	}
	for _, b := range r.Net.Backbone.Buffers() {
		if err := load(b.Name, b.Data); err != nil {
			return n, err
		}
	}
	if r.dev != nil {
		return n, r.dev.push(r, false)
	}
	return n, nil
}

// backbonePrefix is what networks.NewBackbone puts before the classifier's
// tensor names.
const backbonePrefix = "backbone."

func backboneName(name string) string { return name[len(backbonePrefix):] }

// Order is the epoch's order of the training images with objects: a
// permutation fixed by the seed and the epoch, so a resumed run sees the
// batches it would have seen.
func (r *Run) Order(epoch int) []int {
	out := slices.Clone(r.images)
	rand.New(rand.NewPCG(r.Config.Seed, uint64(epoch)+1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// NextBatch loads the run's next training batch: the current epoch's
// batch StepInEpoch, with its flips.
func (r *Run) NextBatch() (coco.Batch, error) { return r.Batch(r.Epoch, r.StepInEpoch) }

// Batch loads batch k of an epoch (0-based both). It only reads the run's
// settings and data, so it may load ahead while the run trains.
func (r *Run) Batch(epoch, k int) (coco.Batch, error) {
	if k < 0 || k >= r.StepsPerEpoch() {
		return coco.Batch{}, fmt.Errorf("detector: batch %d of an epoch of %d", k, r.StepsPerEpoch())
	}
	order := r.Order(epoch)
	b := r.Config.Batch
	idx := order[k*b : (k+1)*b]
	flips := make([]bool, len(idx))
	for j, i := range idx {
		flips[j] = coco.Flip(r.Config.Seed, epoch, i)
	}
	return r.Config.Transform().Batch(r.train, idx, flips)
}

// TrainStep runs forward, targets, losses, backward and one optimiser step
// on a batch, and moves the position on (starting the next epoch after
// the last batch of one).
func (r *Run) TrainStep(b coco.Batch) (Losses, error) {
	if r.StepInEpoch >= r.StepsPerEpoch() {
		r.Epoch++
		r.StepInEpoch = 0
	}
	levels, err := r.forward(b)
	if err != nil {
		return Losses{}, err
	}
	anchors := r.anchors(levels)
	classes := r.Config.Classes
	na := networks.ImageAnchors(levels)
	targets := make([]detection.Targets, b.N)
	for i := range b.N {
		valid := r.valid(levels, b.Metas[i])
		t, err := detection.MakeTargets(anchors, valid, b.Objects[i].Boxes, b.Objects[i].Classes, b.Objects[i].Crowd,
			detection.RetinaNetAssigner(), detection.RetinaNetCoder())
		if err != nil {
			return Losses{}, fmt.Errorf("detector: image %d: %w", b.ImageIDs[i], err)
		}
		targets[i] = t
	}
	norm := detection.Normaliser(targets...)
	// Every image's gradients are scattered below, covering the tensors
	// whole: the buffers are reused without clearing.
	for len(r.dcls) < len(levels) {
		r.dcls, r.dbox = append(r.dcls, nil), append(r.dbox, nil)
	}
	r.dcls, r.dbox = r.dcls[:len(levels)], r.dbox[:len(levels)]
	for i, l := range levels {
		r.dcls[i] = tensor.Ensure(r.dcls[i], l.Cls.C, l.Cls.N, l.Cls.H, l.Cls.W)
		r.dbox[i] = tensor.Ensure(r.dbox[i], l.Box.C, l.Box.N, l.Box.H, l.Box.W)
	}
	r.flat = ensure(r.flat, 2*na*(classes+4))
	cls, box := r.flat[:na*classes], r.flat[na*classes:na*(classes+4)]
	gcls, gbox := r.flat[na*(classes+4):na*(2*classes+4)], r.flat[na*(2*classes+4):]
	var ls Losses
	for i := range b.N {
		if err := networks.Gather(levels, i, cls, box); err != nil {
			return Losses{}, err
		}
		lc, err := detection.FocalLoss(detection.RetinaNetFocal(), cls, classes, targets[i].Labels, norm, gcls)
		if err != nil {
			return Losses{}, err
		}
		lb, err := detection.L1Loss(box, targets[i], norm, gbox)
		if err != nil {
			return Losses{}, err
		}
		ls.Cls, ls.Box = ls.Cls+lc, ls.Box+lb
		if err := networks.Scatter(levels, i, gcls, gbox, r.dcls, r.dbox); err != nil {
			return Losses{}, err
		}
	}
	if t := ls.Total(); math.IsNaN(t) || math.IsInf(t, 0) {
		return ls, fmt.Errorf("detector: loss is %v at step %d: lower the learning rate (%v)", t, r.Step, r.Config.LR)
	}
	if r.dev != nil {
		if err := r.dev.step(r, r.dcls, r.dbox, r.Sched.LR(r.Step)); err != nil {
			return ls, err
		}
	} else {
		r.Net.Backward(r.dcls, r.dbox)
		r.Opt.Step(r.Sched.LR(r.Step))
	}
	if r.StepInEpoch == 0 {
		r.Sums = Sums{}
	}
	r.Sums.Loss += ls.Total()
	r.Sums.Cls += ls.Cls
	r.Sums.Box += ls.Box
	r.Sums.Steps++
	r.Sums.Samples += b.N
	r.Step++
	r.StepInEpoch++
	return ls, nil
}

// forward runs the detector on a batch (N×3×H×W planes, as coco.Batch
// holds them) in the backend's layout.
func (r *Run) forward(b coco.Batch) ([]networks.Level, error) {
	r.x = tensor.Ensure(r.x, 3, b.N, b.H, b.W)
	plane := b.H * b.W
	for n := range b.N {
		for c := range 3 {
			src := b.Input[(n*3+c)*plane : (n*3+c+1)*plane]
			dst := r.x.Data[c*plane*b.N:]
			for p, v := range src {
				dst[p*b.N+n] = v
			}
		}
	}
	if r.dev != nil {
		return r.dev.forward(r.x)
	}
	return r.Net.Forward(r.x), nil
}

// anchors are the batch's anchors, level by level in the flat order of
// networks.Gather.
func (r *Run) anchors(levels []networks.Level) []detection.Box {
	a := detection.RetinaNetAnchors()
	var out []detection.Box
	for l, lv := range levels {
		out = append(out, a.Level(l, lv.Cls.H, lv.Cls.W)...)
	}
	return out
}

// valid flags the anchors whose cells lie on the image rather than its
// padding.
func (r *Run) valid(levels []networks.Level, m coco.Meta) []bool {
	a := detection.RetinaNetAnchors()
	var out []bool
	for l, lv := range levels {
		out = append(out, a.Valid(l, lv.Cls.H, lv.Cls.W, m.H, m.W)...)
	}
	return out
}

// Checkpoint captures the run's full state. Tensors share memory with the
// run: write it before the next step.
func (r *Run) Checkpoint() (*checkpoint.Checkpoint, error) {
	if r.dev != nil {
		if err := r.dev.pull(r); err != nil {
			return nil, err
		}
	}
	cfg, err := json.Marshal(r.Config)
	if err != nil {
		return nil, err
	}
	c := &checkpoint.Checkpoint{Header: checkpoint.Header{Space: r.Config.Space, Arch: r.Config.Arch, Classes: r.Config.Classes,
		Input: r.Config.MaxLong, Epoch: r.Epoch, Step: r.Step, StepInEpoch: r.StepInEpoch, Seed: r.Config.Seed, Config: cfg,
		EpochLossSum: r.Sums.Loss, EpochSteps: r.Sums.Steps, EpochSamples: r.Sums.Samples}}
	for _, p := range r.Net.Params() {
		c.Add(p.Name, p.W)
	}
	for _, b := range r.Net.Buffers() {
		c.Add(b.Name, b.Data)
	}
	for i, p := range r.Net.Params() {
		c.Add(velocityPrefix+p.Name, r.Opt.Velocity[i])
	}
	return c, nil
}

const velocityPrefix = "velocity/"

// Restore loads a checkpoint written by Checkpoint into a run of the same
// detector: weights, and with withState the optimiser and position too
// (resuming).
func (r *Run) Restore(c *checkpoint.Checkpoint, withState bool) error {
	h := c.Header
	if h.Space != r.Config.Space || !slices.Equal(h.Arch, r.Config.Arch) || h.Classes != r.Config.Classes {
		return fmt.Errorf("detector: checkpoint holds %s %v with %d classes, not %s %v with %d classes",
			h.Space, h.Arch, h.Classes, r.Config.Space, r.Config.Arch, r.Config.Classes)
	}
	load := func(name string, dst []float32) error {
		if err := c.CopyTo(name, dst); err != nil {
			return fmt.Errorf("detector: %w", err)
		}
		return nil
	}
	for _, p := range r.Net.Params() {
		if err := load(p.Name, p.W); err != nil {
			return err
		}
	}
	for _, b := range r.Net.Buffers() {
		if err := load(b.Name, b.Data); err != nil {
			return err
		}
	}
	if withState {
		for i, p := range r.Net.Params() {
			if err := load(velocityPrefix+p.Name, r.Opt.Velocity[i]); err != nil {
				return err
			}
		}
	}
	if r.dev != nil {
		if err := r.dev.push(r, withState); err != nil {
			return err
		}
	}
	if !withState {
		return nil
	}
	r.Step, r.Epoch, r.StepInEpoch = h.Step, h.Epoch, h.StepInEpoch
	r.Sums = Sums{Loss: h.EpochLossSum, Steps: h.EpochSteps, Samples: h.EpochSamples}
	return nil
}
