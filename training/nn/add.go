package nn

import (
	"fmt"

	"github.com/genius-nas/genius/training/tensor"
)

// Add sums two tensors of one shape, as FPN merges a lateral connection
// with the upsampled coarser level. Its output buffer is reused, so it
// also serves to sum two gradients.
type Add struct {
	be tensor.Backend
	y  *tensor.Tensor
}

// NewAdd returns an elementwise sum.
func NewAdd(be tensor.Backend) *Add { return &Add{be: be} }

// Forward returns a + b.
func (s *Add) Forward(a, b *tensor.Tensor) *tensor.Tensor {
	if !a.SameShape(b) {
		panic(fmt.Sprintf("nn: add of %s and %s", a, b))
	}
	s.y = tensor.Ensure(s.y, a.C, a.N, a.H, a.W)
	add(s.be, s.y.Data, a.Data, b.Data)
	return s.y
}

// Backward returns the gradients with respect to a and b: both are dy
// itself, which callers only read (see the package doc).
func (s *Add) Backward(dy *tensor.Tensor) (da, db *tensor.Tensor) { return dy, dy }
