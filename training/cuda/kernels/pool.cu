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

// Average pooling over k x k windows (stride s, padding p), the padded
// positions not counted (count_include_pad=False, as NAS-Bench-201 uses).
#define POOL_GEOM int c, int n, int h, int w, int k, int s, int p, int oh, int ow

// pool_span is the input range [lo, hi) of output position i along an
// axis of size positions.
DEV void pool_span(int i, int k, int s, int p, int size, int *lo, int *hi) {
	int a = i * s - p, b = a + k;
	*lo = a < 0 ? 0 : a;
	*hi = b > size ? size : b;
}

template <typename T> DEV void avgpool_fwd(POOL_GEOM, const T *x, T *y) {
	FOR_N(e, c * oh * ow * n) {
		int b = e % n, j = (e / n) % ow, i = (e / (n * ow)) % oh, ch = e / (n * ow * oh);
		int h0, h1, w0, w1;
		pool_span(i, k, s, p, h, &h0, &h1);
		pool_span(j, k, s, p, w, &w0, &w1);
		float acc = 0.f;
		for (int hi = h0; hi < h1; hi++)
			for (int wi = w0; wi < w1; wi++)
				acc += ld(x + (((long long)ch * h + hi) * w + wi) * n + b);
		st(y + e, acc * (1.f / (float)((h1 - h0) * (w1 - w0))));
	}
}
KERNEL avgpool_fwd_f32(POOL_GEOM, const float *x, float *y) { avgpool_fwd(c, n, h, w, k, s, p, oh, ow, x, y); }
KERNEL avgpool_fwd_bf16(POOL_GEOM, const bf16 *x, bf16 *y) { avgpool_fwd(c, n, h, w, k, s, p, oh, ow, x, y); }

// pool_out is the output position whose window reads input position x
// through tap t, or -1 where none does.
DEV int pool_out(int x, int t, int s, int p, int o) {
	int u = x + p - t;
	return u < 0 || u % s != 0 || u / s >= o ? -1 : u / s;
}

// Input gradient, gathered per input element: each window's gradient
// spread evenly over the positions it counted.
template <typename T> DEV void avgpool_bwd(POOL_GEOM, const T *dy, T *dx) {
	FOR_N(e, c * h * w * n) {
		int b = e % n, wi = (e / n) % w, hi = (e / (n * w)) % h, ch = e / (n * w * h);
		float acc = 0.f;
		for (int kh = 0; kh < k; kh++) {
			int i = pool_out(hi, kh, s, p, oh);
			if (i < 0)
				continue;
			int h0, h1;
			pool_span(i, k, s, p, h, &h0, &h1);
			for (int kw = 0; kw < k; kw++) {
				int j = pool_out(wi, kw, s, p, ow);
				if (j < 0)
					continue;
				int w0, w1;
				pool_span(j, k, s, p, w, &w0, &w1);
				acc += ld(dy + (((long long)ch * oh + i) * ow + j) * n + b) * (1.f / (float)((h1 - h0) * (w1 - w0)));
			}
		}
		st(dx + e, acc);
	}
}
KERNEL avgpool_bwd_f32(POOL_GEOM, const float *dy, float *dx) { avgpool_bwd(c, n, h, w, k, s, p, oh, ow, dy, dx); }
KERNEL avgpool_bwd_bf16(POOL_GEOM, const bf16 *dy, bf16 *dx) { avgpool_bwd(c, n, h, w, k, s, p, oh, ow, dy, dx); }
