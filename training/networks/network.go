package networks

import (
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// Options configures Build. Zero fields take the documented defaults.
type Options struct {
	// Classes is the number of outputs. Default 1000 for
	// mobilenetv2-imagenet, 10 for the CIFAR spaces.
	Classes int
	// Dropout before the classifier of mobilenetv2-imagenet. Default 0.2;
	// negative disables it.
	Dropout float64
	// Seed drives initialisation and dropout. Default 0 (still fixed).
	Seed uint64
	// NB201Cells is the number of cells per stage of the NAS-Bench-201
	// network. Default 5 (the benchmark's network).
	NB201Cells int
	// NB201Channels is the width of its first stage. Default 16.
	NB201Channels int
}

// Network is a classifier built from an architecture. It is not safe for
// concurrent use: its layers own their buffers.
type Network struct {
	Space   string
	Arch    []int
	Classes int
	Body    *nn.Sequential
	// Source is the generator behind dropout; a checkpoint saves its state.
	Source *rand.PCG

	params  []*nn.Param
	buffers []*nn.Buffer
}

// Forward returns the logits (Classes x N, 1x1) for a batch.
func (n *Network) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	return n.Body.Forward(x, train)
}

// Backward propagates the loss gradient with respect to the logits and
// leaves every parameter's gradient in Param.G.
func (n *Network) Backward(dlogits *tensor.Tensor) { n.Body.Backward(dlogits) }

// Params lists the trainable parameters in a fixed order, named by
// position ("012.conv.weight").
func (n *Network) Params() []*nn.Param { return n.params }

// Buffers lists the batch-norm running statistics in a fixed order.
func (n *Network) Buffers() []*nn.Buffer { return n.buffers }

// NumParams counts the trainable parameters.
func (n *Network) NumParams() int64 {
	var s int64
	for _, p := range n.params {
		s += int64(len(p.W))
	}
	return s
}

// Build returns the network of arch in the named space.
func Build(be tensor.Backend, spaceName string, arch []int, o Options) (*Network, error) {
	src := rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15)
	r := rand.New(src)
	init := rand.New(rand.NewPCG(o.Seed, 1))
	var (
		body *nn.Sequential
		err  error
	)
	classes := o.Classes
	switch spaceName {
	case space.ImageNetName:
		if classes <= 0 {
			classes = 1000
		}
		drop := o.Dropout
		if drop == 0 {
			drop = 0.2
		}
		body, err = buildImageNet(be, init, r, arch, classes, max(drop, 0))
	case space.NASBenchMacroName:
		body, err = buildMacro(be, init, arch, defClasses(classes))
	case space.ChannelResNetName:
		body, err = buildChannelResNet(be, init, arch, defClasses(classes))
	case space.ChannelMobileNetName:
		body, err = buildChannelMobileNet(be, init, arch, defClasses(classes))
	case space.NB201Name:
		cells, ch := o.NB201Cells, o.NB201Channels
		if cells <= 0 {
			cells = 5
		}
		if ch <= 0 {
			ch = 16
		}
		body, err = buildNB201(be, init, arch, defClasses(classes), cells, ch)
	default:
		return nil, fmt.Errorf("networks: no network for search space %q: use %s, %s, %s, %s or %s", spaceName,
			space.ImageNetName, space.NASBenchMacroName, space.ChannelResNetName, space.ChannelMobileNetName, space.NB201Name)
	}
	if err != nil {
		return nil, err
	}
	if classes <= 0 {
		classes = 10
	}
	n := &Network{Space: spaceName, Arch: append([]int(nil), arch...), Classes: classes, Body: body, Source: src}
	for i, p := range body.Params() {
		p.Name = fmt.Sprintf("%03d.%s", i, p.Name)
		n.params = append(n.params, p)
	}
	for i, b := range body.Buffers() {
		b.Name = fmt.Sprintf("%03d.%s", i, b.Name)
		n.buffers = append(n.buffers, b)
	}
	return n, nil
}

func defClasses(c int) int {
	if c <= 0 {
		return 10
	}
	return c
}

// ArchError is an architecture that does not fit its search space.
type ArchError struct{ msg string }

func (e *ArchError) Error() string { return "networks: " + e.msg }

func checkArch(name string, arch []int, positions, options int) error {
	if len(arch) != positions {
		return &ArchError{fmt.Sprintf("%s takes %d choices, got %d", name, positions, len(arch))}
	}
	for i, v := range arch {
		if v < 0 || v >= options {
			return &ArchError{fmt.Sprintf("%s position %d is %d, allowed 0..%d", name, i+1, v, options-1)}
		}
	}
	return nil
}

// convBN is conv + batch norm, with the activation fused into the batch
// norm when withAct is set.
func convBN(be tensor.Backend, r *rand.Rand, s nn.ConvSpec, act nn.ActKind, withAct bool) *nn.Sequential {
	bn := nn.NewBatchNorm(be, s.Out)
	if withAct {
		bn = nn.NewBatchNormAct(be, s.Out, act)
	}
	return nn.NewSequential(nn.NewConv(be, r, s), bn)
}

// firstConv marks the network's first convolution so it skips the input
// gradient nobody needs.
func firstConv(l nn.Layer) {
	switch v := l.(type) {
	case *nn.Conv:
		v.NoInputGrad = true
	case *nn.Sequential:
		if len(v.Layers) > 0 {
			firstConv(v.Layers[0])
		}
	}
}

// BatchNorms lists the network's batch-norm layers in a fixed order.
func (n *Network) BatchNorms() []*nn.BatchNorm {
	var bns []*nn.BatchNorm
	nn.Walk(n.Body, func(l nn.Layer) {
		if b, ok := l.(*nn.BatchNorm); ok {
			bns = append(bns, b)
		}
	})
	return bns
}
