package networks

import (
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// NAS-Bench-201 edge operations, in the order of the architecture's indices.
const (
	nbNone = iota
	nbSkip
	nbConv1x1
	nbConv3x3
	nbAvgPool
)

// nbEdges lists the cell's edges (from, to) in architecture order:
// 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.
var nbEdges = [6][2]int{{0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}}

// Cell is a NAS-Bench-201 cell: four nodes, node j the sum of the edge
// operations applied to every earlier node, node 3 the output.
type Cell struct {
	ops   [6]int
	edges [6]nn.Layer // nil for none and skip
	be    tensor.Backend
	nodes [4]*tensor.Tensor
	grads [4]*tensor.Tensor
	sums  [4]*tensor.Tensor
}

func reluConvBN(be tensor.Backend, r *rand.Rand, c, k int) nn.Layer {
	return nn.NewSequential(nn.NewAct(be, nn.ReLU), nn.NewConv(be, r, nn.ConvSpec{In: c, Out: c, K: k, Pad: k / 2}), nn.NewBatchNorm(be, c))
}

func newCell(be tensor.Backend, r *rand.Rand, ops []int, c int) *Cell {
	cell := &Cell{be: be}
	copy(cell.ops[:], ops)
	for e, op := range ops {
		switch op {
		case nbConv1x1:
			cell.edges[e] = reluConvBN(be, r, c, 1)
		case nbConv3x3:
			cell.edges[e] = reluConvBN(be, r, c, 3)
		case nbAvgPool:
			cell.edges[e] = nn.NewAvgPool(be, 3, 1, 1)
		}
	}
	return cell
}

func addInto(be tensor.Backend, dst, src []float32) {
	be.For(len(dst), 1<<14, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}

// Forward implements nn.Layer.
func (c *Cell) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	c.nodes[0] = x
	for j := 1; j < 4; j++ {
		c.sums[j] = tensor.Ensure(c.sums[j], x.C, x.N, x.H, x.W)
		c.sums[j].Zero()
		c.nodes[j] = c.sums[j]
	}
	for e, ft := range nbEdges {
		in, out := c.nodes[ft[0]], c.sums[ft[1]]
		switch c.ops[e] {
		case nbNone:
		case nbSkip:
			addInto(c.be, out.Data, in.Data)
		default:
			addInto(c.be, out.Data, c.edges[e].Forward(in, train).Data)
		}
	}
	return c.nodes[3]
}

// Backward implements nn.Layer.
func (c *Cell) Backward(dy *tensor.Tensor) *tensor.Tensor {
	for j := 0; j < 3; j++ {
		c.grads[j] = tensor.Ensure(c.grads[j], dy.C, dy.N, dy.H, dy.W)
		c.grads[j].Zero()
	}
	c.grads[3] = dy
	// Edges into later nodes first, so a node's gradient is complete
	// before it flows back through the edges that feed it.
	for e := len(nbEdges) - 1; e >= 0; e-- {
		from, to := nbEdges[e][0], nbEdges[e][1]
		switch c.ops[e] {
		case nbNone:
		case nbSkip:
			addInto(c.be, c.grads[from].Data, c.grads[to].Data)
		default:
			addInto(c.be, c.grads[from].Data, c.edges[e].Backward(c.grads[to]).Data)
		}
	}
	return c.grads[0]
}

// Params implements nn.Layer.
func (c *Cell) Params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range c.edges {
		if l != nil {
			ps = append(ps, l.Params()...)
		}
	}
	return ps
}

// Buffers implements nn.Layer.
func (c *Cell) Buffers() []*nn.Buffer {
	var bs []*nn.Buffer
	for _, l := range c.edges {
		if l != nil {
			bs = append(bs, l.Buffers()...)
		}
	}
	return bs
}

// reduction is NAS-Bench-201's residual reduction block: ReLU-conv3x3(s2)-BN,
// ReLU-conv3x3-BN, plus a shortcut of 2x2 average pooling and a 1x1 conv.
func reduction(be tensor.Backend, r *rand.Rand, in, out int) nn.Layer {
	body := nn.NewSequential(
		nn.NewAct(be, nn.ReLU), nn.NewConv(be, r, nn.ConvSpec{In: in, Out: out, K: 3, Stride: 2, Pad: 1}), nn.NewBatchNorm(be, out),
		nn.NewAct(be, nn.ReLU), nn.NewConv(be, r, nn.ConvSpec{In: out, Out: out, K: 3, Pad: 1}), nn.NewBatchNorm(be, out),
	)
	short := nn.NewSequential(nn.NewAvgPool(be, 2, 2, 0), nn.NewConv(be, r, nn.ConvSpec{In: in, Out: out, K: 1}))
	return nn.NewResidual(be, body, short)
}

// buildNB201 builds the NAS-Bench-201 network: stem conv3x3 + BN, three
// stages of `cells` cells at c, 2c, 4c channels with reduction blocks
// between them, BN + ReLU, pooling and a classifier.
func buildNB201(be tensor.Backend, r *rand.Rand, arch []int, classes, cells, c int) (*nn.Sequential, error) {
	if err := checkArch(space.NB201Name, arch, 6, 5); err != nil {
		return nil, err
	}
	stem := convBN(be, r, nn.ConvSpec{In: 3, Out: c, K: 3, Pad: 1}, 0, false)
	firstConv(stem)
	net := nn.NewSequential(stem)
	w := c
	for st := 0; st < 3; st++ {
		if st > 0 {
			net.Layers = append(net.Layers, reduction(be, r, w, 2*w))
			w *= 2
		}
		for i := 0; i < cells; i++ {
			net.Layers = append(net.Layers, newCell(be, r, arch, w))
		}
	}
	net.Layers = append(net.Layers, nn.NewBatchNorm(be, w), nn.NewAct(be, nn.ReLU))
	net.Layers = append(net.Layers, head(be, r, w, classes)...)
	return net, nil
}

// Children implements nn.Container.
func (c *Cell) Children() []nn.Layer {
	var ls []nn.Layer
	for _, l := range c.edges {
		if l != nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// CellEdge is one edge of a cell: node From feeds node To through Layer,
// or unchanged when Skip. Node 0 is the cell's input, node 3 its output.
type CellEdge struct {
	From, To int
	Skip     bool
	Layer    nn.Layer
}

// Edges lists the cell's edges that carry something (all but "none"), in
// architecture order, for engines that run a cell themselves.
func (c *Cell) Edges() []CellEdge {
	var es []CellEdge
	for e, ft := range nbEdges {
		switch c.ops[e] {
		case nbNone:
		case nbSkip:
			es = append(es, CellEdge{From: ft[0], To: ft[1], Skip: true})
		default:
			es = append(es, CellEdge{From: ft[0], To: ft[1], Layer: c.edges[e]})
		}
	}
	return es
}
