package tensor

import "fmt"

// Tensor is a batch of N feature maps of C channels of H x W, stored
// channel-major with the batch innermost (see the package doc). Data may have spare capacity: a
// buffer keeps its backing array when reshaped to something smaller, so a
// network's buffers stop growing after the first step of each shape.
type Tensor struct {
	C, N, H, W int
	Data       []float32
}

// New returns a zeroed tensor of the given shape.
func New(c, n, h, w int) *Tensor {
	return &Tensor{C: c, N: n, H: h, W: w, Data: make([]float32, c*n*h*w)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return t.C * t.N * t.H * t.W }

// Plane is H*W.
func (t *Tensor) Plane() int { return t.H * t.W }

// Row is the length of one channel's run: H*W*N.
func (t *Tensor) Row() int { return t.N * t.H * t.W }

// Shape is (N, C, H, W) in the usual order, for messages.
func (t *Tensor) Shape() [4]int { return [4]int{t.N, t.C, t.H, t.W} }

// String describes the shape.
func (t *Tensor) String() string {
	return fmt.Sprintf("tensor[N=%d C=%d H=%d W=%d]", t.N, t.C, t.H, t.W)
}

// SameShape reports whether t and o have equal dimensions.
func (t *Tensor) SameShape(o *Tensor) bool {
	return t.C == o.C && t.N == o.N && t.H == o.H && t.W == o.W
}

// Ensure returns buf reshaped to (c, n, h, w), reusing its memory when it is
// large enough and allocating otherwise. The contents are unspecified.
func Ensure(buf *Tensor, c, n, h, w int) *Tensor {
	size := c * n * h * w
	if buf == nil {
		return New(c, n, h, w)
	}
	if cap(buf.Data) < size {
		buf.Data = make([]float32, size)
	}
	buf.C, buf.N, buf.H, buf.W = c, n, h, w
	buf.Data = buf.Data[:size]
	return buf
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// At returns the element for sample n, channel c, row h, column w.
func (t *Tensor) At(n, c, h, w int) float32 { return t.Data[((c*t.H+h)*t.W+w)*t.N+n] }

// Index is the position of (n, c, h, w) in Data.
func (t *Tensor) Index(n, c, h, w int) int { return ((c*t.H+h)*t.W+w)*t.N + n }

// FromNCHW copies src, laid out (n, c, h, w), into a tensor.
func FromNCHW(src []float32, n, c, h, w int) *Tensor {
	t := New(c, n, h, w)
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			for p := 0; p < h*w; p++ {
				t.Data[(j*h*w+p)*n+i] = src[(i*c+j)*h*w+p]
			}
		}
	}
	return t
}

// ToNCHW returns the elements of t laid out (n, c, h, w).
func (t *Tensor) ToNCHW() []float32 {
	out := make([]float32, t.Len())
	hw := t.Plane()
	for i := 0; i < t.N; i++ {
		for j := 0; j < t.C; j++ {
			for p := 0; p < hw; p++ {
				out[(i*t.C+j)*hw+p] = t.Data[(j*hw+p)*t.N+i]
			}
		}
	}
	return out
}
