package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/optim"
	"github.com/genius-nas/genius/training/tensor"
)

// Run is a network being trained: weights, optimiser, schedule, EMA and
// position. It is not safe for concurrent use.
type Run struct {
	Config Config
	Net    *networks.Network
	Opt    *optim.SGD
	EMA    *optim.EMA // nil when Config.EMADecay is 0
	Sched  optim.Schedule
	// Step counts optimiser steps taken; Epoch completed epochs;
	// StepInEpoch the batches done in the current epoch.
	Step, Epoch, StepInEpoch int
	// Sums accumulate the current epoch's training steps; checkpoints keep
	// them.
	Sums EpochSums

	be      tensor.Backend
	dev     *deviceEngine // nil on the CPU
	dlogits *tensor.Tensor
	reps    *replicas // nil without data parallelism
	xs      *tensor.Tensor
	// acc is the batch in progress when it goes through in micro-batches.
	acc struct {
		grads   [][]float32 // sum of the earlier micro-batches' gradients
		samples int
		loss    float64 // sum of the micro-batches' weighted losses
	}
}

// EpochSums are running sums over an epoch's training steps. They cover
// the current epoch, or the epoch just finished until the next one's first
// step, so a figure reported at an epoch's end can be taken after it.
type EpochSums struct {
	Loss    float64 // sum of the steps' mean batch losses
	Steps   int
	Samples int
}

// MeanLoss is the mean of the steps' losses (0 before the first step).
func (s EpochSums) MeanLoss() float64 {
	if s.Steps == 0 {
		return 0
	}
	return s.Loss / float64(s.Steps)
}

// NewRun builds the network of cfg (defaults applied) for a dataset of
// `classes` classes with stepsPerEpoch batches per epoch. On the CPU with
// a process memory limit (GOMEMLIMIT) it first checks that training fits
// (see Options.MemoryLimit).
func NewRun(be tensor.Backend, cfg Config, classes, stepsPerEpoch int) (*Run, error) {
	return newRun(be, cfg, classes, stepsPerEpoch, 0)
}

func buildNetwork(be tensor.Backend, cfg Config) (*networks.Network, error) {
	drop := cfg.DropoutRate()
	if drop == 0 {
		drop = -1 // none: the networks' zero is their default 0.2
	}
	net, err := networks.Build(be, cfg.Space, cfg.Arch, networks.Options{Classes: cfg.Classes, Dropout: drop, Seed: cfg.Seed,
		NB201Cells: cfg.NB201Cells, NB201Channels: cfg.NB201Channels})
	if ae := (*networks.ArchError)(nil); errors.As(err, &ae) {
		return nil, &SettingError{Setting: "Arch", Err: err}
	}
	return net, err
}

func newRun(be tensor.Backend, cfg Config, classes, stepsPerEpoch int, limit int64) (*Run, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Classes <= 0 {
		cfg.Classes = classes
	}
	if classes > 0 && cfg.Classes != classes {
		return nil, settingError("Classes", "config says %d classes but the data has %d", cfg.Classes, classes)
	}
	build := func(be tensor.Backend) (*networks.Network, error) { return buildNetwork(be, cfg) }
	var (
		net  *networks.Network
		reps *replicas
		err  error
	)
	cpu, onCPU := be.(*tensor.CPU)
	if limit = memoryLimit(limit); onCPU && limit > 0 {
		// A spare network takes the measuring step, so the run's own
		// statistics and random state stay untouched.
		probe, err := build(cpu.Serial())
		if err != nil {
			return nil, err
		}
		if err := checkMemory(probe, cfg, replicaCount(cfg, cpu), limit); err != nil {
			return nil, err
		}
	}
	if onCPU && replicaCount(cfg, cpu) > 1 {
		reps, err = newReplicas(cpu, replicaCount(cfg, cpu), build)
		if reps != nil {
			net = reps.nets[0]
		}
	} else {
		net, err = build(be)
	}
	if err != nil {
		return nil, err
	}
	total := cfg.Steps
	if total <= 0 {
		total = cfg.Epochs * stepsPerEpoch
	}
	r := &Run{Config: cfg, Net: net, be: be, reps: reps,
		Opt: optim.NewSGD(be, net.Params(), optim.SGDOptions{Momentum: cfg.MomentumRate(), Nesterov: cfg.Nesterov,
			WeightDecay: cfg.WeightDecay, ClipNorm: cfg.ClipNorm}),
		Sched: optim.Schedule{BaseLR: cfg.LR, WarmupSteps: int(math.Round(cfg.WarmupEpochs * float64(stepsPerEpoch))), TotalSteps: total}}
	if cfg.EMADecay > 0 {
		r.EMA = optim.NewEMA(net.Params(), net.Buffers(), cfg.EMADecay, cfg.EMAInterval)
	}
	return r, nil
}

// replicaCount is the number of data-parallel replicas for cfg.
func replicaCount(cfg Config, cpu *tensor.CPU) int {
	if cfg.Replicas > 0 {
		return cfg.Replicas
	}
	w := cpu.Workers()
	if w > 1 && cfg.Micro()%(16*w) == 0 {
		return w
	}
	return 1
}

// TrainStep runs forward, loss, backward and one optimiser step on a batch
// and returns the batch's mean loss. With Config.MicroBatch the batch goes
// through the network in micro-batches of that size (copied out of x)
// whose gradients accumulate before the step.
func (r *Run) TrainStep(x *tensor.Tensor, labels []int) (float64, error) {
	if err := r.checkBatch(x, labels); err != nil {
		return 0, err
	}
	if r.acc.samples > 0 {
		return 0, fmt.Errorf("training: TrainStep with %d samples of a batch accumulated by TrainMicro", r.acc.samples)
	}
	m := r.Config.Micro()
	if m >= x.N {
		loss, err := r.accumulate(x, labels, 1, true, true)
		if err != nil {
			return loss, err
		}
		return r.update(loss, len(labels))
	}
	var loss float64
	for lo := 0; lo < x.N; lo += m {
		hi := min(lo+m, x.N)
		r.xs = sliceBatch(r.xs, x, lo, hi)
		l, err := r.accumulate(r.xs, labels[lo:hi], float64(hi-lo)/float64(x.N), lo == 0, hi == x.N)
		if err != nil {
			return l, err
		}
		loss += l
	}
	return r.update(loss, len(labels))
}

// TrainMicro adds one micro-batch to the batch in progress: forward, loss
// and backward, its gradient weighted by its share of Config.Batch. When
// the micro-batches add up to Config.Batch samples it takes the optimiser
// step and returns stepped with the batch's mean loss.
func (r *Run) TrainMicro(x *tensor.Tensor, labels []int) (stepped bool, loss float64, err error) {
	if err := r.checkBatch(x, labels); err != nil {
		return false, 0, err
	}
	total := r.Config.Batch
	if r.acc.samples+x.N > total {
		return false, 0, fmt.Errorf("training: a micro-batch of %d after %d samples overfills the batch of %d", x.N, r.acc.samples, total)
	}
	first, last := r.acc.samples == 0, r.acc.samples+x.N == total
	l, err := r.accumulate(x, labels, float64(x.N)/float64(total), first, last)
	if err != nil {
		r.acc.samples, r.acc.loss = 0, 0
		return false, l, err
	}
	r.acc.samples += x.N
	r.acc.loss += l
	if !last {
		return false, 0, nil
	}
	loss = r.acc.loss
	r.acc.samples, r.acc.loss = 0, 0
	loss, err = r.update(loss, total)
	return err == nil, loss, err
}

func (r *Run) checkBatch(x *tensor.Tensor, labels []int) error {
	for _, l := range labels {
		if l < 0 || l >= r.Net.Classes {
			return fmt.Errorf("training: label %d outside the network's %d classes", l, r.Net.Classes)
		}
	}
	if len(labels) != x.N {
		return fmt.Errorf("training: %d labels for a batch of %d", len(labels), x.N)
	}
	return nil
}

// accumulate runs forward and backward on a micro-batch, its loss
// gradient scaled by weight (its share of the batch), and folds its
// parameter gradients into the batch's: first and last say where it is in
// the batch. The layers overwrite Param.G, so the sum of the earlier
// micro-batches waits in r.acc.grads and is added back after the last.
// It returns the micro-batch's mean loss times weight.
func (r *Run) accumulate(x *tensor.Tensor, labels []int, weight float64, first, last bool) (float64, error) {
	var loss float64
	if r.dev != nil {
		// The device's losses are read once, at the step (update).
		return 0, r.dev.accumulate(r, x, labels, weight, first, last)
	}
	if r.reps != nil && x.N >= len(r.reps.nets) {
		loss = r.reps.step(x, labels, r.Config.LabelSmoothing, float32(weight))
	} else {
		if r.reps != nil {
			r.reps.group.solo = true
			defer func() { r.reps.group.solo = false }()
		}
		logits := r.Net.Forward(x, true)
		r.dlogits = tensor.Ensure(r.dlogits, logits.C, logits.N, 1, 1)
		var err error
		loss, err = nn.SoftmaxCrossEntropy(logits, labels, r.Config.LabelSmoothing, r.dlogits)
		if err != nil {
			return 0, err
		}
		if weight != 1 {
			w := float32(weight)
			for i := range r.dlogits.Data {
				r.dlogits.Data[i] *= w
			}
		}
		r.Net.Backward(r.dlogits)
	}
	if err := checkLoss(loss, r.Step, r.Config.LR); err != nil {
		return loss, err
	}
	if !(first && last) {
		r.foldGrads(first, last)
	}
	return loss * weight, nil
}

// foldGrads keeps the running sum of a batch's gradients: the first
// micro-batch's are copied out, middle ones added to the sum, and the sum
// added into the last one's, which the optimiser then reads.
func (r *Run) foldGrads(first, last bool) {
	params := r.Net.Params()
	if r.acc.grads == nil {
		r.acc.grads = make([][]float32, len(params))
		for i, p := range params {
			r.acc.grads[i] = make([]float32, len(p.G))
		}
	}
	for i, p := range params {
		acc := r.acc.grads[i]
		r.be.For(len(p.G), 1<<16, func(lo, hi int) {
			g, a := p.G[lo:hi], acc[lo:hi]
			switch {
			case first:
				copy(a, g)
			case last:
				for j := range g {
					g[j] += a[j]
				}
			default:
				for j := range g {
					a[j] += g[j]
				}
			}
		})
	}
}

// update takes the optimiser step on the gradients in the parameters
// after a batch of n samples whose mean loss is loss.
func (r *Run) update(loss float64, n int) (float64, error) {
	if r.dev != nil {
		l, err := r.dev.update(r, r.Sched.LR(r.Step), r.Step+1)
		if err != nil {
			return l, err
		}
		loss = l
	} else {
		r.Opt.Step(r.Sched.LR(r.Step))
	}
	if r.StepInEpoch == 0 {
		r.Sums = EpochSums{} // a new epoch's first step
	}
	r.Sums.Loss += loss
	r.Sums.Steps++
	r.Sums.Samples += n
	r.Step++
	r.StepInEpoch++
	if r.EMA != nil && r.dev == nil {
		r.EMA.Update(r.Step, r.Net.Params(), r.Net.Buffers())
	}
	return loss, nil
}

// sliceBatch copies samples [lo, hi) of x into buf (samples are innermost
// in the layout, so this is a strided copy) and returns it.
func sliceBatch(buf, x *tensor.Tensor, lo, hi int) *tensor.Tensor {
	buf = tensor.Ensure(buf, x.C, hi-lo, x.H, x.W)
	rows := x.C * x.H * x.W
	n := hi - lo
	for i := 0; i < rows; i++ {
		copy(buf.Data[i*n:(i+1)*n], x.Data[i*x.N+lo:i*x.N+hi])
	}
	return buf
}

// Metrics are evaluation results.
type Metrics struct {
	Top1, Top5, Loss float64
	Samples          int
}

// Evaluate runs the network (the EMA weights when there are some) in eval
// mode over every batch of the loader.
func (r *Run) Evaluate(ctx context.Context, l *data.Loader) (m Metrics, err error) {
	if r.dev != nil && r.EMA != nil {
		if err := r.dev.swapEMA(true); err != nil {
			return m, err
		}
		defer func() {
			if e := r.dev.swapEMA(false); err == nil {
				err = e
			}
		}()
	}
	if r.EMA != nil && r.dev == nil {
		r.EMA.Swap(r.Net.Params(), r.Net.Buffers())
		defer func() {
			r.EMA.Swap(r.Net.Params(), r.Net.Buffers())
			if r.reps != nil {
				r.reps.tie()
			}
		}()
		if r.reps != nil {
			r.reps.tie()
		}
	}
	ep := l.Start(ctx, 0, 0)
	defer ep.Close()
	var h1, h5 int
	for {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		b, err := ep.Next()
		if err != nil {
			return m, err
		}
		if b == nil {
			break
		}
		// Batches above the micro-batch go through in pieces of it, so
		// evaluation needs no more memory than training.
		micro := r.Config.Micro()
		for from := 0; from < b.X.N; from += micro {
			x := b.X
			if micro < b.X.N {
				r.xs = sliceBatch(r.xs, b.X, from, min(from+micro, b.X.N))
				x = r.xs
			}
			if r.dev != nil {
				losses, k1, k5, err := r.dev.evaluate(x, b.Labels[from:from+x.N], from == 0, from+x.N == b.X.N)
				if err != nil {
					return m, err
				}
				for _, l := range losses {
					m.Loss += l
				}
				h1 += k1
				h5 += k5
				m.Samples += x.N
				continue
			}
			var parts []*tensor.Tensor
			if r.reps != nil && x.N >= len(r.reps.nets) {
				parts = r.reps.forward(x)
			} else {
				parts = []*tensor.Tensor{r.Net.Forward(x, false)}
			}
			lo := from
			for _, logits := range parts {
				labels := b.Labels[lo : lo+logits.N]
				lo += logits.N
				loss, err := nn.SoftmaxCrossEntropy(logits, labels, 0, nil)
				if err != nil {
					return m, err
				}
				m.Loss += loss * float64(len(labels))
				h1 += nn.TopK(logits, labels, 1)
				h5 += nn.TopK(logits, labels, 5)
				m.Samples += len(labels)
			}
		}
	}
	if m.Samples == 0 {
		return m, fmt.Errorf("training: no samples to evaluate")
	}
	n := float64(m.Samples)
	m.Top1, m.Top5, m.Loss = float64(h1)/n, float64(h5)/n, m.Loss/n
	return m, nil
}

// Checkpoint captures the run's full state. Tensors share memory with the
// run: write it before the next step.
func (r *Run) Checkpoint() (*checkpoint.Checkpoint, error) {
	if r.acc.samples > 0 {
		return nil, fmt.Errorf("training: checkpoint asked for in the middle of a batch (%d of %d samples accumulated): take it after a step", r.acc.samples, r.Config.Batch)
	}
	if r.dev != nil {
		if err := r.dev.pull(r); err != nil {
			return nil, fmt.Errorf("training: copying the run from %s: %w", r.dev.dev.Name, err)
		}
	}
	rng, err := r.Net.Source.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(r.Config)
	if err != nil {
		return nil, err
	}
	c := &checkpoint.Checkpoint{Header: checkpoint.Header{Space: r.Net.Space, Arch: r.Net.Arch, Classes: r.Net.Classes,
		Input: r.Config.Input, Epoch: r.Epoch, Step: r.Step, StepInEpoch: r.StepInEpoch, RNG: rng, Seed: r.Config.Seed, Config: cfg,
		EpochLossSum: r.Sums.Loss, EpochSteps: r.Sums.Steps, EpochSamples: r.Sums.Samples}}
	for _, p := range r.Net.Params() {
		c.Add(p.Name, p.W)
	}
	for _, b := range r.Net.Buffers() {
		c.Add(b.Name, b.Data)
	}
	for i, p := range r.Net.Params() {
		c.Add("velocity/"+p.Name, r.Opt.Velocity[i])
	}
	if r.EMA != nil {
		for i, p := range r.Net.Params() {
			c.Add("ema/"+p.Name, r.EMA.Params[i])
		}
		for i, b := range r.Net.Buffers() {
			c.Add("ema/"+b.Name, r.EMA.Buffers[i])
		}
	}
	return c, nil
}

// Restore loads a checkpoint written by Checkpoint into a run of the same
// network. withState also restores the optimiser, EMA, position and RNG
// (resuming); without it only the weights are loaded (EMA weights when
// present, for evaluation).
func (r *Run) Restore(c *checkpoint.Checkpoint, withState bool) error {
	h := c.Header
	if h.Space != r.Net.Space || !slices.Equal(h.Arch, r.Net.Arch) || h.Classes != r.Net.Classes {
		return fmt.Errorf("training: checkpoint holds %s %v with %d classes, not %s %v with %d classes: pass the architecture it was trained with",
			h.Space, h.Arch, h.Classes, r.Net.Space, r.Net.Arch, r.Net.Classes)
	}
	load := func(name string, dst []float32) error {
		if err := c.CopyTo(name, dst); err != nil {
			return fmt.Errorf("training: %w", err)
		}
		return nil
	}
	_, hasEMA := c.Lookup("ema/" + r.Net.Params()[0].Name)
	prefix := ""
	if !withState && hasEMA {
		prefix = "ema/" // evaluate the averaged weights, as the paper reports
	}
	for _, p := range r.Net.Params() {
		if err := load(prefix+p.Name, p.W); err != nil {
			return err
		}
	}
	for _, b := range r.Net.Buffers() {
		if err := load(prefix+b.Name, b.Data); err != nil {
			return err
		}
	}
	if !withState {
		return r.pushed()
	}
	for i, p := range r.Net.Params() {
		if err := load("velocity/"+p.Name, r.Opt.Velocity[i]); err != nil {
			return err
		}
	}
	if r.EMA != nil {
		if !hasEMA {
			return fmt.Errorf("training: checkpoint has no EMA weights but the run keeps an EMA")
		}
		for i, p := range r.Net.Params() {
			if err := load("ema/"+p.Name, r.EMA.Params[i]); err != nil {
				return err
			}
		}
		for i, b := range r.Net.Buffers() {
			if err := load("ema/"+b.Name, r.EMA.Buffers[i]); err != nil {
				return err
			}
		}
	}
	if err := r.Net.Source.UnmarshalBinary(h.RNG); err != nil {
		return fmt.Errorf("training: checkpoint RNG state: %w", err)
	}
	r.Step, r.Epoch, r.StepInEpoch = h.Step, h.Epoch, h.StepInEpoch
	r.Sums = EpochSums{Loss: h.EpochLossSum, Steps: h.EpochSteps, Samples: h.EpochSamples}
	return r.pushed()
}

// pushed copies what a restore loaded into the host run to the device (a
// no-op on the CPU).
func (r *Run) pushed() error {
	if r.dev == nil {
		return nil
	}
	if err := r.dev.push(r); err != nil {
		return fmt.Errorf("training: copying the run to %s: %w", r.dev.dev.Name, err)
	}
	return nil
}

// Close releases what the run holds on a device; a CPU run holds nothing.
func (r *Run) Close() error {
	if r.dev != nil {
		r.dev.close()
		r.dev = nil
	}
	return nil
}

// DevicePeakBytes is the most device memory allocated at once, when the
// run trains on a device that counts it (kernels.PeakMeter); 0 otherwise.
func (r *Run) DevicePeakBytes() int64 {
	if r.dev == nil {
		return 0
	}
	if pm, ok := r.dev.d.(kernels.PeakMeter); ok {
		return pm.PeakBytes()
	}
	return 0
}

// BackendName says where the run trains.
func (r *Run) BackendName() string {
	if r.dev != nil {
		return r.dev.dev.Name
	}
	return r.be.Name()
}
