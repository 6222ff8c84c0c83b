package networks

import (
	"fmt"
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// head is global average pooling and a linear classifier.
func head(be tensor.Backend, r *rand.Rand, in, classes int) []nn.Layer {
	return []nn.Layer{nn.NewGlobalAvgPool(be), nn.NewLinear(be, r, in, classes)}
}

// buildMacro builds NAS-Bench-Macro: 3x3 stem (32), three stages of 2, 3, 3
// searched layers at 64, 128, 256 channels whose first layer has stride 2,
// 1x1 conv to 1280, pooling and a classifier. Ops: 0 identity (1x1 conv +
// BN where the shape changes), 1 inverted residual k3 e3, 2 k5 e6.
func buildMacro(be tensor.Backend, r *rand.Rand, arch []int, classes int) (*nn.Sequential, error) {
	if err := checkArch(space.NASBenchMacroName, arch, 8, 3); err != nil {
		return nil, err
	}
	stem := convBN(be, r, nn.ConvSpec{In: 3, Out: 32, K: 3, Pad: 1}, nn.ReLU, true)
	firstConv(stem)
	net := nn.NewSequential(stem)
	in, pos := 32, 0
	for st, layers := range []int{2, 3, 3} {
		out := 64 << st
		for l := 0; l < layers; l++ {
			stride := 1
			if l == 0 {
				stride = 2
			}
			switch arch[pos] {
			case 0:
				if stride != 1 || in != out {
					net.Layers = append(net.Layers, convBN(be, r, nn.ConvSpec{In: in, Out: out, K: 1, Stride: stride}, 0, false))
				}
			case 1:
				net.Layers = append(net.Layers, invertedResidual(be, r, in, in*3, out, 3, stride, nn.ReLU, false))
			case 2:
				net.Layers = append(net.Layers, invertedResidual(be, r, in, in*6, out, 5, stride, nn.ReLU, false))
			}
			in = out
			pos++
		}
	}
	net.Layers = append(net.Layers, convBN(be, r, nn.ConvSpec{In: in, Out: 1280, K: 1}, nn.ReLU, true))
	net.Layers = append(net.Layers, head(be, r, 1280, classes)...)
	return net, nil
}

// channels turns width choices (index i = (i+1) x base) into channel counts.
func channels(name string, arch, base []int) ([]int, error) {
	if err := checkArch(name, arch, len(base), 4); err != nil {
		return nil, err
	}
	ch := make([]int, len(base))
	for i, v := range arch {
		ch[i] = (v + 1) * base[i]
	}
	return ch, nil
}

// basicBlock is Channel-Bench's residual block: conv3x3(stride) BN ReLU
// conv3x3 BN, added to the input when stride is 1, then ReLU.
func basicBlock(be tensor.Backend, r *rand.Rand, in, mid, out, stride int) nn.Layer {
	body := nn.NewSequential(
		convBN(be, r, nn.ConvSpec{In: in, Out: mid, K: 3, Stride: stride, Pad: 1}, nn.ReLU, true),
		convBN(be, r, nn.ConvSpec{In: mid, Out: out, K: 3, Pad: 1}, 0, false),
	)
	var l nn.Layer = body
	if stride == 1 {
		if in != out {
			panic(fmt.Sprintf("networks: residual block %d->%d needs stride 2", in, out))
		}
		l = nn.NewResidual(be, body, nil)
	}
	return nn.NewSequential(l, nn.NewAct(be, nn.ReLU))
}

// buildChannelResNet builds Channel-Bench-Macro's ResNet (bases 64, 64, 64,
// 128, 128, 128, 128): stem conv3x3 stride 2, blocks 1-2 at the stem width,
// block 3 stride 2 without shortcut, blocks 4-5, pooling, classifier.
func buildChannelResNet(be tensor.Backend, r *rand.Rand, arch []int, classes int) (*nn.Sequential, error) {
	c, err := channels(space.ChannelResNetName, arch, []int{64, 64, 64, 128, 128, 128, 128})
	if err != nil {
		return nil, err
	}
	stem := convBN(be, r, nn.ConvSpec{In: 3, Out: c[0], K: 3, Stride: 2, Pad: 1}, nn.ReLU, true)
	firstConv(stem)
	net := nn.NewSequential(stem,
		basicBlock(be, r, c[0], c[1], c[0], 1),
		basicBlock(be, r, c[0], c[2], c[0], 1),
		basicBlock(be, r, c[0], c[3], c[4], 2),
		basicBlock(be, r, c[4], c[5], c[4], 1),
		basicBlock(be, r, c[4], c[6], c[4], 1),
	)
	net.Layers = append(net.Layers, head(be, r, c[4], classes)...)
	return net, nil
}

// buildChannelMobileNet builds Channel-Bench-Macro's MobileNet (bases 32,
// 192, 192, 192, 64, 384, 256): stem conv3x3 stride 2, inverted residuals
// with the searched hidden widths (ReLU, k3), 1x1 conv, pooling, classifier.
func buildChannelMobileNet(be tensor.Backend, r *rand.Rand, arch []int, classes int) (*nn.Sequential, error) {
	c, err := channels(space.ChannelMobileNetName, arch, []int{32, 192, 192, 192, 64, 384, 256})
	if err != nil {
		return nil, err
	}
	stem := convBN(be, r, nn.ConvSpec{In: 3, Out: c[0], K: 3, Stride: 2, Pad: 1}, nn.ReLU, true)
	firstConv(stem)
	net := nn.NewSequential(stem,
		invertedResidual(be, r, c[0], c[1], c[0], 3, 1, nn.ReLU, false),
		invertedResidual(be, r, c[0], c[2], c[0], 3, 1, nn.ReLU, false),
		invertedResidual(be, r, c[0], c[3], c[4], 3, 2, nn.ReLU, false),
		invertedResidual(be, r, c[4], c[5], c[4], 3, 1, nn.ReLU, false),
		convBN(be, r, nn.ConvSpec{In: c[4], Out: c[6], K: 1}, nn.ReLU, true),
	)
	net.Layers = append(net.Layers, head(be, r, c[6], classes)...)
	return net, nil
}
