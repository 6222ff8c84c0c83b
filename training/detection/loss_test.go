package detection

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFocalLossHandComputed(t *testing.T) {
	// Per logit x, with p = σ(x), α = 0.25, γ = 2:
	//   x = 0, positive: p = .5, L = -.25·.5²·ln .5 = .0625·.693147 = 0.0433217
	//                    dL/dx = .25·.5²·(2·.5·ln .5 - .5) = .0625·(-1.193147) = -0.0745717
	//   x = 0, negative: L = -.75·.5²·ln .5 = .1875·.693147 = 0.1299651
	//                    dL/dx = .75·.5²·(.5 - 2·.5·ln .5) = .1875·1.193147 = 0.2237151
	//   x = ln 3, negative: p = .75, L = -.75·.75²·ln .25 = .421875·1.386294 = 0.5848429
	//                    dL/dx = .421875·(.75 - 2·.25·ln .25) = .421875·1.443147 = 0.6088277
	// Anchor 0 is class 0 (logits 0, ln 3), anchor 1 background (0, 0),
	// anchor 2 ignored (huge logits, no loss). One positive: norm 1.
	// Sum: .0433217 + .5848429 + 2·.1299651 = 0.8880948.
	logits := []float64{0, math.Log(3), 0, 0, 40, -40}
	labels := []int{0, Negative, Ignored}
	grad := make([]float64, len(logits))
	loss, err := FocalLoss(RetinaNetFocal(), logits, 2, labels, 1, grad)
	if err != nil {
		t.Fatal(err)
	}
	if !near(loss, 0.8880948, 1e-7) {
		t.Errorf("loss %v, want 0.8880948", loss)
	}
	for i, want := range []float64{-0.0745717, 0.6088277, 0.2237151, 0.2237151, 0, 0} {
		if !near(grad[i], want, 1e-7) {
			t.Errorf("grad[%d] = %v, want %v", i, grad[i], want)
		}
	}
	// Normalised by 4 positives: everything /4.
	loss4, _ := FocalLoss(RetinaNetFocal(), logits, 2, labels, 4, grad)
	if !near(loss4, 0.8880948/4, 1e-7) || !near(grad[0], -0.0745717/4, 1e-7) {
		t.Errorf("norm 4: loss %v grad[0] %v", loss4, grad[0])
	}
	// γ = 0, α = 0.5 is half the binary cross-entropy: at x = 0, ln 2 / 2
	// per logit.
	l, _ := FocalLoss(Focal{Alpha: 0.5, Gamma: 0}, []float64{0}, 1, []int{0}, 1, nil)
	if !near(l, math.Ln2/2, 1e-12) {
		t.Errorf("γ=0 loss %v, want %v", l, math.Ln2/2)
	}
	// Extreme logits stay finite: a confident wrong positive at x = -100
	// costs .25·ln(1+e^100) ≈ 25.
	l, _ = FocalLoss(RetinaNetFocal(), []float64{-100}, 1, []int{0}, 1, grad[:1])
	if !near(l, 25, 1e-9) || math.IsNaN(grad[0]) || !near(grad[0], -0.25, 1e-9) {
		t.Errorf("x = -100 positive: loss %v grad %v", l, grad[0])
	}
	if _, err := FocalLoss(RetinaNetFocal(), logits, 2, []int{0, 2, Ignored}, 1, nil); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
	if _, err := FocalLoss(RetinaNetFocal(), logits[:5], 2, labels, 1, nil); err == nil {
		t.Error("5 logits for 3 anchors × 2 classes accepted")
	}
}

func TestFocalLossGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const anchors, classes = 20, 4
	logits := make([]float64, anchors*classes)
	for i := range logits {
		logits[i] = r.NormFloat64() * 3
	}
	labels := make([]int, anchors)
	for i := range labels {
		labels[i] = r.IntN(classes+2) - 2 // Ignored, Negative or a class
	}
	p := RetinaNetFocal()
	grad := make([]float64, len(logits))
	if _, err := FocalLoss(p, logits, classes, labels, 3, grad); err != nil {
		t.Fatal(err)
	}
	const h = 1e-5
	for i := range logits {
		x := logits[i]
		logits[i] = x + h
		lp, _ := FocalLoss(p, logits, classes, labels, 3, nil)
		logits[i] = x - h
		lm, _ := FocalLoss(p, logits, classes, labels, 3, nil)
		logits[i] = x
		num := (lp - lm) / (2 * h)
		if !near(num, grad[i], 1e-7+1e-5*math.Abs(num)) {
			t.Errorf("logit %d (x %.3f, label %d): analytic %v, numerical %v", i, x, labels[i/classes], grad[i], num)
		}
	}
	// float32 outputs give the same loss to float32 precision.
	l64, _ := FocalLoss(p, logits, classes, labels, 3, nil)
	l32in := make([]float32, len(logits))
	for i, x := range logits {
		l32in[i] = float32(x)
	}
	l32, _ := FocalLoss(p, l32in, classes, labels, 3, nil)
	if !near(l32, l64, 1e-5*l64) {
		t.Errorf("float32 loss %v, float64 %v", l32, l64)
	}
}

func TestL1Loss(t *testing.T) {
	// Anchor 0 positive, target (1, 2, 3, 4), prediction (1.5, 2, 2, 4):
	// |.5| + 0 + |-1| + 0 = 1.5; anchor 1 negative, prediction ignored.
	// norm 2: loss .75; gradient (.5, 0, -.5, 0, 0, 0, 0, 0).
	tg := Targets{Labels: []int{1, Negative}, Deltas: [][4]float64{{1, 2, 3, 4}, {}}, NumPos: 1}
	pred := []float64{1.5, 2, 2, 4, 9, 9, 9, 9}
	grad := make([]float64, 8)
	loss, err := L1Loss(pred, tg, 2, grad)
	if err != nil {
		t.Fatal(err)
	}
	if !near(loss, 0.75, 1e-12) {
		t.Errorf("loss %v, want 0.75", loss)
	}
	for i, want := range []float64{.5, 0, -.5, 0, 0, 0, 0, 0} {
		if grad[i] != want {
			t.Errorf("grad[%d] = %v, want %v", i, grad[i], want)
		}
	}
	// Numerical gradient away from the kinks.
	r := rand.New(rand.NewPCG(5, 6))
	tg = Targets{Labels: make([]int, 10), Deltas: make([][4]float64, 10)}
	pred = make([]float64, 40)
	for i := range tg.Labels {
		tg.Labels[i] = r.IntN(3) - 1
		for k := range 4 {
			tg.Deltas[i][k] = r.NormFloat64()
			pred[4*i+k] = tg.Deltas[i][k] + (0.1+r.Float64())*float64(1-2*r.IntN(2))
		}
	}
	grad = make([]float64, 40)
	L1Loss(pred, tg, 3, grad)
	const h = 1e-6
	for i := range pred {
		x := pred[i]
		pred[i] = x + h
		lp, _ := L1Loss(pred, tg, 3, nil)
		pred[i] = x - h
		lm, _ := L1Loss(pred, tg, 3, nil)
		pred[i] = x
		if num := (lp - lm) / (2 * h); !near(num, grad[i], 1e-8) {
			t.Errorf("delta %d: analytic %v, numerical %v", i, grad[i], num)
		}
	}
	if _, err := L1Loss(pred[:5], tg, 3, nil); err == nil {
		t.Error("5 deltas accepted")
	}
}
