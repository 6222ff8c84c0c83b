package detection

import (
	"fmt"
	"math"
)

// Float is the element type of a network's outputs.
type Float interface{ ~float32 | ~float64 }

// Focal are the parameters of the sigmoid focal loss
// FL(p_t) = -α_t (1-p_t)^γ log p_t, with p_t = p and α_t = α for the
// anchor's class, p_t = 1-p and α_t = 1-α for every other class.
type Focal struct{ Alpha, Gamma float64 }

// RetinaNetFocal is α 0.25, γ 2.
func RetinaNetFocal() Focal { return Focal{Alpha: 0.25, Gamma: 2} }

// FocalLoss is the focal loss of logits (anchor-major, numClasses per
// anchor) against labels (see Targets.Labels), summed over every class of
// every anchor not Ignored and divided by norm. When grad is not nil it
// receives the loss's gradient with respect to each logit (zero for
// Ignored anchors).
func FocalLoss[F Float](p Focal, logits []F, numClasses int, labels []int, norm float64, grad []F) (float64, error) {
	if len(logits) != len(labels)*numClasses {
		return 0, fmt.Errorf("detection: focal loss: %d logits for %d anchors × %d classes", len(logits), len(labels), numClasses)
	}
	if grad != nil && len(grad) != len(logits) {
		return 0, fmt.Errorf("detection: focal loss: gradient has %d elements, logits %d", len(grad), len(logits))
	}
	if norm <= 0 {
		return 0, fmt.Errorf("detection: focal loss: normaliser %v must be positive", norm)
	}
	if p.Alpha < 0 || p.Alpha > 1 || p.Gamma < 0 {
		return 0, fmt.Errorf("detection: focal loss: α %v must be in [0, 1] and γ %v non-negative", p.Alpha, p.Gamma)
	}
	var sum float64
	for i, label := range labels {
		row := logits[i*numClasses : (i+1)*numClasses]
		if label == Ignored {
			if grad != nil {
				clear(grad[i*numClasses : (i+1)*numClasses])
			}
			continue
		}
		if label >= numClasses || label < Negative {
			return 0, fmt.Errorf("detection: focal loss: anchor %d has label %d, want a class below %d, Negative or Ignored", i, label, numClasses)
		}
		for c, x := range row {
			l, g := p.element(float64(x), c == label)
			sum += l
			if grad != nil {
				grad[i*numClasses+c] = F(g / norm)
			}
		}
	}
	return sum / norm, nil
}

// element is the focal loss of one logit x and its derivative.
//
//	positive: L = -α (1-p)^γ log p,      dL/dx = α (1-p)^γ (γ p log p - (1-p))
//	negative: L = -(1-α) p^γ log(1-p),   dL/dx = (1-α) p^γ (p - γ (1-p) log(1-p))
//
// using dp/dx = p(1-p); log p and log(1-p) come from softplus so that
// large |x| neither overflows nor loses the loss to rounding.
func (f Focal) element(x float64, positive bool) (loss, grad float64) {
	p := 1 / (1 + math.Exp(-x))
	if positive {
		logp := -softplus(-x)
		w := f.Alpha * math.Pow(1-p, f.Gamma)
		return -w * logp, f.Alpha * math.Pow(1-p, f.Gamma) * (f.Gamma*p*logp - (1 - p))
	}
	log1mp := -softplus(x)
	w := (1 - f.Alpha) * math.Pow(p, f.Gamma)
	return -w * log1mp, w * (p - f.Gamma*(1-p)*log1mp)
}

// softplus is log(1+e^x).
func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// L1Loss is Σ|pred - target| over the four deltas of each positive anchor
// (pred anchor-major, 4 per anchor), divided by norm. When grad is not nil
// it receives sign(pred - target)/norm for positives (0 where they are
// equal) and zero elsewhere.
func L1Loss[F Float](pred []F, t Targets, norm float64, grad []F) (float64, error) {
	if len(pred) != 4*len(t.Labels) {
		return 0, fmt.Errorf("detection: L1 loss: %d deltas for %d anchors × 4", len(pred), len(t.Labels))
	}
	if grad != nil && len(grad) != len(pred) {
		return 0, fmt.Errorf("detection: L1 loss: gradient has %d elements, deltas %d", len(grad), len(pred))
	}
	if norm <= 0 {
		return 0, fmt.Errorf("detection: L1 loss: normaliser %v must be positive", norm)
	}
	if grad != nil {
		clear(grad)
	}
	var sum float64
	for i, label := range t.Labels {
		if label < 0 {
			continue
		}
		for k := range 4 {
			d := float64(pred[4*i+k]) - t.Deltas[i][k]
			sum += math.Abs(d)
			if grad != nil {
				switch {
				case d > 0:
					grad[4*i+k] = F(1 / norm)
				case d < 0:
					grad[4*i+k] = F(-1 / norm)
				}
			}
		}
	}
	return sum / norm, nil
}
