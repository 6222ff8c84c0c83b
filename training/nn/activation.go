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

// code is the backend's name for the activation.
func (k ActKind) code() tensor.Act {
	switch k {
	case ReLU:
		return tensor.ActReLU
	case ReLU6:
		return tensor.ActReLU6
	case HardSwish:
		return tensor.ActHardSwish
	case HardSigmoid:
		return tensor.ActHardSigmoid
	}
	panic(fmt.Sprintf("nn: unknown activation %d", int(k)))
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
	code := a.Kind.code()
	a.be.For(x.Len(), elemGrain, func(lo, hi int) { a.be.AffineAct(code, x.Data[lo:hi], a.y.Data[lo:hi], 1, 0) })
	return a.y
}

// Backward implements Layer.
func (a *Act) Backward(dy *tensor.Tensor) *tensor.Tensor {
	a.dx = tensor.Ensure(a.dx, dy.C, dy.N, dy.H, dy.W)
	code := a.Kind.code()
	a.be.For(dy.Len(), elemGrain, func(lo, hi int) {
		a.be.AffineActGrad(code, a.x.Data[lo:hi], dy.Data[lo:hi], a.dx.Data[lo:hi], 1, 0, 0)
	})
	return a.dx
}

// Params implements Layer.
func (a *Act) Params() []*Param { return nil }

// Buffers implements Layer.
func (a *Act) Buffers() []*Buffer { return nil }
