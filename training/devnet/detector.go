package devnet

import (
	"errors"
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
)

// Detector is a RetinaNet compiled for a device: the backbone's layers,
// the feature pyramid and the class and box subnets that every pyramid
// level shares. Forward returns each level's class logits and box deltas;
// Backward takes their gradients.
//
// The Params arena holds the detector's trained parameters
// (Host.Params(), in that order) in its first Trained floats, then the
// backbone's fixed ones (networks.Backbone.FixedParams: frozen batch-norm
// scales and shifts, frozen stages' weights), which its layers read but
// nothing trains: an optimiser step runs over the first Trained floats
// only. Buffers holds Host.Buffers(). Pull and Push move both between the
// device and the host detector, whose checkpoints stay the CPU format.
type Detector struct {
	*Net
	Host *networks.RetinaNet
	// Trained is the number of floats at the start of the Params arena
	// holding trained parameters (the rest never get a gradient).
	Trained int
	// Levels are the outputs' shapes, P3 to P7.
	Levels []Level

	backbone        []node
	taps            [3]int
	first           int // first backbone layer Backward runs
	lateral, output [3]*convNode
	p6, p7          *convNode
	relu7           *actNode // nil unless the config has ReLUBeforeP7
	up              [2]*upsampleNode
	merged          [2]kernels.Ptr // P3's and P4's lateral plus the upsampled coarser one
	cls, box        []*seqNode     // per level: the subnets' uses
	pyramid         [5]shape
	acc             kernels.Ptr   // a tied convolution use's gradients before they are added
	outCls, outBox  []kernels.Ptr // float32 outputs (bf16 only)
	gCls, gBox      []kernels.Ptr // their gradients as the storage type (bf16 only)
	arenaAllocs     int           // Net.allocs up to the activations
	arenaBytes      int64         // and their bytes
}

// Level is one pyramid level's output: Cls holds ClsChannels
// (anchors x classes) and Box BoxChannels (anchors x 4) values per cell of
// an H x W grid, laid out as the CPU engine's tensors (CHWN).
type Level struct {
	Stride, H, W             int
	ClsChannels, BoxChannels int
}

// MaxBatch is the largest batch Forward takes.
func (d *Detector) MaxBatch() int { return d.maxBatch }

// ClsLen and BoxLen are the values of the level's outputs for batch
// samples.
func (l Level) ClsLen(batch int) int { return l.ClsChannels * l.H * l.W * batch }
func (l Level) BoxLen(batch int) int { return l.BoxChannels * l.H * l.W * batch }

// CompileDetector uploads det's weights and buffers to dev and prepares
// the launches for batches of up to maxBatch images of c x h x w. Errors
// are Compile's.
func CompileDetector(dev kernels.Device, dt kernels.DType, det *networks.RetinaNet, maxBatch, c, h, w int) (*Detector, error) {
	g, ok := dev.(kernels.Gemmer)
	if !ok {
		return nil, fmt.Errorf("devnet: device %T has no matrix product (kernels.Gemmer)", dev)
	}
	if maxBatch < 1 || c < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("devnet: compile for batches of %d images of %dx%dx%d: every size must be at least 1", maxBatch, c, h, w)
	}
	if dt != kernels.F32 && dt != kernels.BF16 {
		return nil, fmt.Errorf("devnet: storage type %v: use f32 or bf16", dt)
	}
	n := &Net{Dev: dev, DType: dt, gemm: g, maxBatch: maxBatch, c: c, h: h, w: w,
		params: append(append([]*nn.Param(nil), det.Params()...), det.Backbone.FixedParams()...), buffers: det.Buffers()}
	d := &Detector{Net: n, Host: det}
	if err := d.compile(); err != nil {
		n.Close()
		return nil, fmt.Errorf("devnet: compile the detector for %dx%dx%d: %w", c, h, w, err)
	}
	return d, nil
}

func (d *Detector) compile() error {
	n := d.Net
	if err := n.arenas(); err != nil {
		return err
	}
	d.arenaAllocs, d.arenaBytes = len(n.allocs), n.bytes
	d.Trained = n.Params.Len
	if k := len(d.Host.Params()); k < len(n.params) {
		d.Trained = n.Params.Slots[k].Off
	}
	return d.build()
}

// Reshape recompiles the detector for images of h x w, keeping the
// arenas (weights, gradients, velocity, buffers) and replacing the
// activations and scratch: batches of a detection data set differ in size
// (each padded to its largest image). It does nothing for the compiled
// size.
func (d *Detector) Reshape(h, w int) error {
	n := d.Net
	if h == n.h && w == n.w {
		return nil
	}
	if h < 1 || w < 1 {
		return fmt.Errorf("devnet: reshape the detector to %dx%d: every size must be at least 1", h, w)
	}
	var errs []error
	for _, p := range n.allocs[d.arenaAllocs:] {
		errs = append(errs, n.Dev.Free(p))
	}
	n.allocs = n.allocs[:d.arenaAllocs]
	n.bytes = d.arenaBytes
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("devnet: reshape the detector: %w", err)
	}
	n.h, n.w, n.forward = h, w, false
	*d = Detector{Net: n, Host: d.Host, Trained: d.Trained, arenaAllocs: d.arenaAllocs, arenaBytes: d.arenaBytes}
	if err := d.build(); err != nil {
		return fmt.Errorf("devnet: reshape the detector to %dx%d: %w", h, w, err)
	}
	return nil
}

// build compiles the layers for the current input size over the arenas.
func (d *Detector) build() error {
	n := d.Net
	cp := n.compiler()

	layers, taps, first := d.Host.Backbone.Layers()
	d.taps, d.first = taps, first
	in := shape{n.c, n.h, n.w}
	var cs [3]shape
	t := 0
	for i, l := range layers {
		nd, out, err := cp.layer(l, in, fmt.Sprintf("backbone[%d]", i))
		if err != nil {
			return err
		}
		d.backbone = append(d.backbone, nd)
		in = out
		if t < len(taps) && i+1 == taps[t] {
			cs[t] = out
			t++
		}
	}
	if t != len(taps) {
		return fmt.Errorf("backbone taps %v beyond its %d layers", taps, len(layers))
	}

	conv := func(v *nn.Conv, in shape, path string) (*convNode, shape, error) {
		nd, out, err := cp.layer(v, in, path)
		if err != nil {
			return nil, out, err
		}
		return nd.(*convNode), out, nil
	}
	lat, outs, p6, p7 := d.Host.Neck.Convs()
	var ls [3]shape
	var err error
	for i := range lat {
		if d.lateral[i], ls[i], err = conv(lat[i], cs[i], fmt.Sprintf("neck.lateral%d", i)); err != nil {
			return err
		}
	}
	for i := 1; i >= 0; i-- {
		if ls[i].h < ls[i+1].h || ls[i].w < ls[i+1].w {
			return fmt.Errorf("pyramid level %d is %v, smaller than the coarser %v", i, ls[i], ls[i+1])
		}
		u := &upsampleNode{in: ls[i+1], oh: ls[i].h, ow: ls[i].w}
		if u.y, err = n.act(shape{ls[i+1].c, u.oh, u.ow}); err != nil {
			return err
		}
		d.up[i] = u
		if d.merged[i], err = n.act(ls[i]); err != nil {
			return err
		}
	}
	for i := range outs {
		if d.output[i], d.pyramid[i], err = conv(outs[i], ls[i], fmt.Sprintf("neck.output%d", i)); err != nil {
			return err
		}
	}
	if d.p6, d.pyramid[3], err = conv(p6, cs[2], "neck.p6"); err != nil {
		return err
	}
	if d.Host.Config.ReLUBeforeP7 {
		if d.relu7, err = reluNode(n, d.pyramid[3]); err != nil {
			return err
		}
	}
	if d.p7, d.pyramid[4], err = conv(p7, d.pyramid[3], "neck.p7"); err != nil {
		return err
	}

	clsConvs, boxConvs, clsOut, boxOut := d.Host.Head.Subnets()
	accLen := 0
	for l, ps := range d.pyramid {
		lv := Level{Stride: networks.PyramidStrides[l], H: ps.h, W: ps.w}
		for _, sub := range []struct {
			convs []*nn.TiedConv
			out   *nn.TiedConv
			seqs  *[]*seqNode
			ch    *int
			name  string
		}{{clsConvs, clsOut, &d.cls, &lv.ClsChannels, "cls"}, {boxConvs, boxOut, &d.box, &lv.BoxChannels, "box"}} {
			seq, s := &seqNode{}, ps
			for i, tc := range append(append([]*nn.TiedConv(nil), sub.convs...), sub.out) {
				c, out, err := cp.tiedUse(tc, l, s, fmt.Sprintf("head.%s%d.level%d", sub.name, i, l))
				if err != nil {
					return err
				}
				if c.acc != 0 {
					accLen = max(accLen, c.wlen+c.spec.Out)
				}
				seq.nodes = append(seq.nodes, c)
				if i < len(sub.convs) {
					seq.nodes = append(seq.nodes, &reluInPlace{n: out.size()})
				}
				s = out
			}
			*sub.seqs = append(*sub.seqs, seq)
			*sub.ch = s.c
		}
		d.Levels = append(d.Levels, lv)
	}
	if err := cp.finish(); err != nil {
		return err
	}
	if d.acc, err = n.alloc(4 * accLen); err != nil {
		return err
	}
	for _, s := range append(append([]*seqNode(nil), d.cls...), d.box...) {
		for _, nd := range s.nodes {
			if c, ok := nd.(*convNode); ok && c.acc != 0 {
				c.acc = d.acc
			}
		}
	}
	if n.DType != kernels.F32 {
		for _, lv := range d.Levels {
			for _, b := range []struct {
				p     *[]kernels.Ptr
				bytes int
			}{{&d.outCls, 4 * lv.ClsLen(n.maxBatch)}, {&d.outBox, 4 * lv.BoxLen(n.maxBatch)},
				{&d.gCls, n.DType.Size() * lv.ClsLen(n.maxBatch)}, {&d.gBox, n.DType.Size() * lv.BoxLen(n.maxBatch)}} {
				p, err := n.alloc(b.bytes)
				if err != nil {
					return err
				}
				*b.p = append(*b.p, p)
			}
		}
	}
	var plan gradPlan
	if err := d.plan(&plan); err != nil {
		return err
	}
	n.gradValues, n.gradNaive = plan.size(), plan.naive
	return plan.allocate(n)
}

// tiedUse compiles use l of a tied convolution. Use 0 claims the shared
// parameters and Backward, which runs the levels in order, has it
// overwrite their gradients; the later uses read the same slots and add
// their gradients (through the acc scratch, set once it exists).
func (cp *compiler) tiedUse(tc *nn.TiedConv, l int, in shape, path string) (*convNode, shape, error) {
	if l > 0 {
		for _, p := range tc.Params() {
			cp.used[cp.param[p]] = false
		}
	}
	v := *tc.Use(l)
	v.Accumulate = false // handled here
	nd, out, err := cp.layer(&v, in, path)
	if err != nil {
		return nil, out, err
	}
	c := nd.(*convNode)
	if l > 0 {
		c.wlen, c.acc = len(tc.Weight.W), 1 // a placeholder until allocated
	}
	return c, out, nil
}

func reluNode(n *Net, s shape) (*actNode, error) {
	a := &actNode{act: kernels.ActReLU, n: s.size()}
	var err error
	a.y, err = n.act(s)
	return a, err
}

// plan assigns the gradient buffers, mirroring Backward's order.
func (d *Detector) plan(p *gradPlan) error {
	var dp [5]int
	for l := range d.pyramid {
		dc, err := d.cls[l].plan(p, external)
		if err != nil {
			return err
		}
		db, err := d.box[l].plan(p, external)
		if err != nil {
			return err
		}
		if dc == noGrad || db == noGrad {
			return errors.New("a subnet computes no input gradient")
		}
		p.put(db) // added into dc
		dp[l] = dc
	}
	g, err := d.p7.plan(p, dp[4])
	if err != nil {
		return err
	}
	if d.relu7 != nil {
		if g, err = d.relu7.plan(p, g); err != nil {
			return err
		}
	}
	p.put(dp[3]) // added into g
	d6, err := d.p6.plan(p, g)
	if err != nil {
		return err
	}
	var dl, dc [3]int
	for i := range dl {
		if dl[i], err = d.output[i].plan(p, dp[i]); err != nil {
			return err
		}
	}
	for i := range d.up {
		p.retain(dl[i]) // read by the lateral and the upsampling
		if dc[i], err = d.lateral[i].plan(p, dl[i]); err != nil {
			return err
		}
		du, err := d.up[i].plan(p, dl[i])
		if err != nil {
			return err
		}
		p.put(du) // added into dl[i+1]
	}
	if dc[2], err = d.lateral[2].plan(p, dl[2]); err != nil {
		return err
	}
	p.put(d6) // added into dc[2]
	for _, v := range append(append(dl[:0:0], dp[:]...), dl[:]...) {
		if v == noGrad {
			return errors.New("a pyramid convolution computes no input gradient")
		}
	}
	g, t := dc[2], 1
	for i := len(d.backbone) - 1; i >= d.first; i-- {
		if t >= 0 && i+1 == d.taps[t] {
			p.put(dc[t]) // added into g
			t--
		}
		if g == noGrad {
			return fmt.Errorf("backbone layer %d computes no input gradient but is trained", i+1)
		}
		if g, err = d.backbone[i].plan(p, g); err != nil {
			return err
		}
	}
	for ; t >= 0; t-- {
		p.put(dc[t]) // taps in frozen stages
	}
	p.put(g)
	return nil
}

// Forward runs the detector on x (the storage type, CHWN, batch images of
// the compiled c x h x w) and returns every level's class logits and box
// deltas (float32, Levels' shapes), valid until the next Forward. The
// backbone's batch norms use their running statistics, as the CPU
// engine's do. x must stay unchanged until Backward, which reads it.
func (d *Detector) Forward(x kernels.Ptr, batch int) (cls, box []kernels.Ptr, err error) {
	n := d.Net
	n.forward = false
	if batch < 1 || batch > n.maxBatch {
		return nil, nil, fmt.Errorf("devnet: forward of %d images: the detector is compiled for 1..%d", batch, n.maxBatch)
	}
	if cls, box, err = d.run(x, batch); err != nil {
		return nil, nil, fmt.Errorf("devnet: detector forward: %w", err)
	}
	n.batch, n.forward = batch, true
	return cls, box, nil
}

func (d *Detector) run(x kernels.Ptr, batch int) (cls, box []kernels.Ptr, err error) {
	n, dt := d.Net, d.DType
	if dt != kernels.F32 {
		if err := kernels.Convert(n.Dev, kernels.F32, dt, n.Params.Len, n.W, n.wdt); err != nil {
			return nil, nil, fmt.Errorf("weights to %s: %w", dt, err)
		}
	}
	var c [3]kernels.Ptr
	t := 0
	for i, nd := range d.backbone {
		if x, err = nd.forward(n, x, batch, false); err != nil {
			return nil, nil, err
		}
		if t < len(c) && i+1 == d.taps[t] {
			c[t] = x
			t++
		}
	}
	var lat [3]kernels.Ptr
	if lat[2], err = d.lateral[2].forward(n, c[2], batch, true); err != nil {
		return nil, nil, err
	}
	for i := 1; i >= 0; i-- {
		l, err := d.lateral[i].forward(n, c[i], batch, true)
		if err != nil {
			return nil, nil, err
		}
		u, err := d.up[i].forward(n, lat[i+1], batch, true)
		if err != nil {
			return nil, nil, err
		}
		if err := kernels.Add(n.Dev, dt, d.up[i].oh*d.up[i].ow*d.up[i].in.c*batch, l, u, d.merged[i]); err != nil {
			return nil, nil, err
		}
		lat[i] = d.merged[i]
	}
	var p [5]kernels.Ptr
	for i := range lat {
		if p[i], err = d.output[i].forward(n, lat[i], batch, true); err != nil {
			return nil, nil, err
		}
	}
	if p[3], err = d.p6.forward(n, c[2], batch, true); err != nil {
		return nil, nil, err
	}
	in7 := p[3]
	if d.relu7 != nil {
		if in7, err = d.relu7.forward(n, in7, batch, true); err != nil {
			return nil, nil, err
		}
	}
	if p[4], err = d.p7.forward(n, in7, batch, true); err != nil {
		return nil, nil, err
	}
	for l, lv := range d.Levels {
		yc, err := d.cls[l].forward(n, p[l], batch, true)
		if err != nil {
			return nil, nil, err
		}
		yb, err := d.box[l].forward(n, p[l], batch, true)
		if err != nil {
			return nil, nil, err
		}
		if dt != kernels.F32 {
			if err := kernels.Convert(n.Dev, dt, kernels.F32, lv.ClsLen(batch), yc, d.outCls[l]); err != nil {
				return nil, nil, err
			}
			if err := kernels.Convert(n.Dev, dt, kernels.F32, lv.BoxLen(batch), yb, d.outBox[l]); err != nil {
				return nil, nil, err
			}
			yc, yb = d.outCls[l], d.outBox[l]
		}
		cls, box = append(cls, yc), append(box, yb)
	}
	return cls, box, nil
}

// Backward propagates the gradients at every level's logits and deltas
// (float32, as Forward returned them, for the last Forward) and
// overwrites the trained parameters' gradients, the first Trained floats
// of G; the subnets' gradients are summed over the levels.
func (d *Detector) Backward(dcls, dbox []kernels.Ptr) error {
	if !d.forward {
		return errors.New("devnet: detector backward without a forward pass before it")
	}
	if len(dcls) != len(d.Levels) || len(dbox) != len(d.Levels) {
		return fmt.Errorf("devnet: detector backward with %d and %d gradients for %d levels", len(dcls), len(dbox), len(d.Levels))
	}
	if err := d.back(dcls, dbox); err != nil {
		return fmt.Errorf("devnet: detector backward: %w", err)
	}
	return nil
}

func (d *Detector) back(dcls, dbox []kernels.Ptr) error {
	n, dt, batch := d.Net, d.DType, d.batch
	add := func(s shape, x, y, out kernels.Ptr) error { return kernels.Add(n.Dev, dt, s.size()*batch, x, y, out) }
	var dp [5]kernels.Ptr
	for l, lv := range d.Levels {
		gc, gb := dcls[l], dbox[l]
		if dt != kernels.F32 {
			if err := kernels.Convert(n.Dev, kernels.F32, dt, lv.ClsLen(batch), gc, d.gCls[l]); err != nil {
				return err
			}
			if err := kernels.Convert(n.Dev, kernels.F32, dt, lv.BoxLen(batch), gb, d.gBox[l]); err != nil {
				return err
			}
			gc, gb = d.gCls[l], d.gBox[l]
		}
		dc, err := d.cls[l].backward(n, gc, batch)
		if err != nil {
			return err
		}
		db, err := d.box[l].backward(n, gb, batch)
		if err != nil {
			return err
		}
		if err := add(d.pyramid[l], dc, db, dc); err != nil {
			return err
		}
		dp[l] = dc
	}
	g, err := d.p7.backward(n, dp[4], batch)
	if err != nil {
		return err
	}
	if d.relu7 != nil {
		if g, err = d.relu7.backward(n, g, batch); err != nil {
			return err
		}
	}
	if err := add(d.pyramid[3], dp[3], g, g); err != nil {
		return err
	}
	d6, err := d.p6.backward(n, g, batch)
	if err != nil {
		return err
	}
	var dl, dc [3]kernels.Ptr
	for i := range dl {
		if dl[i], err = d.output[i].backward(n, dp[i], batch); err != nil {
			return err
		}
	}
	for i, u := range d.up {
		if dc[i], err = d.lateral[i].backward(n, dl[i], batch); err != nil {
			return err
		}
		du, err := u.backward(n, dl[i], batch)
		if err != nil {
			return err
		}
		if err := add(u.in, dl[i+1], du, dl[i+1]); err != nil {
			return err
		}
	}
	if dc[2], err = d.lateral[2].backward(n, dl[2], batch); err != nil {
		return err
	}
	if err := add(d.lateral[2].in, dc[2], d6, dc[2]); err != nil {
		return err
	}
	g, t := dc[2], 1
	for i := len(d.backbone) - 1; i >= d.first; i-- {
		if t >= 0 && i+1 == d.taps[t] {
			if err := add(d.lateral[t].in, g, dc[t], g); err != nil {
				return err
			}
			t--
		}
		if g, err = d.backbone[i].backward(n, g, batch); err != nil {
			return err
		}
	}
	return nil
}

// reluInPlace is a ReLU over its input's own memory, as the CPU's
// subnets run it: only the next convolution reads the convolution's
// output, and the ReLU's gradient follows from its output (positive where
// the input was). At P3 of a large image the subnets' activations
// dominate the detector's memory; this halves them.
type reluInPlace struct {
	n     int // values per sample
	y, dx kernels.Ptr
}

func (r *reluInPlace) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	r.y = x
	return x, kernels.ActForward(n.Dev, n.DType, kernels.ActReLU, r.n*batch, x, x, 1, 0)
}

func (r *reluInPlace) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return r.dx, kernels.ActBackward(n.Dev, n.DType, kernels.ActReLU, r.n*batch, r.y, dy, r.dx, 1, 0)
}

func (r *reluInPlace) plan(p *gradPlan, dy int) (int, error) {
	return p.elementwise(dy, r.n, &r.dx), nil
}

// upsampleNode is nn.Upsample's ForwardTo: the input resized to oh x ow.
type upsampleNode struct {
	in     shape
	oh, ow int
	y, dx  kernels.Ptr
}

func (u *upsampleNode) geom(batch int) kernels.Upsample {
	return kernels.Upsample{C: u.in.c, N: batch, H: u.in.h, W: u.in.w, OH: u.oh, OW: u.ow}
}

func (u *upsampleNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	return u.y, u.geom(batch).Forward(n.Dev, n.DType, x, u.y)
}

func (u *upsampleNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return u.dx, u.geom(batch).Backward(n.Dev, n.DType, dy, u.dx)
}

func (u *upsampleNode) plan(p *gradPlan, dy int) (int, error) {
	dx := p.get(u.in.size(), &u.dx)
	p.put(dy)
	return dx, nil
}
