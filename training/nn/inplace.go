package nn

import "github.com/genius-nas/genius/training/tensor"

// ReLUInPlace replaces t by relu(t). It is for a network's private chain
// of layers whose outputs only it reads (RetinaNet's subnets: a
// convolution's backward pass needs its input, not its output), where a
// separate Act would hold two more buffers per use.
func ReLUInPlace(be tensor.Backend, t *tensor.Tensor) {
	be.For(t.Len(), elemGrain, func(lo, hi int) {
		be.AffineAct(tensor.ActReLU, t.Data[lo:hi], t.Data[lo:hi], 1, 0)
	})
}

// ReLUGradInPlace turns dy, the gradient at the output y of ReLUInPlace,
// into the gradient at its input: y > 0 exactly where the input was.
func ReLUGradInPlace(be tensor.Backend, y, dy *tensor.Tensor) {
	be.For(dy.Len(), elemGrain, func(lo, hi int) {
		be.AffineActGrad(tensor.ActReLU, y.Data[lo:hi], dy.Data[lo:hi], dy.Data[lo:hi], 1, 0, 0)
	})
}
