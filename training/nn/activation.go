package nn

import (
	"fmt"

	"github.com/genius-nas/genius/training/tensor"
)

// ActKind selects an elementwise activation.
type ActKind int

// The activations of the search spaces.
const (
	ReLU ActKind = iota
	ReLU6
	HardSwish
	HardSigmoid
)

func (k ActKind) String() string {
	switch k {
	case ReLU:
		return "relu"
	case ReLU6:
		return "relu6"
	case HardSwish:
		return "hardswish"
	case HardSigmoid:
		return "hardsigmoid"
	}
	return fmt.Sprintf("ActKind(%d)", int(k))
}

// Act applies an activation elementwise.
type Act struct {
	Kind  ActKind
	be    tensor.Backend
	x     *tensor.Tensor
	y, dx *tensor.Tensor
}

// NewAct returns an activation layer.
func NewAct(be tensor.Backend, k ActKind) *Act { return &Act{Kind: k, be: be} }

// Forward implements Layer.
func (a *Act) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	a.x = x
	a.y = tensor.Ensure(a.y, x.C, x.N, x.H, x.W)
	kind := a.Kind
	a.be.For(x.Len(), elemGrain, func(lo, hi int) { actForward(kind, x.Data[lo:hi], a.y.Data[lo:hi]) })
	return a.y
}

// Backward implements Layer.
func (a *Act) Backward(dy *tensor.Tensor) *tensor.Tensor {
	a.dx = tensor.Ensure(a.dx, dy.C, dy.N, dy.H, dy.W)
	kind := a.Kind
	a.be.For(dy.Len(), elemGrain, func(lo, hi int) { actBackward(kind, a.x.Data[lo:hi], dy.Data[lo:hi], a.dx.Data[lo:hi]) })
	return a.dx
}

// actForward writes kind(src) into dst (which may be src).
func actForward(kind ActKind, src, dst []float32) {
	dst = dst[:len(src)]
	switch kind {
	case ReLU:
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	case ReLU6:
		for i, v := range src {
			dst[i] = min(max(v, 0), 6)
		}
	case HardSwish:
		for i, v := range src {
			dst[i] = v * min(max(v+3, 0), 6) * (1.0 / 6)
		}
	case HardSigmoid:
		for i, v := range src {
			dst[i] = min(max(v+3, 0), 6) * (1.0 / 6)
		}
	}
}

// actBackward writes g * kind'(x) into d (which may be g).
func actBackward(kind ActKind, x, g, d []float32) {
	g, d = g[:len(x)], d[:len(x)]
	switch kind {
	case ReLU:
		for i, v := range x {
			if v <= 0 {
				d[i] = 0
			} else {
				d[i] = g[i]
			}
		}
	case ReLU6:
		for i, v := range x {
			if v <= 0 || v >= 6 {
				d[i] = 0
			} else {
				d[i] = g[i]
			}
		}
	case HardSwish:
		for i, v := range x {
			switch {
			case v < -3:
				d[i] = 0
			case v > 3:
				d[i] = g[i]
			default:
				d[i] = g[i] * (2*v + 3) * (1.0 / 6)
			}
		}
	case HardSigmoid:
		for i, v := range x {
			if v > -3 && v < 3 {
				d[i] = g[i] * (1.0 / 6)
			} else {
				d[i] = 0
			}
		}
	}
}

// Params implements Layer.
func (a *Act) Params() []*Param { return nil }

// Buffers implements Layer.
func (a *Act) Buffers() []*Buffer { return nil }
