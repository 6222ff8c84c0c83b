package devnet

import (
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
)

// shape is one sample's C x H x W.
type shape struct{ c, h, w int }

func (s shape) size() int { return s.c * s.h * s.w }

func (s shape) String() string { return fmt.Sprintf("%dx%dx%d", s.c, s.h, s.w) }

// compiler turns nn layers into nodes, tracking shapes, the parameters'
// and buffers' slots and the sizes of the shared scratch.
type compiler struct {
	net    *Net
	param  map[*nn.Param]int
	buffer map[*nn.Buffer]int
	used   []bool
	index  int // layers visited, depth first

	colLen, partialLen, statsLen, zerosLen int
	bns                                    []*bnNode
}

// unsupported is the error for layer l, the index-th visited, at path.
func unsupported(index int, l nn.Layer, path, why string) error {
	desc := fmt.Sprintf("%T", l)
	if p, ok := l.(*nn.AvgPool); ok {
		desc = fmt.Sprintf("%T %dx%d stride %d", p, p.K, p.K, p.Stride)
	}
	if why != "" {
		why = ": " + why
	}
	return fmt.Errorf("layer %d (%s) at %s%s: %w", index, desc, path, why, ErrUnsupported)
}

// slot claims a parameter and returns its offset in the W and G arenas.
func (cp *compiler) slot(p *nn.Param) (int, error) {
	i, ok := cp.param[p]
	if !ok {
		return 0, fmt.Errorf("parameter %s is not among the network's parameters", p.Name)
	}
	if cp.used[i] {
		return 0, fmt.Errorf("parameter %s is used by two layers (tied weights)", p.Name)
	}
	cp.used[i] = true
	return cp.net.Params.Slots[i].Off, nil
}

func (cp *compiler) bufferSlot(b *nn.Buffer) (int, error) {
	i, ok := cp.buffer[b]
	if !ok {
		return 0, fmt.Errorf("buffer %s is not among the network's buffers", b.Name)
	}
	return cp.net.Buffers.Slots[i].Off, nil
}

// layer compiles l for inputs of shape in.
func (cp *compiler) layer(l nn.Layer, in shape, path string) (node, shape, error) {
	index := cp.index
	cp.index++
	n := cp.net
	switch v := l.(type) {
	case *nn.Sequential:
		s := &seqNode{}
		for i, ch := range v.Layers {
			nd, out, err := cp.layer(ch, in, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, in, err
			}
			s.nodes = append(s.nodes, nd)
			in = out
		}
		return s, in, nil
	case *nn.Residual:
		r := &residualNode{}
		var out shape
		var err error
		if r.body, out, err = cp.layer(v.Body, in, path+".body"); err != nil {
			return nil, in, err
		}
		short := in
		if v.Shortcut != nil {
			if r.short, short, err = cp.layer(v.Shortcut, in, path+".shortcut"); err != nil {
				return nil, in, err
			}
		}
		if short != out {
			return nil, in, fmt.Errorf("layer %d at %s: residual of %v and %v", index, path, out, short)
		}
		r.in, r.out = in.size(), out.size()
		if r.y, err = n.act(out); err != nil {
			return nil, in, err
		}
		return r, out, nil
	case *nn.Linear:
		// A 1x1 convolution with bias over the pooled features.
		if in.h != 1 || in.w != 1 {
			return nil, in, fmt.Errorf("layer %d (%T) at %s: input %v is not 1x1", index, v, path, in)
		}
		return cp.layer(v.Children()[0], in, path+".linear")
	case *nn.Conv:
		return cp.conv(v, in, index, path)
	case *nn.BatchNorm:
		return cp.batchNorm(v, in, index, path)
	case *nn.Act:
		a := &actNode{act: actCode(v.Kind), n: in.size()}
		var err error
		if a.y, err = n.act(in); err != nil {
			return nil, in, err
		}
		return a, in, nil
	case *nn.GlobalAvgPool:
		g := &gapNode{c: in.c, hw: in.h * in.w}
		out := shape{in.c, 1, 1}
		var err error
		if g.y, err = n.act(out); err != nil {
			return nil, in, err
		}
		return g, out, nil
	case *nn.SE:
		return cp.se(v, in, index, path)
	case *nn.Dropout:
		d := &dropoutNode{p: v.P, n: in.size()}
		if v.P > 0 {
			var err error
			if d.y, err = n.act(in); err != nil {
				return nil, in, err
			}
		}
		return d, in, nil
	case *nn.AvgPool:
		a := &avgPoolNode{k: v.K, stride: v.Stride, pad: v.Pad, in: in}
		out := shape{in.c, (in.h+2*v.Pad-v.K)/v.Stride + 1, (in.w+2*v.Pad-v.K)/v.Stride + 1}
		if out.h < 1 || out.w < 1 {
			return nil, in, fmt.Errorf("layer %d (%T) at %s: a %dx%d input is too small for %dx%d windows", index, v, path, in.h, in.w, v.K, v.K)
		}
		var err error
		if a.y, err = n.act(out); err != nil {
			return nil, in, err
		}
		return a, out, nil
	case *networks.Cell:
		return cp.cell(v, in, path)
	}
	return nil, in, unsupported(index, l, path, "")
}

func actCode(k nn.ActKind) kernels.Act {
	switch k {
	case nn.ReLU:
		return kernels.ActReLU
	case nn.ReLU6:
		return kernels.ActReLU6
	case nn.HardSwish:
		return kernels.ActHardSwish
	case nn.HardSigmoid:
		return kernels.ActHardSigmoid
	}
	panic(fmt.Sprintf("devnet: activation %v has no kernel code", k))
}

func (cp *compiler) conv(v *nn.Conv, in shape, index int, path string) (node, shape, error) {
	n := cp.net
	if v.Accumulate {
		return nil, in, unsupported(index, v, path, "accumulated (tied) gradients")
	}
	if in.c != v.In {
		return nil, in, fmt.Errorf("layer %d (%T) at %s: %d input channels, the layer takes %d", index, v, path, in.c, v.In)
	}
	oh := (in.h+2*v.Pad-v.K)/v.Stride + 1
	ow := (in.w+2*v.Pad-v.K)/v.Stride + 1
	if oh < 1 || ow < 1 {
		return nil, in, fmt.Errorf("layer %d (%T) at %s: a %dx%d input is too small for a %dx%d kernel", index, v, path, in.h, in.w, v.K, v.K)
	}
	c := &convNode{spec: v.ConvSpec, in: in, oh: oh, ow: ow, noDx: v.NoInputGrad, bias: -1}
	switch {
	case v.Groups > 1 && v.Groups == v.In && v.Groups == v.Out:
		c.kind = convDepthwise
	case v.K == 1 && v.Stride == 1 && v.Pad == 0 && v.Groups == 1:
		c.kind = convPointwise
	default:
		c.kind = convIm2col
		cp.colLen = max(cp.colLen, v.In*v.K*v.K*oh*ow*n.maxBatch)
	}
	var err error
	if c.weight, err = cp.slot(v.Weight); err != nil {
		return nil, in, err
	}
	if v.Bias != nil {
		if c.bias, err = cp.slot(v.Bias); err != nil {
			return nil, in, err
		}
		cp.partialLen = max(cp.partialLen, v.Out*kernels.MaxChunks)
	}
	out := shape{v.Out, oh, ow}
	if c.y, err = n.act(out); err != nil {
		return nil, in, err
	}
	return c, out, nil
}

func (cp *compiler) batchNorm(v *nn.BatchNorm, in shape, index int, path string) (node, shape, error) {
	n := cp.net
	if v.Sync != nil {
		return nil, in, unsupported(index, v, path, "synchronised across replicas")
	}
	if in.c != v.C {
		return nil, in, fmt.Errorf("layer %d (%T) at %s: %d channels, the layer takes %d", index, v, path, in.c, v.C)
	}
	b := &bnNode{hw: in.h * in.w, n: in.size(), update: !v.Follower}
	b.bn = kernels.BatchNorm{C: v.C, Momentum: v.Momentum, Eps: v.Eps}
	if v.HasAct {
		b.bn.Act = actCode(v.Act)
	}
	g, err := cp.slot(v.Gamma)
	if err != nil {
		return nil, in, err
	}
	be, err := cp.slot(v.Beta)
	if err != nil {
		return nil, in, err
	}
	b.bn.Gamma, b.bn.DGamma = param(n.W, g), param(n.G, g)
	b.bn.Beta, b.bn.DBeta = param(n.W, be), param(n.G, be)
	mean, err := cp.bufferSlot(v.Mean)
	if err != nil {
		return nil, in, err
	}
	vr, err := cp.bufferSlot(v.Var)
	if err != nil {
		return nil, in, err
	}
	b.bn.Mean, b.bn.Var = param(n.B, mean), param(n.B, vr)
	// Mean and 1/std of the last forward pass, for the backward pass.
	muInv, err := n.alloc(8 * v.C)
	if err != nil {
		return nil, in, err
	}
	b.bn.Mu, b.bn.Inv = muInv, muInv.Add(4*v.C)
	cp.statsLen = max(cp.statsLen, kernels.StatsLen(v.C))
	cp.bns = append(cp.bns, b)
	if b.y, err = n.act(in); err != nil {
		return nil, in, err
	}
	return b, in, nil
}

func (cp *compiler) se(v *nn.SE, in shape, index int, path string) (node, shape, error) {
	n := cp.net
	ch := v.Children() // pool, gate
	if len(ch) != 2 {
		return nil, in, unsupported(index, v, path, "unexpected structure")
	}
	if _, ok := ch[0].(*nn.GlobalAvgPool); !ok {
		return nil, in, unsupported(index, v, path, fmt.Sprintf("squeeze by %T", ch[0]))
	}
	cp.index++ // the pool, run by the SE node itself
	s := &seNode{c: in.c, hw: in.h * in.w}
	pooled := shape{in.c, 1, 1}
	var err error
	var gateOut shape
	if s.gate, gateOut, err = cp.layer(ch[1], pooled, path+".gate"); err != nil {
		return nil, in, err
	}
	if gateOut != pooled {
		return nil, in, fmt.Errorf("layer %d (%T) at %s: gate gives %v for %v", index, v, path, gateOut, pooled)
	}
	if s.pooled, err = n.act(pooled); err != nil {
		return nil, in, err
	}
	if s.y, err = n.act(in); err != nil {
		return nil, in, err
	}
	return s, in, nil
}

// bindScratch points the batch norms at the shared scratch once it exists.
func (cp *compiler) bindScratch() {
	for _, b := range cp.bns {
		b.bn.Stats = cp.net.stats
	}
}

// cell compiles a NAS-Bench-201 cell: its edges' layers, and where node
// sums need buffers of their own.
func (cp *compiler) cell(v *networks.Cell, in shape, path string) (node, shape, error) {
	c := &cellNode{size: in.size()}
	var into [4]int // contributions per node
	for i, e := range v.Edges() {
		ce := cellEdge{from: e.From, to: e.To, skip: e.Skip}
		if !e.Skip {
			nd, out, err := cp.layer(e.Layer, in, fmt.Sprintf("%s.edge%d-%d", path, e.From, e.To))
			if err != nil {
				return nil, in, err
			}
			if out != in {
				return nil, in, fmt.Errorf("cell at %s: edge %d gives %v for %v", path, i, out, in)
			}
			ce.nd = nd
		}
		into[e.To]++
		c.edges = append(c.edges, ce)
	}
	for j := 1; j < 4; j++ {
		if into[j] > 1 {
			var err error
			if c.sums[j], err = cp.net.act(in); err != nil {
				return nil, in, err
			}
		}
	}
	cp.zerosLen = max(cp.zerosLen, in.size())
	return c, in, nil
}
