package detection

import "math"

// DeltaCoder turns a box into the offsets of a network's regression output
// relative to an anchor and back, as mmdetection's DeltaXYWHBBoxCoder:
// (dx, dy) is the centre shift over the anchor's width and height, (dw,
// dh) the log of the size ratio, each then standardised by Means and Stds.
type DeltaCoder struct {
	Means, Stds [4]float64
	// WHRatioClip bounds |dw| and |dh| on decoding to |log WHRatioClip|,
	// so an untrained network cannot produce an overflowing exp.
	WHRatioClip float64
}

// RetinaNetCoder is retinanet_r50_fpn_1x_coco's coder: means 0, stds 1,
// ratio clip 16/1000.
func RetinaNetCoder() DeltaCoder {
	return DeltaCoder{Stds: [4]float64{1, 1, 1, 1}, WHRatioClip: 16.0 / 1000}
}

// Encode is the target deltas for predicting gt from anchor.
func (c DeltaCoder) Encode(anchor, gt Box) [4]float64 {
	pw, ph := anchor.Width(), anchor.Height()
	px, py := anchor.X1+0.5*pw, anchor.Y1+0.5*ph
	gw, gh := gt.Width(), gt.Height()
	gx, gy := gt.X1+0.5*gw, gt.Y1+0.5*gh
	d := [4]float64{(gx - px) / pw, (gy - py) / ph, math.Log(gw / pw), math.Log(gh / ph)}
	for k := range d {
		d[k] = (d[k] - c.Means[k]) / c.Stds[k]
	}
	return d
}

// Decode applies deltas to anchor. With maxW and maxH positive the result
// is clipped to the image [0, maxW]×[0, maxH].
func (c DeltaCoder) Decode(anchor Box, deltas [4]float64, maxW, maxH float64) Box {
	var d [4]float64
	for k := range d {
		d[k] = deltas[k]*c.Stds[k] + c.Means[k]
	}
	limit := math.Abs(math.Log(c.WHRatioClip))
	d[2] = math.Max(-limit, math.Min(limit, d[2]))
	d[3] = math.Max(-limit, math.Min(limit, d[3]))
	pw, ph := anchor.Width(), anchor.Height()
	px, py := anchor.X1+0.5*pw, anchor.Y1+0.5*ph
	gw, gh := pw*math.Exp(d[2]), ph*math.Exp(d[3])
	gx, gy := px+pw*d[0], py+ph*d[1]
	b := Box{gx - 0.5*gw, gy - 0.5*gh, gx + 0.5*gw, gy + 0.5*gh}
	if maxW > 0 && maxH > 0 {
		b.X1, b.X2 = clamp(b.X1, 0, maxW), clamp(b.X2, 0, maxW)
		b.Y1, b.Y2 = clamp(b.Y1, 0, maxH), clamp(b.Y2, 0, maxH)
	}
	return b
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
