// Convolution kernels over CHWN data: depthwise k x k (forward, input
// gradient, weight gradient) and im2col/col2im for the dense k x k
// convolutions whose products go to cuBLAS. Weights are float32 (the
// master copy); activations are float32 or bf16.
#include "kernels.h"

// The geometry every kernel here takes: c channels of h x w x n in, oh x ow
// out, k x k taps, stride s, padding p on every side.
#define CONV_GEOM int c, int n, int h, int w, int k, int s, int p, int oh, int ow

// y[ch][i][j][b] = sum over taps of wt[ch][kh][kw] * x[ch][i*s-p+kh][j*s-p+kw][b].
template <typename T> DEV void dw_fwd(CONV_GEOM, const T *x, const float *wt, T *y) {
	FOR_N(e, c * oh * ow * n) {
		int b = e % n, j = (e / n) % ow, i = (e / (n * ow)) % oh, ch = e / (n * ow * oh);
		float acc = 0.f;
		for (int kh = 0; kh < k; kh++) {
			int hi = i * s - p + kh;
			if (hi < 0 || hi >= h)
				continue;
			for (int kw = 0; kw < k; kw++) {
				int wi = j * s - p + kw;
				if (wi >= 0 && wi < w)
					acc += wt[(ch * k + kh) * k + kw] * ld(x + (((long long)ch * h + hi) * w + wi) * n + b);
			}
		}
		st(y + e, acc);
	}
}
KERNEL dw_fwd_f32(CONV_GEOM, const float *x, const float *wt, float *y) { dw_fwd(c, n, h, w, k, s, p, oh, ow, x, wt, y); }
KERNEL dw_fwd_bf16(CONV_GEOM, const bf16 *x, const float *wt, bf16 *y) { dw_fwd(c, n, h, w, k, s, p, oh, ow, x, wt, y); }

// tap_out is the output position (along one axis of o outputs) whose tap t
// reads input position x, or -1 where none does: the gradient kernels
// gather over it.
DEV int tap_out(int x, int t, int s, int p, int o) {
	int u = x + p - t;
	return u < 0 || u % s != 0 || u / s >= o ? -1 : u / s;
}

// Input gradient, gathered per input element (no atomics, deterministic).
template <typename T> DEV void dw_bwd_data(CONV_GEOM, const T *dy, const float *wt, T *dx) {
	FOR_N(e, c * h * w * n) {
		int b = e % n, wi = (e / n) % w, hi = (e / (n * w)) % h, ch = e / (n * w * h);
		float acc = 0.f;
		for (int kh = 0; kh < k; kh++) {
			int i = tap_out(hi, kh, s, p, oh);
			if (i < 0)
				continue;
			for (int kw = 0; kw < k; kw++) {
				int j = tap_out(wi, kw, s, p, ow);
				if (j >= 0)
					acc += wt[(ch * k + kh) * k + kw] * ld(dy + (((long long)ch * oh + i) * ow + j) * n + b);
			}
		}
		st(dx + e, acc);
	}
}
KERNEL dw_bwd_data_f32(CONV_GEOM, const float *dy, const float *wt, float *dx) {
	dw_bwd_data(c, n, h, w, k, s, p, oh, ow, dy, wt, dx);
}
KERNEL dw_bwd_data_bf16(CONV_GEOM, const bf16 *dy, const float *wt, bf16 *dx) {
	dw_bwd_data(c, n, h, w, k, s, p, oh, ow, dy, wt, dx);
}

// Weight gradient: one block per (channel, tap), reducing over the output.
template <typename T> DEV void dw_bwd_filter(CONV_GEOM, const T *x, const T *dy, float *dw) {
	SHARED float buf[GK_BLOCK];
	int out = oh * ow * n;
	for (int q = bid_x(); q < c * k * k; q += gdim_x()) {
		int ch = q / (k * k), kh = (q / k) % k, kw = q % k;
		float acc = 0.f;
		for (int e = tid_x(); e < out; e += GK_BLOCK) {
			int b = e % n, j = (e / n) % ow, i = e / (n * ow);
			int hi = i * s - p + kh, wi = j * s - p + kw;
			if (hi >= 0 && hi < h && wi >= 0 && wi < w)
				acc += ld(dy + (long long)ch * out + e) * ld(x + (((long long)ch * h + hi) * w + wi) * n + b);
		}
		acc = block_sum(buf, acc);
		if (tid_x() == 0)
			dw[q] = acc;
	}
}
KERNEL dw_bwd_filter_f32(CONV_GEOM, const float *x, const float *dy, float *dw) {
	dw_bwd_filter(c, n, h, w, k, s, p, oh, ow, x, dy, dw);
}
KERNEL dw_bwd_filter_bf16(CONV_GEOM, const bf16 *x, const bf16 *dy, float *dw) {
	dw_bwd_filter(c, n, h, w, k, s, p, oh, ow, x, dy, dw);
}

// col has c*k*k rows of oh*ow*n columns (the engine's im2col layout);
// padding reads as zero.
template <typename T> DEV void im2col(CONV_GEOM, const T *x, T *col) {
	FOR_N(e, c * k * k * oh * ow * n) {
		int b = e % n, j = (e / n) % ow, i = (e / (n * ow)) % oh;
		int r = e / (n * ow * oh), ch = r / (k * k), kh = (r / k) % k, kw = r % k;
		int hi = i * s - p + kh, wi = j * s - p + kw;
		float v = 0.f;
		if (hi >= 0 && hi < h && wi >= 0 && wi < w)
			v = ld(x + (((long long)ch * h + hi) * w + wi) * n + b);
		st(col + e, v);
	}
}
KERNEL im2col_f32(CONV_GEOM, const float *x, float *col) { im2col(c, n, h, w, k, s, p, oh, ow, x, col); }
KERNEL im2col_bf16(CONV_GEOM, const bf16 *x, bf16 *col) { im2col(c, n, h, w, k, s, p, oh, ow, x, col); }

// col2im sums column gradients back into dx (overwriting it), gathered per
// input element.
template <typename T> DEV void col2im(CONV_GEOM, const T *col, T *dx) {
	long long m = (long long)oh * ow * n;
	FOR_N(e, c * h * w * n) {
		int b = e % n, wi = (e / n) % w, hi = (e / (n * w)) % h, ch = e / (n * w * h);
		float acc = 0.f;
		for (int kh = 0; kh < k; kh++) {
			int i = tap_out(hi, kh, s, p, oh);
			if (i < 0)
				continue;
			for (int kw = 0; kw < k; kw++) {
				int j = tap_out(wi, kw, s, p, ow);
				if (j >= 0)
					acc += ld(col + ((ch * k + kh) * k + kw) * m + ((long long)i * ow + j) * n + b);
			}
		}
		st(dx + e, acc);
	}
}
KERNEL col2im_f32(CONV_GEOM, const float *col, float *dx) { col2im(c, n, h, w, k, s, p, oh, ow, col, dx); }
KERNEL col2im_bf16(CONV_GEOM, const bf16 *col, bf16 *dx) { col2im(c, n, h, w, k, s, p, oh, ow, col, dx); }
