// Global average pooling and the channel scale of squeeze-excitation over
// CHWN data; pooled values and gates are (c, n).
#include "kernels.h"

// y[ch][b] = mean over the hw positions of x[ch][.][b].
template <typename T> DEV void gap_fwd(int c, int hw, int n, const T *x, T *y) {
	FOR_N(e, c * n) {
		int ch = e / n, b = e % n;
		const T *src = x + (long long)ch * hw * n + b;
		float acc = 0.f;
		for (int q = 0; q < hw; q++)
			acc += ld(src + (long long)q * n);
		st(y + e, acc * (1.f / hw));
	}
}
KERNEL gap_fwd_f32(int c, int hw, int n, const float *x, float *y) { gap_fwd(c, hw, n, x, y); }
KERNEL gap_fwd_bf16(int c, int hw, int n, const bf16 *x, bf16 *y) { gap_fwd(c, hw, n, x, y); }

template <typename T> DEV void gap_bwd(int c, int hw, int n, const T *dy, T *dx) {
	FOR_N(e, c * hw * n) {
		int b = e % n, ch = e / (hw * n);
		st(dx + e, ld(dy + ch * n + b) * (1.f / hw));
	}
}
KERNEL gap_bwd_f32(int c, int hw, int n, const float *dy, float *dx) { gap_bwd(c, hw, n, dy, dx); }
KERNEL gap_bwd_bf16(int c, int hw, int n, const bf16 *dy, bf16 *dx) { gap_bwd(c, hw, n, dy, dx); }

// y = x scaled per (channel, sample) by the gate g.
template <typename T> DEV void se_scale_fwd(int c, int hw, int n, const T *x, const T *g, T *y) {
	FOR_N(e, c * hw * n) {
		int b = e % n, ch = e / (hw * n);
		st(y + e, ld(x + e) * ld(g + ch * n + b));
	}
}
KERNEL se_scale_fwd_f32(int c, int hw, int n, const float *x, const float *g, float *y) {
	se_scale_fwd(c, hw, n, x, g, y);
}
KERNEL se_scale_fwd_bf16(int c, int hw, int n, const bf16 *x, const bf16 *g, bf16 *y) {
	se_scale_fwd(c, hw, n, x, g, y);
}

// dg[ch][b] = sum over positions of x*dy: the gradient at the gate.
template <typename T> DEV void se_gate_grad(int c, int hw, int n, const T *x, const T *dy, T *dg) {
	FOR_N(e, c * n) {
		int ch = e / n, b = e % n;
		long long base = (long long)ch * hw * n + b;
		float acc = 0.f;
		for (int q = 0; q < hw; q++)
			acc += ld(x + base + (long long)q * n) * ld(dy + base + (long long)q * n);
		st(dg + e, acc);
	}
}
KERNEL se_gate_grad_f32(int c, int hw, int n, const float *x, const float *dy, float *dg) {
	se_gate_grad(c, hw, n, x, dy, dg);
}
KERNEL se_gate_grad_bf16(int c, int hw, int n, const bf16 *x, const bf16 *dy, bf16 *dg) {
	se_gate_grad(c, hw, n, x, dy, dg);
}

// dx = dy*g + dpool/hw: the scale's input gradient plus the pooling branch's
// (dpool is the gradient at the pooled values, (c, n)).
template <typename T> DEV void se_scale_bwd(int c, int hw, int n, const T *dy, const T *g, const T *dpool, T *dx) {
	FOR_N(e, c * hw * n) {
		int b = e % n, ch = e / (hw * n);
		st(dx + e, ld(dy + e) * ld(g + ch * n + b) + ld(dpool + ch * n + b) * (1.f / hw));
	}
}
KERNEL se_scale_bwd_f32(int c, int hw, int n, const float *dy, const float *g, const float *dpool, float *dx) {
	se_scale_bwd(c, hw, n, dy, g, dpool, dx);
}
KERNEL se_scale_bwd_bf16(int c, int hw, int n, const bf16 *dy, const bf16 *g, const bf16 *dpool, bf16 *dx) {
	se_scale_bwd(c, hw, n, dy, g, dpool, dx);
}
