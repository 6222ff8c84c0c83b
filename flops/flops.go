package flops

import (
	"fmt"
	"math"
)

// Space geometry of mobilenetv2-imagenet (paper Table 14).
const (
	// Stages is the number of searched stages.
	Stages = 5
	// SlotsPerStage is the number of searched slots in each stage.
	SlotsPerStage = 6
	// Ops is the number of operators a slot chooses from.
	Ops = 7
	// Positions is the length of an architecture: one op per slot.
	Positions = Stages * SlotsPerStage

	stemOut    = 16
	headIn     = 192
	headMid    = 320
	headOut    = 1280
	divisor    = 8    // expanded and SE widths are multiples of this
	seRatio    = 0.25 // SE width as a share of the expanded width
	defInput   = 224
	defClass   = 1000
	stemStride = 2
)

// Stage describes one searched stage.
type Stage struct {
	In, Out int // channels entering and leaving the stage
	Stride  int // stride of its first slot
}

// Op is one operator of a slot; op 0 (skip) has Kernel 0.
type Op struct {
	Kernel, Expand int
}

// StageTable returns the five searched stages.
func StageTable() [Stages]Stage {
	return [Stages]Stage{{16, 24, 2}, {24, 40, 2}, {40, 80, 2}, {80, 96, 1}, {96, 192, 2}}
}

// OpTable returns the seven operators: 0 skip, then inverted residuals
// (kernel, expansion) (3,4) (5,4) (7,4) (3,6) (5,6) (7,6).
func OpTable() [Ops]Op {
	return [Ops]Op{{0, 0}, {3, 4}, {5, 4}, {7, 4}, {3, 6}, {5, 6}, {7, 6}}
}

// Options sets the input and output sizes the network is counted at.
// Zero (or negative) fields take their defaults.
type Options struct {
	// Input is the square input resolution in pixels. Default 224, the
	// resolution the paper's FLOPs budgets refer to (its proxy training
	// uses 196).
	Input int `json:"input,omitempty"`
	// Classes is the number of classifier outputs. Default 1000.
	Classes int `json:"classes,omitempty"`
}

func (o Options) normalized() Options {
	if o.Input <= 0 {
		o.Input = defInput
	}
	if o.Classes <= 0 {
		o.Classes = defClass
	}
	return o
}

// Count is the cost of a network or part of one.
type Count struct {
	// MACs are multiply-accumulates as thop counts them ("FLOPs" in the
	// paper). Always a whole number; float64 to match thop's totals.
	MACs float64 `json:"macs"`
	// Params is the number of learnable parameters.
	Params int64 `json:"params"`
}

// FLOPsM is MACs in millions, the unit of the paper's budgets.
func (c Count) FLOPsM() float64 { return c.MACs / 1e6 }

// ParamsM is Params in millions.
func (c Count) ParamsM() float64 { return float64(c.Params) / 1e6 }

// Kind is the type of a counted module.
type Kind string

// Module kinds.
const (
	KindConv   Kind = "conv"
	KindBN     Kind = "bn"
	KindPool   Kind = "pool"
	KindLinear Kind = "linear"
)

// Layer is one counted module of a network, with its shape, so a training
// engine can check its own network against the counter layer by layer.
type Layer struct {
	// Block is "stem", "dwsep", "stage<k>.<slot>" (stage 1-based, slot
	// 0-based) or "head".
	Block string `json:"block"`
	// Op is the operator chosen for a searched slot, -1 outside the stages.
	Op int `json:"op"`
	// Name is the module within its block: conv, bn, dw, dw_bn, se_reduce,
	// se_expand, expand, expand_bn, project, project_bn, pool, conv_out,
	// classifier.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// In and Out are channels (features for the classifier).
	In  int `json:"in"`
	Out int `json:"out"`
	// Kernel, Stride and Groups describe convolutions and pools.
	Kernel int `json:"kernel,omitempty"`
	Stride int `json:"stride,omitempty"`
	Groups int `json:"groups,omitempty"`
	// InSize and OutSize are spatial sizes (square).
	InSize  int  `json:"in_size"`
	OutSize int  `json:"out_size"`
	Bias    bool `json:"bias,omitempty"`
	// Residual is set on every module of a block whose input is added to
	// its output (the dwsep block and slots 1..5 of a stage).
	Residual bool  `json:"residual,omitempty"`
	MACs     int64 `json:"macs"`
	Params   int64 `json:"params"`
}

// kind is a module's type without a string compare on the hot path.
type kind uint8

const (
	conv kind = iota
	bn
	pool
	linear
)

func (k kind) public() Kind {
	return [...]Kind{KindConv, KindBN, KindPool, KindLinear}[k]
}

// block identifies where a module sits, without building strings.
type block struct {
	kind        uint8 // blockStem, blockDW, blockSlot, blockHead
	stage, slot int
	op          int
	residual    bool
}

const (
	blockStem uint8 = iota
	blockDW
	blockSlot
	blockHead
)

// module is a counted layer before naming.
type module struct {
	name              string
	kind              kind
	in, out           int
	k, stride, groups int
	inSize, outSize   int
	bias              bool
}

// cost is thop's count for one module, and its parameter count.
func (m module) cost() (macs, params int64) {
	switch m.kind {
	case conv:
		w := int64(m.out) * int64(m.in/m.groups) * int64(m.k*m.k)
		macs = int64(m.outSize*m.outSize) * w
		params = w
		if m.bias {
			params += int64(m.out)
		}
	case bn:
		macs = 4 * int64(m.out) * int64(m.outSize*m.outSize)
		params = 2 * int64(m.out)
	case pool:
		// Adaptive pool to 1x1: kernel = whole map, (kernel + 1) per output.
		macs = int64(m.inSize*m.inSize+1) * int64(m.out)
	case linear:
		macs = int64(m.in) * int64(m.out)
		params = macs + int64(m.out)
	}
	return macs, params
}

// convOut is PyTorch's output size for a "same"-padded convolution.
func convOut(size, k, stride int) int {
	return (size+2*(k/2)-k)/stride + 1
}

// makeDivisible rounds v to the nearest multiple of divisor, never below
// the divisor nor more than 10% below v (the MobileNet rule).
func makeDivisible(v float64) int {
	n := int(v+divisor/2) / divisor * divisor
	if n < divisor {
		n = divisor
	}
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// acc sums the cost of the modules a walker emits, and shows each to
// visit when set (Layers, Slots' grouping). A concrete type keeps the hot
// path (MobileNetV2) free of indirect calls and allocation.
type acc struct {
	macs, params int64
	visit        func(b block, m module)
}

func (a *acc) add(b block, m module) {
	mac, p := m.cost()
	a.macs += mac
	a.params += p
	if a.visit != nil {
		a.visit(b, m)
	}
}

// take returns the sums so far and resets them.
func (a *acc) take() Count {
	c := Count{MACs: float64(a.macs), Params: a.params}
	a.macs, a.params = 0, 0
	return c
}

// convBN emits a convolution and its batch norm, returns the output size.
func convBN(e *acc, b block, name, bnName string, in, out, k, stride, groups, size int) int {
	o := convOut(size, k, stride)
	e.add(b, module{name: name, kind: conv, in: in, out: out, k: k, stride: stride, groups: groups, inSize: size, outSize: o})
	e.add(b, module{name: bnName, kind: bn, in: out, out: out, inSize: o, outSize: o})
	return o
}

// se emits the squeeze-and-excitation convolutions on c channels; the
// squeeze is a functional mean and the gate a multiply, both free.
func se(e *acc, b block, c int) {
	mid := makeDivisible(float64(c) * seRatio)
	e.add(b, module{name: "se_reduce", kind: conv, in: c, out: mid, k: 1, stride: 1, groups: 1, inSize: 1, outSize: 1, bias: true})
	e.add(b, module{name: "se_expand", kind: conv, in: mid, out: c, k: 1, stride: 1, groups: 1, inSize: 1, outSize: 1, bias: true})
}

// stem emits the stem and the fixed depthwise-separable block; it returns
// the spatial size entering stage 1.
func stem(e *acc, size int) int {
	b := block{kind: blockStem, op: -1}
	size = convBN(e, b, "conv", "bn", 3, stemOut, 3, stemStride, 1, size)
	b = block{kind: blockDW, op: -1, residual: true}
	convBN(e, b, "dw", "dw_bn", stemOut, stemOut, 3, 1, stemOut, size)
	se(e, b, stemOut)
	convBN(e, b, "project", "project_bn", stemOut, stemOut, 1, 1, 1, size)
	return size
}

// slot emits one searched slot of stage st (0-based) at the given input
// size and returns its output size.
func slot(e *acc, st, sl, op, size int) int {
	sg := StageTable()[st]
	in, stride := sg.In, sg.Stride
	if sl > 0 {
		in, stride = sg.Out, 1
	}
	b := block{kind: blockSlot, stage: st, slot: sl, op: op, residual: sl > 0 && op > 0}
	if op == 0 {
		if sl > 0 {
			return size // the layer is removed
		}
		return convBN(e, b, "project", "project_bn", in, sg.Out, 1, stride, 1, size)
	}
	o := OpTable()[op]
	hidden := makeDivisible(float64(in * o.Expand))
	convBN(e, b, "expand", "expand_bn", in, hidden, 1, 1, 1, size)
	size = convBN(e, b, "dw", "dw_bn", hidden, hidden, o.Kernel, stride, hidden, size)
	se(e, b, hidden)
	return convBN(e, b, "project", "project_bn", hidden, sg.Out, 1, 1, 1, size)
}

// head emits the layers after the last stage.
func head(e *acc, size, classes int) {
	b := block{kind: blockHead, op: -1}
	size = convBN(e, b, "conv", "bn", headIn, headMid, 1, 1, 1, size)
	e.add(b, module{name: "pool", kind: pool, in: headMid, out: headMid, k: size, stride: 1, inSize: size, outSize: 1})
	e.add(b, module{name: "conv_out", kind: conv, in: headMid, out: headOut, k: 1, stride: 1, groups: 1, inSize: 1, outSize: 1, bias: true})
	e.add(b, module{name: "classifier", kind: linear, in: headOut, out: classes})
}

// Validate reports an error naming the first position of arch that is not
// a valid mobilenetv2-imagenet choice.
func Validate(arch []int) error {
	if len(arch) != Positions {
		return fmt.Errorf("mobilenetv2-imagenet: architecture has %d entries, want %d (%d stages × %d slots, each 0..%d)",
			len(arch), Positions, Stages, SlotsPerStage, Ops-1)
	}
	for i, v := range arch {
		if v < 0 || v >= Ops {
			return fmt.Errorf("mobilenetv2-imagenet: position %d (stage %d, slot %d) is %d, allowed 0..%d",
				i+1, i/SlotsPerStage+1, i%SlotsPerStage, v, Ops-1)
		}
	}
	return nil
}

// walk emits every module of the network arch at options o.
func walk(arch []int, o Options, e *acc) {
	size := stem(e, o.Input)
	for st := 0; st < Stages; st++ {
		for sl := 0; sl < SlotsPerStage; sl++ {
			size = slot(e, st, sl, arch[st*SlotsPerStage+sl], size)
		}
	}
	head(e, size, o.Classes)
}

// MobileNetV2 counts the MACs and parameters of the mobilenetv2-imagenet
// network arch (30 op indices, 0..6). At 224×224 and 1000 classes GENIUS-329
// is 329.41 M MACs and 6.97 M parameters.
func MobileNetV2(arch []int, opts Options) (Count, error) {
	if err := Validate(arch); err != nil {
		return Count{}, err
	}
	var a acc
	walk(arch, opts.normalized(), &a)
	return a.take(), nil
}

// Layers lists the counted modules of arch in network order. Their MACs
// and Params sum to MobileNetV2's count.
func Layers(arch []int, opts Options) ([]Layer, error) {
	if err := Validate(arch); err != nil {
		return nil, err
	}
	layers := make([]Layer, 0, 256)
	walk(arch, opts.normalized(), &acc{visit: func(b block, m module) {
		a, p := m.cost()
		l := Layer{Op: b.op, Name: m.name, Kind: m.kind.public(), In: m.in, Out: m.out, Kernel: m.k, Stride: m.stride,
			Groups: m.groups, InSize: m.inSize, OutSize: m.outSize, Bias: m.bias, Residual: b.residual, MACs: a, Params: p}
		switch b.kind {
		case blockStem:
			l.Block = "stem"
		case blockDW:
			l.Block = "dwsep"
		case blockSlot:
			l.Block = fmt.Sprintf("stage%d.%d", b.stage+1, b.slot)
		default:
			l.Block = "head"
		}
		layers = append(layers, l)
	}})
	return layers, nil
}

// FixedLayer is the cost of a part of the network the search does not
// change.
type FixedLayer struct {
	Name string `json:"name"`
	// MFLOPs is this counter's figure in millions; with the slot costs it
	// sums exactly to MobileNetV2's total.
	MFLOPs float64 `json:"mflops"`
	// Paper is the figure the paper's ImageNet prompt lists for this part
	// at 224×224 and 1000 classes (0 where the paper lists none, or at
	// other options). Three of them (the depthwise-separable block without
	// its second batch norm, 3.049 and 0.419) do not follow the counting
	// rules, so constraints are never checked against them.
	Paper float64 `json:"paper_mflops,omitempty"`
}

// SlotTable is the per-slot FLOPs table of the ImageNet prompt.
type SlotTable struct {
	Input   int `json:"input"`
	Classes int `json:"classes"`
	// First[s][op] is the cost in M of op in slot 0 of stage s (0-based);
	// Rest[s][op] that of op in any of slots 1..5 (0 for op 0).
	First [Stages][Ops]float64 `json:"first"`
	Rest  [Stages][Ops]float64 `json:"rest"`
	// Fixed lists the parts outside the searched stages, in network order.
	Fixed []FixedLayer `json:"fixed"`
}

// Slots generates the per-slot table at opts. Every entry includes the
// slot's batch norms and SE; at 224×224 it equals the paper's table to four
// decimals.
func Slots(opts Options) SlotTable {
	c := newCounter(opts)
	o := c.opts
	t := SlotTable{Input: o.Input, Classes: o.Classes}
	for st := range t.First {
		for op := range t.First[st] {
			t.First[st][op] = c.first[st][op].FLOPsM()
			t.Rest[st][op] = c.rest[st][op].FLOPsM()
		}
	}

	// The fixed parts, grouped as the paper's prompt lists them (the stem's
	// batch norm on a line of its own, since the paper gives the conv only).
	type part struct {
		name  string
		paper float64
		match func(b block, m module) bool
	}
	parts := []part{
		{"stem conv 3x3 3→16", 5.419, func(b block, m module) bool { return b.kind == blockStem && m.kind == conv }},
		{"stem batch norm", 0, func(b block, m module) bool { return b.kind == blockStem && m.kind == bn }},
		{"depthwise-separable block 16→16", 5.8207, func(b block, _ module) bool { return b.kind == blockDW }},
		{"conv 1x1 192→320 + batch norm", 3.049, func(b block, m module) bool {
			return b.kind == blockHead && m.name != "pool" && m.name != "conv_out" && m.name != "classifier"
		}},
		{"global average pool", 0.016, func(_ block, m module) bool { return m.name == "pool" }},
		{"conv 1x1 320→1280", 0.419, func(_ block, m module) bool { return m.name == "conv_out" }},
		{"classifier", 1.28, func(_ block, m module) bool { return m.name == "classifier" }},
	}
	// One walk sorts every fixed module into its part; the parts are disjoint.
	sums := make([]acc, len(parts))
	arch := make([]int, Positions) // skips only: the fixed parts are independent of the ops
	walk(arch, o, &acc{visit: func(b block, m module) {
		if b.kind == blockSlot {
			return
		}
		for i, p := range parts {
			if p.match(b, m) {
				sums[i].add(b, m)
				return
			}
		}
	}})
	paper := o.Input == defInput && o.Classes == defClass
	t.Fixed = make([]FixedLayer, len(parts))
	for i, p := range parts {
		t.Fixed[i] = FixedLayer{Name: p.name, MFLOPs: sums[i].take().FLOPsM()}
		if paper {
			t.Fixed[i].Paper = p.paper
		}
	}
	return t
}

// Round returns a copy of t with every figure rounded to the given number
// of decimals, as the prompt shows them.
func (t SlotTable) Round(decimals int) SlotTable {
	p := math.Pow(10, float64(decimals))
	r := func(v float64) float64 { return math.Round(v*p) / p }
	out := t
	for s := range out.First {
		for o := range out.First[s] {
			out.First[s][o] = r(out.First[s][o])
			out.Rest[s][o] = r(out.Rest[s][o])
		}
	}
	out.Fixed = make([]FixedLayer, len(t.Fixed))
	for i, f := range t.Fixed {
		f.MFLOPs = r(f.MFLOPs)
		out.Fixed[i] = f
	}
	return out
}
