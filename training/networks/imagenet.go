package networks

import (
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// The ImageNet space's geometry (the paper's; the same tables as package
// flops, kept here so a change there cannot silently change what trains —
// the tests check the two agree).
var (
	imageNetStages = [5]struct{ in, out, stride int }{{16, 24, 2}, {24, 40, 2}, {40, 80, 2}, {80, 96, 1}, {96, 192, 2}}
	imageNetOps    = [7]struct{ kernel, expand int }{{0, 0}, {3, 4}, {5, 4}, {7, 4}, {3, 6}, {5, 6}, {7, 6}}
)

const imageNetSlots = 6

// makeDivisible rounds v to a multiple of 8, never below 8 nor more than
// 10% below v (the MobileNet rule).
func makeDivisible(v float64) int {
	n := int(v+4) / 8 * 8
	if n < 8 {
		n = 8
	}
	if float64(n) < 0.9*v {
		n += 8
	}
	return n
}

// invertedResidual is expand 1x1 + BN + act, depthwise k + BN + act,
// optional SE, project 1x1 + BN; with a residual when shapes allow.
func invertedResidual(be tensor.Backend, r *rand.Rand, in, hidden, out, k, stride int, act nn.ActKind, se bool) nn.Layer {
	body := nn.NewSequential(
		convBN(be, r, nn.ConvSpec{In: in, Out: hidden, K: 1}, act, true),
		convBN(be, r, nn.ConvSpec{In: hidden, Out: hidden, K: k, Stride: stride, Pad: k / 2, Groups: hidden}, act, true),
	)
	if se {
		body.Layers = append(body.Layers, nn.NewSE(be, r, hidden, makeDivisible(float64(hidden)*0.25)))
	}
	body.Layers = append(body.Layers, convBN(be, r, nn.ConvSpec{In: hidden, Out: out, K: 1}, 0, false))
	if in == out && stride == 1 {
		return nn.NewResidual(be, body, nil)
	}
	return body
}

// buildImageNet builds the paper's ImageNet space: stem,
// depthwise-separable block, five searched stages of six slots, head.
func buildImageNet(be tensor.Backend, r, dropRNG *rand.Rand, arch []int, classes int, dropout float64) (*nn.Sequential, error) {
	if err := checkArch(space.ImageNetName, arch, len(imageNetStages)*imageNetSlots, len(imageNetOps)); err != nil {
		return nil, err
	}
	const hs = nn.HardSwish
	stem := convBN(be, r, nn.ConvSpec{In: 3, Out: 16, K: 3, Stride: 2, Pad: 1}, hs, true)
	firstConv(stem)
	net := nn.NewSequential(stem,
		nn.NewResidual(be, nn.NewSequential(
			convBN(be, r, nn.ConvSpec{In: 16, Out: 16, K: 3, Pad: 1, Groups: 16}, hs, true),
			nn.NewSE(be, r, 16, makeDivisible(16*0.25)),
			convBN(be, r, nn.ConvSpec{In: 16, Out: 16, K: 1}, 0, false),
		), nil))
	for st, sg := range imageNetStages {
		for sl := 0; sl < imageNetSlots; sl++ {
			op := arch[st*imageNetSlots+sl]
			in, stride := sg.in, sg.stride
			if sl > 0 {
				in, stride = sg.out, 1
			}
			if op == 0 {
				if sl == 0 {
					net.Layers = append(net.Layers, convBN(be, r, nn.ConvSpec{In: in, Out: sg.out, K: 1, Stride: stride}, 0, false))
				}
				continue
			}
			o := imageNetOps[op]
			hidden := makeDivisible(float64(in * o.expand))
			net.Layers = append(net.Layers, invertedResidual(be, r, in, hidden, sg.out, o.kernel, stride, hs, true))
		}
	}
	net.Layers = append(net.Layers,
		convBN(be, r, nn.ConvSpec{In: 192, Out: 320, K: 1}, hs, true),
		nn.NewGlobalAvgPool(be),
		nn.NewConv(be, r, nn.ConvSpec{In: 320, Out: 1280, K: 1, Bias: true}),
		nn.NewAct(be, hs),
	)
	if dropout > 0 {
		net.Layers = append(net.Layers, nn.NewDropout(dropRNG, dropout))
	}
	net.Layers = append(net.Layers, nn.NewLinear(be, r, 1280, classes))
	return net, nil
}
