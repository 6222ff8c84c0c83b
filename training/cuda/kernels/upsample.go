package kernels

import (
	"fmt"

	"github.com/genius-nas/genius/training/nn"
)

// Upsample is the geometry of a nearest-neighbour resize (nn.Upsample's
// index rule): C x H x W x N in, C x OH x OW x N out, OH >= H and OW >= W
// as the feature pyramid uses it (other sizes are still exact).
type Upsample struct {
	C, N, H, W, OH, OW int
}

func (u Upsample) launch(d Device, name string, n int, src, dst Ptr) error {
	if u.C < 1 || u.N < 1 || u.H < 1 || u.W < 1 || u.OH < 1 || u.OW < 1 {
		return fmt.Errorf("kernels: %s: bad geometry %+v", name, u)
	}
	if err := checkLen(name, max(u.C*u.OH*u.OW*u.N, u.C*u.H*u.W*u.N)); err != nil {
		return err
	}
	return d.Launch(name, grid(d, n), Block, u.C, u.N, u.H, u.W, u.OH, u.OW, src, dst)
}

// Forward writes x resized into y.
func (u Upsample) Forward(d Device, dt DType, x, y Ptr) error {
	return u.launch(d, dt.suffix("upsample_fwd"), u.C*u.OH*u.OW*u.N, x, y)
}

// Backward writes the input gradient dx (overwritten): each input
// position's sum of dy over the outputs that copied it.
func (u Upsample) Backward(d Device, dt DType, dy, dx Ptr) error {
	return u.launch(d, dt.suffix("upsample_bwd"), u.C*u.H*u.W*u.N, dy, dx)
}

// upsample checks both directions against nn.Upsample: the pyramid's 2x
// and an odd size rounded up by a stride-2 layer (3 -> 5, 4 -> 7).
func (k *checker) upsample() error {
	for _, dt := range dtypes {
		for _, geo := range [][4]int{{3, 3, 6, 6}, {3, 4, 5, 7}, {1, 1, 2, 3}} {
			c, n := k.dim(1, 5), k.dim(1, 6)
			u := Upsample{C: c, N: n, H: geo[0], W: geo[1], OH: geo[2], OW: geo[3]}
			l := nn.NewUpsample(k.cpu, 2)
			x := randTensor(k, dt, c, n, u.H, u.W, 3)
			y := l.ForwardTo(x, u.OH, u.OW)
			dy := randTensor(k, dt, c, n, u.OH, u.OW, 1)
			dx := l.Backward(dy)
			py, pdx, err := k.forwardBackward(dt, x, dy, len(y.Data), func(px, py Ptr) error { return u.Forward(k.d, dt, px, py) },
				func(pdy, pdx Ptr) error { return u.Backward(k.d, dt, pdy, pdx) })
			if err != nil {
				return err
			}
			shape := fmt.Sprintf("C=%d N=%d %dx%d to %dx%d", c, n, u.H, u.W, u.OH, u.OW)
			if err := k.expect("nearest upsample forward", dt, shape, py, y.Data); err != nil {
				return err
			}
			if err := k.expect("nearest upsample backward", dt, shape, pdx, dx.Data); err != nil {
				return err
			}
		}
	}
	return nil
}
