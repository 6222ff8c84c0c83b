package devnet

import (
	"fmt"

	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/nn"
)

// node is a compiled layer. As nn layers do, forward keeps its input for
// backward and returns its output in memory it owns; backward overwrites
// its parameters' gradients and returns the input gradient in memory it
// owns (0 for a layer that computes none, the network's first
// convolution).
type node interface {
	forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error)
	backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error)
	// plan assigns the gradient buffers backward writes, mirroring its
	// reads and writes: it takes over a reference to dy's buffer and
	// returns one to dx's (noGrad for none).
	plan(p *gradPlan, dy int) (int, error)
}

type seqNode struct{ nodes []node }

func (s *seqNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	for _, nd := range s.nodes {
		var err error
		if x, err = nd.forward(n, x, batch, train); err != nil {
			return 0, err
		}
	}
	return x, nil
}

func (s *seqNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		var err error
		if dy, err = s.nodes[i].backward(n, dy, batch); err != nil {
			return 0, err
		}
	}
	return dy, nil
}

func (s *seqNode) plan(p *gradPlan, dy int) (int, error) {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		var err error
		if dy, err = s.nodes[i].plan(p, dy); err != nil {
			return 0, err
		}
		if dy == noGrad && i > 0 {
			return 0, fmt.Errorf("layer %d of a sequence computes no input gradient but is not the first", i)
		}
	}
	return dy, nil
}

// residualNode is body(x) + shortcut(x), the shortcut nil for identity.
// Its input gradient is the sum of the branches', written over the body's.
type residualNode struct {
	body, short node
	in, out     int // values per sample
	y           kernels.Ptr
}

func (r *residualNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	b, err := r.body.forward(n, x, batch, train)
	if err != nil {
		return 0, err
	}
	s := x
	if r.short != nil {
		if s, err = r.short.forward(n, x, batch, train); err != nil {
			return 0, err
		}
	}
	return r.y, kernels.Add(n.Dev, n.DType, r.out*batch, b, s, r.y)
}

func (r *residualNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	db, err := r.body.backward(n, dy, batch)
	if err != nil {
		return 0, err
	}
	ds := dy
	if r.short != nil {
		if ds, err = r.short.backward(n, dy, batch); err != nil {
			return 0, err
		}
	}
	return db, kernels.Add(n.Dev, n.DType, r.in*batch, db, ds, db)
}

func (r *residualNode) plan(p *gradPlan, dy int) (int, error) {
	p.retain(dy) // the shortcut's
	db, err := r.body.plan(p, dy)
	if err != nil {
		return 0, err
	}
	ds := dy
	if r.short != nil {
		if ds, err = r.short.plan(p, dy); err != nil {
			return 0, err
		}
	}
	if db == noGrad || ds == noGrad {
		return 0, fmt.Errorf("a residual branch computes no input gradient")
	}
	p.put(ds)
	return db, nil
}

type convKind int

const (
	convPointwise convKind = iota // one matrix product
	convDepthwise                 // the direct kernels
	convIm2col                    // columns, then a product per group
)

// convNode is nn.Conv (and nn.Linear's). Weights and biases are offsets
// into the parameter arenas.
type convNode struct {
	spec         nn.ConvSpec
	kind         convKind
	in           shape
	oh, ow       int
	weight, bias int // float offsets; bias -1 without one
	noDx         bool
	x, y, dx     kernels.Ptr
	// acc, for a use of a tied convolution whose gradients add to
	// another use's: the weight and bias gradients go here (wlen weight
	// floats, then the biases) and are then added into G.
	acc  kernels.Ptr
	wlen int
}

func (c *convNode) geom(batch int) kernels.Conv {
	return kernels.NewConv(c.in.c, batch, c.in.h, c.in.w, c.spec.K, c.spec.Stride, c.spec.Pad)
}

// at is the address of element i of device memory p holding dt values.
func at(p kernels.Ptr, dt kernels.DType, i int) kernels.Ptr { return p.Add(i * dt.Size()) }

func (c *convNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	c.x = x
	dt, s := n.DType, c.spec
	m := c.oh * c.ow * batch
	switch c.kind {
	case convDepthwise:
		if err := c.geom(batch).DepthwiseForward(n.Dev, dt, x, param(n.W, c.weight), c.y); err != nil {
			return 0, err
		}
	case convPointwise:
		if err := n.gemm.Gemm(false, false, s.Out, m, s.In, at(n.wdt, dt, c.weight), s.In, x, m, c.y, m, false, dt, dt); err != nil {
			return 0, err
		}
	default:
		if err := c.geom(batch).Im2col(n.Dev, dt, x, n.col); err != nil {
			return 0, err
		}
		ig, og := s.In*s.K*s.K/s.Groups, s.Out/s.Groups
		for g := range s.Groups {
			if err := n.gemm.Gemm(false, false, og, m, ig, at(n.wdt, dt, c.weight+g*og*ig), ig, at(n.col, dt, g*ig*m), m,
				at(c.y, dt, g*og*m), m, false, dt, dt); err != nil {
				return 0, err
			}
		}
	}
	if c.bias >= 0 {
		if err := kernels.BiasAdd(n.Dev, dt, s.Out, m, c.y, param(n.W, c.bias)); err != nil {
			return 0, err
		}
	}
	return c.y, nil
}

func (c *convNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	dx, err := c.grads(n, dy, batch)
	if err != nil || c.acc == 0 {
		return dx, err
	}
	if err := kernels.Add(n.Dev, kernels.F32, c.wlen, param(n.G, c.weight), c.acc, param(n.G, c.weight)); err != nil {
		return 0, err
	}
	if c.bias >= 0 {
		if err := kernels.Add(n.Dev, kernels.F32, c.spec.Out, param(n.G, c.bias), c.acc.Add(4*c.wlen), param(n.G, c.bias)); err != nil {
			return 0, err
		}
	}
	return dx, nil
}

// grads writes the parameter gradients (into G, or acc) and returns the
// input gradient.
func (c *convNode) grads(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	dt, s, x := n.DType, c.spec, c.x
	m := c.oh * c.ow * batch
	gw, gb := param(n.G, c.weight), param(n.G, c.bias)
	if c.acc != 0 {
		gw, gb = c.acc, c.acc.Add(4*c.wlen)
	}
	if c.bias >= 0 {
		if err := kernels.BiasGrad(n.Dev, dt, s.Out, m, dy, n.partial, gb); err != nil {
			return 0, err
		}
	}
	var dx kernels.Ptr
	if !c.noDx {
		dx = c.dx
	}
	switch c.kind {
	case convDepthwise:
		g := c.geom(batch)
		if err := g.DepthwiseBackwardFilter(n.Dev, dt, x, dy, gw); err != nil {
			return 0, err
		}
		if dx != 0 {
			if err := g.DepthwiseBackwardData(n.Dev, dt, dy, param(n.W, c.weight), dx); err != nil {
				return 0, err
			}
		}
	case convPointwise:
		if err := n.gemm.Gemm(false, true, s.Out, s.In, m, dy, m, x, m, gw, s.In, false, dt, kernels.F32); err != nil {
			return 0, err
		}
		if dx != 0 {
			if err := n.gemm.Gemm(true, false, s.In, m, s.Out, at(n.wdt, dt, c.weight), s.In, dy, m, dx, m, false, dt, dt); err != nil {
				return 0, err
			}
		}
	default:
		// The columns are rebuilt rather than kept per layer.
		g := c.geom(batch)
		if err := g.Im2col(n.Dev, dt, x, n.col); err != nil {
			return 0, err
		}
		ig, og := s.In*s.K*s.K/s.Groups, s.Out/s.Groups
		for gr := range s.Groups {
			if err := n.gemm.Gemm(false, true, og, ig, m, at(dy, dt, gr*og*m), m, at(n.col, dt, gr*ig*m), m,
				gw.Add(4*gr*og*ig), ig, false, dt, kernels.F32); err != nil {
				return 0, err
			}
		}
		if dx != 0 {
			// The columns' buffer takes their gradient.
			for gr := range s.Groups {
				if err := n.gemm.Gemm(true, false, ig, m, og, at(n.wdt, dt, c.weight+gr*og*ig), ig, at(dy, dt, gr*og*m), m,
					at(n.col, dt, gr*ig*m), m, false, dt, dt); err != nil {
					return 0, err
				}
			}
			if err := g.Col2im(n.Dev, dt, n.col, dx); err != nil {
				return 0, err
			}
		}
	}
	return dx, nil
}

func (c *convNode) plan(p *gradPlan, dy int) (int, error) {
	if c.noDx {
		p.put(dy)
		return noGrad, nil
	}
	dx := p.get(c.in.size(), &c.dx)
	p.put(dy)
	return dx, nil
}

// bnNode is nn.BatchNorm with its fused activation; bn points into the
// arenas.
type bnNode struct {
	bn       kernels.BatchNorm
	hw, n    int // values per channel and per sample, of one sample
	update   bool
	train    bool
	x, y, dx kernels.Ptr
}

func (b *bnNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	b.x, b.train = x, train
	return b.y, b.bn.Forward(n.Dev, n.DType, train, b.update, b.hw*batch, x, b.y)
}

func (b *bnNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return b.dx, b.bn.Backward(n.Dev, n.DType, b.train, b.hw*batch, b.x, dy, b.dx)
}

// plan may write dx over dy: the kernels read dy[i] before writing dx[i].
func (b *bnNode) plan(p *gradPlan, dy int) (int, error) { return p.elementwise(dy, b.n, &b.dx), nil }

type actNode struct {
	act      kernels.Act
	n        int // values per sample
	x, y, dx kernels.Ptr
}

func (a *actNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	a.x = x
	return a.y, kernels.ActForward(n.Dev, n.DType, a.act, a.n*batch, x, a.y, 1, 0)
}

func (a *actNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return a.dx, kernels.ActBackward(n.Dev, n.DType, a.act, a.n*batch, a.x, dy, a.dx, 1, 0)
}

func (a *actNode) plan(p *gradPlan, dy int) (int, error) { return p.elementwise(dy, a.n, &a.dx), nil }

type gapNode struct {
	c, hw int
	y, dx kernels.Ptr
}

func (g *gapNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	return g.y, kernels.PoolForward(n.Dev, n.DType, g.c, g.hw, batch, x, g.y)
}

func (g *gapNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return g.dx, kernels.PoolBackward(n.Dev, n.DType, g.c, g.hw, batch, dy, g.dx)
}

func (g *gapNode) plan(p *gradPlan, dy int) (int, error) {
	dx := p.get(g.c*g.hw, &g.dx)
	p.put(dy)
	return dx, nil
}

// seNode is squeeze-excitation: the input pooled, the gate (convolutions
// and activations over c x 1 x 1) and the input scaled by it. Its backward
// pass fuses the scale's and the pooling's input gradients.
type seNode struct {
	c, hw                   int
	gate                    node
	x, pooled, gated, y, dx kernels.Ptr
	dgate                   kernels.Ptr
}

func (s *seNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	s.x = x
	if err := kernels.PoolForward(n.Dev, n.DType, s.c, s.hw, batch, x, s.pooled); err != nil {
		return 0, err
	}
	g, err := s.gate.forward(n, s.pooled, batch, train)
	if err != nil {
		return 0, err
	}
	s.gated = g
	return s.y, kernels.ScaleForward(n.Dev, n.DType, s.c, s.hw, batch, x, g, s.y)
}

func (s *seNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	if err := kernels.ScaleBackwardGate(n.Dev, n.DType, s.c, s.hw, batch, s.x, dy, s.dgate); err != nil {
		return 0, err
	}
	dpool, err := s.gate.backward(n, s.dgate, batch)
	if err != nil {
		return 0, err
	}
	return s.dx, kernels.ScaleBackwardData(n.Dev, n.DType, s.c, s.hw, batch, dy, s.gated, dpool, s.dx)
}

// plan keeps dy until the input gradient, which reads it with the gate's.
func (s *seNode) plan(p *gradPlan, dy int) (int, error) {
	dg := p.get(s.c, &s.dgate)
	dpool, err := s.gate.plan(p, dg)
	if err != nil {
		return 0, err
	}
	if dpool == noGrad {
		return 0, fmt.Errorf("squeeze-excitation's gate computes no input gradient")
	}
	dx := p.get(s.c*s.hw, &s.dx)
	p.put(dpool)
	p.put(dy)
	return dx, nil
}

// dropoutNode is nn.Dropout. The mask is a hash of Net.DropoutSeed and
// the element's index, so backward recomputes it instead of storing it.
type dropoutNode struct {
	p     float64
	n     int // values per sample
	y     kernels.Ptr
	seed  uint64
	apply bool // the last forward dropped values
}

func (d *dropoutNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	d.apply = train && d.p > 0
	if !d.apply {
		return x, nil
	}
	d.seed = n.DropoutSeed
	return d.y, kernels.DropoutForward(n.Dev, n.DType, d.n*batch, x, d.y, d.p, d.seed)
}

// backward scales dy in place by the forward's mask.
func (d *dropoutNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	if !d.apply {
		return dy, nil
	}
	return dy, kernels.DropoutBackward(n.Dev, n.DType, d.n*batch, dy, dy, d.p, d.seed)
}

func (d *dropoutNode) plan(p *gradPlan, dy int) (int, error) { return dy, nil }

// avgPoolNode is nn.AvgPool (padded positions not counted).
type avgPoolNode struct {
	k, stride, pad int
	in             shape
	y, dx          kernels.Ptr
}

func (a *avgPoolNode) geom(batch int) kernels.Conv {
	return kernels.NewConv(a.in.c, batch, a.in.h, a.in.w, a.k, a.stride, a.pad)
}

func (a *avgPoolNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	return a.y, a.geom(batch).AvgPoolForward(n.Dev, n.DType, x, a.y)
}

func (a *avgPoolNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	return a.dx, a.geom(batch).AvgPoolBackward(n.Dev, n.DType, dy, a.dx)
}

func (a *avgPoolNode) plan(p *gradPlan, dy int) (int, error) {
	dx := p.get(a.in.size(), &a.dx)
	p.put(dy)
	return dx, nil
}

// cellNode is a NAS-Bench-201 cell: node j (1..3) the sum of its incoming
// edges applied to earlier nodes, node 3 the output. A node with one
// contribution is that contribution, one with none the zeros; the sums
// and the gradients add in the CPU engine's order.
type cellNode struct {
	size  int // values per sample, the same at every node
	edges []cellEdge
	sums  [4]kernels.Ptr // nodes with two or more contributions
	nodes [4]kernels.Ptr // the last forward pass's
	acc   [3]kernels.Ptr // gradients at nodes 0..2 (planned)
}

type cellEdge struct {
	from, to int
	skip     bool
	nd       node
	// Set by plan for backward: the gradient at to is zero (nothing used
	// node to), and this edge writes the gradient at from first.
	zeroDy, first bool
}

func (c *cellNode) forward(n *Net, x kernels.Ptr, batch int, train bool) (kernels.Ptr, error) {
	c.nodes = [4]kernels.Ptr{x, n.zeros, n.zeros, n.zeros}
	var count [4]int
	for _, e := range c.edges {
		v := c.nodes[e.from]
		if !e.skip {
			var err error
			if v, err = e.nd.forward(n, v, batch, train); err != nil {
				return 0, err
			}
		}
		switch count[e.to] {
		case 0:
			c.nodes[e.to] = v
		case 1:
			if err := kernels.Add(n.Dev, n.DType, c.size*batch, c.nodes[e.to], v, c.sums[e.to]); err != nil {
				return 0, err
			}
			c.nodes[e.to] = c.sums[e.to]
		default:
			if err := kernels.Add(n.Dev, n.DType, c.size*batch, c.sums[e.to], v, c.sums[e.to]); err != nil {
				return 0, err
			}
		}
		count[e.to]++
	}
	return c.nodes[3], nil
}

func (c *cellNode) backward(n *Net, dy kernels.Ptr, batch int) (kernels.Ptr, error) {
	grads := [4]kernels.Ptr{n.zeros, n.zeros, n.zeros, dy}
	m := c.size * batch
	for i := len(c.edges) - 1; i >= 0; i-- {
		e := c.edges[i]
		g := grads[e.to]
		if e.zeroDy {
			g = n.zeros
		}
		if !e.skip {
			var err error
			if g, err = e.nd.backward(n, g, batch); err != nil {
				return 0, err
			}
		}
		acc := c.acc[e.from]
		if e.first {
			// A copy: the sum of g and nothing.
			if err := kernels.Add(n.Dev, n.DType, m, g, n.zeros, acc); err != nil {
				return 0, err
			}
			grads[e.from] = acc
		} else if err := kernels.Add(n.Dev, n.DType, m, acc, g, acc); err != nil {
			return 0, err
		}
	}
	return grads[0], nil
}

// plan holds each node's gradient until the edges into it have read it.
func (c *cellNode) plan(p *gradPlan, dy int) (int, error) {
	const unset = -3
	g := [4]int{unset, unset, unset, dy}
	for i := len(c.edges) - 1; i >= 0; i-- {
		e := &c.edges[i]
		in := g[e.to]
		e.zeroDy = in == unset
		if e.zeroDy {
			in = external
		}
		contrib := in
		if !e.skip {
			p.retain(in)
			var err error
			if contrib, err = e.nd.plan(p, in); err != nil {
				return 0, err
			}
			if contrib == noGrad {
				return 0, fmt.Errorf("a cell edge computes no input gradient")
			}
		}
		e.first = g[e.from] == unset
		if e.first {
			g[e.from] = p.get(c.size, &c.acc[e.from])
		}
		if !e.skip {
			p.put(contrib)
		}
		// Edges run by decreasing destination: the last into e.to is done.
		if i == 0 || c.edges[i-1].to != e.to {
			if g[e.to] != unset {
				p.put(g[e.to])
			}
			g[e.to] = unset // no more readers; a later edge from it cannot exist
		}
	}
	for j := 1; j < 4; j++ {
		if g[j] != unset {
			p.put(g[j])
		}
	}
	if g[0] == unset {
		return external, nil
	}
	return g[0], nil
}
