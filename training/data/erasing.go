package data

import (
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/training/tensor"
)

// Random erasing (Zhong et al., 2020) with torchvision's RandomErasing
// defaults apart from the probability.
const (
	eraseMinScale, eraseMaxScale = 0.02, 0.33 // share of the image's area
	eraseMinRatio, eraseMaxRatio = 0.3, 3.3   // height / width
)

// erase sets one random rectangle of sample n of out to 0 with probability
// p, drawing from r in torchvision's order. As there, after 10 rectangles
// that do not fit it leaves the image alone.
func erase(r *rand.Rand, p float64, out *tensor.Tensor, n int) {
	if r.Float64() >= p {
		return
	}
	H, W := out.H, out.W
	area := float64(H * W)
	for try := 0; try < 10; try++ {
		a := area * (eraseMinScale + r.Float64()*(eraseMaxScale-eraseMinScale))
		ar := math.Exp(math.Log(eraseMinRatio) + r.Float64()*(math.Log(eraseMaxRatio)-math.Log(eraseMinRatio)))
		h, w := int(math.Round(math.Sqrt(a*ar))), int(math.Round(math.Sqrt(a/ar)))
		if h >= H || w >= W {
			continue
		}
		y0, x0 := r.IntN(H-h+1), r.IntN(W-w+1)
		for c := 0; c < out.C; c++ {
			for y := y0; y < y0+h; y++ {
				for x := x0; x < x0+w; x++ {
					out.Data[out.Index(n, c, y, x)] = 0
				}
			}
		}
		return
	}
}
