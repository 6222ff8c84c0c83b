package nn

import (
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// Param is a trainable tensor and its gradient.
type Param struct {
	Name  string
	Shape []int
	W, G  []float32
	// Decay says whether weight decay applies (convolution and linear
	// weights; not batch-norm parameters or biases).
	Decay bool
}

func newParam(name string, decay bool, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: shape, W: make([]float32, n), G: make([]float32, n), Decay: decay}
}

// Buffer is non-trainable state saved with the weights (batch-norm running
// statistics).
type Buffer struct {
	Name string
	Data []float32
}

// Layer is one differentiable step of a network.
type Layer interface {
	// Forward computes the output for x; train selects training behaviour
	// (batch statistics, dropout).
	Forward(x *tensor.Tensor, train bool) *tensor.Tensor
	// Backward takes the gradient of the loss with respect to the last
	// output and returns the gradient with respect to the last input,
	// writing the parameters' gradients.
	Backward(dy *tensor.Tensor) *tensor.Tensor
	// Params lists the trainable parameters, in a fixed order.
	Params() []*Param
	// Buffers lists the non-trainable state, in a fixed order.
	Buffers() []*Buffer
}

// kaimingFanOut fills w with N(0, 2/fanOut), the initialisation MobileNet
// implementations use for convolutions.
func kaimingFanOut(r *rand.Rand, w []float32, fanOut int) {
	std := math.Sqrt(2 / float64(fanOut))
	for i := range w {
		w[i] = float32(r.NormFloat64() * std)
	}
}

// Sequential runs layers one after another.
type Sequential struct {
	Layers []Layer
}

// NewSequential returns the composition of layers, skipping nil ones.
func NewSequential(layers ...Layer) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		if l != nil {
			s.Layers = append(s.Layers, l)
		}
	}
	return s
}

// Forward implements Layer.
func (s *Sequential) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x, train)
	}
	return x
}

// Backward implements Layer.
func (s *Sequential) Backward(dy *tensor.Tensor) *tensor.Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}

// Params implements Layer.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Buffers implements Layer.
func (s *Sequential) Buffers() []*Buffer {
	var bs []*Buffer
	for _, l := range s.Layers {
		bs = append(bs, l.Buffers()...)
	}
	return bs
}

// Residual computes Body(x) + Shortcut(x); a nil Shortcut is the identity.
type Residual struct {
	Body, Shortcut Layer
	be             tensor.Backend
	y, dx          *tensor.Tensor
}

// NewResidual returns body(x) + shortcut(x) (identity when shortcut is nil).
func NewResidual(be tensor.Backend, body, shortcut Layer) *Residual {
	return &Residual{Body: body, Shortcut: shortcut, be: be}
}

// Forward implements Layer.
func (r *Residual) Forward(x *tensor.Tensor, train bool) *tensor.Tensor {
	b := r.Body.Forward(x, train)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(x, train)
	}
	r.y = tensor.Ensure(r.y, b.C, b.N, b.H, b.W)
	add(r.be, r.y.Data, b.Data, s.Data)
	return r.y
}

// Backward implements Layer.
func (r *Residual) Backward(dy *tensor.Tensor) *tensor.Tensor {
	db := r.Body.Backward(dy)
	ds := dy
	if r.Shortcut != nil {
		ds = r.Shortcut.Backward(dy)
	}
	r.dx = tensor.Ensure(r.dx, db.C, db.N, db.H, db.W)
	add(r.be, r.dx.Data, db.Data, ds.Data)
	return r.dx
}

// Params implements Layer.
func (r *Residual) Params() []*Param {
	ps := r.Body.Params()
	if r.Shortcut != nil {
		ps = append(ps, r.Shortcut.Params()...)
	}
	return ps
}

// Buffers implements Layer.
func (r *Residual) Buffers() []*Buffer {
	bs := r.Body.Buffers()
	if r.Shortcut != nil {
		bs = append(bs, r.Shortcut.Buffers()...)
	}
	return bs
}

// Work below about minWork floats per worker is not worth another core:
// handing a buffer between two cores' caches and waking a goroutine cost
// more than the loop (measured: finer splitting made GENIUS-329 training
// slower on 2 cores than on 1).
const (
	minWork   = 1 << 17
	elemGrain = minWork
)

// grain is the number of items of perItem floats that make minWork.
func grain(perItem int) int { return max(1, minWork/max(perItem, 1)) }

// add writes a+b into dst.
func add(be tensor.Backend, dst, a, b []float32) {
	be.For(len(dst), elemGrain, func(lo, hi int) {
		d, x, y := dst[lo:hi], a[lo:hi], b[lo:hi]
		for i := range d {
			d[i] = x[i] + y[i]
		}
	})
}

// Container is a layer made of other layers.
type Container interface {
	Children() []Layer
}

// Children implements Container.
func (s *Sequential) Children() []Layer { return s.Layers }

// Children implements Container.
func (r *Residual) Children() []Layer {
	if r.Shortcut == nil {
		return []Layer{r.Body}
	}
	return []Layer{r.Body, r.Shortcut}
}

// Walk calls f for l and, depth first, every layer inside it.
func Walk(l Layer, f func(Layer)) {
	f(l)
	if c, ok := l.(Container); ok {
		for _, ch := range c.Children() {
			Walk(ch, f)
		}
	}
}
