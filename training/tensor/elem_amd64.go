package tensor

//go:noescape
func affineActAVX(act int, src, dst *float32, n int, a, c float32)

//go:noescape
func affineActGradAVX(act int, x, grad, d *float32, n int, a, c, mu float32, sums *float32)

//go:noescape
func axpbyAVX(d, x *float32, n int, alpha, beta, gamma float32)

//go:noescape
func sumShiftedAVX(x *float32, n int, k float32, sums *float32)

//go:noescape
func sgdMomentumAVX(w, grad, v *float32, n int, lr, mom, wd, scale float32, nesterov bool)
