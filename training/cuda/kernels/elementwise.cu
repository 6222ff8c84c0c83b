// Elementwise kernels: activations (forward and backward, with the affine
// a*x+b that batch norm fuses in), residual add, bias, conversions.
#include "kernels.h"

#include "activation.h"

// y = act(a*x + b).
template <typename T> DEV void act_fwd(int act, int n, const T *x, T *y, float a, float b) {
	FOR_N(i, n) { st(y + i, act_apply(act, a * ld(x + i) + b)); }
}
KERNEL act_fwd_f32(int act, int n, const float *x, float *y, float a, float b) { act_fwd(act, n, x, y, a, b); }
KERNEL act_fwd_bf16(int act, int n, const bf16 *x, bf16 *y, float a, float b) { act_fwd(act, n, x, y, a, b); }

// dx = dy * act'(a*x + b).
template <typename T> DEV void act_bwd(int act, int n, const T *x, const T *dy, T *dx, float a, float b) {
	FOR_N(i, n) { st(dx + i, ld(dy + i) * act_deriv(act, a * ld(x + i) + b)); }
}
KERNEL act_bwd_f32(int act, int n, const float *x, const float *dy, float *dx, float a, float b) {
	act_bwd(act, n, x, dy, dx, a, b);
}
KERNEL act_bwd_bf16(int act, int n, const bf16 *x, const bf16 *dy, bf16 *dx, float a, float b) {
	act_bwd(act, n, x, dy, dx, a, b);
}

// out = x + y (residual connections; out may be x or y).
template <typename T> DEV void add(int n, const T *x, const T *y, T *out) {
	FOR_N(i, n) { st(out + i, ld(x + i) + ld(y + i)); }
}
KERNEL add_f32(int n, const float *x, const float *y, float *out) { add(n, x, y, out); }
KERNEL add_bf16(int n, const bf16 *x, const bf16 *y, bf16 *out) { add(n, x, y, out); }

// y[c][i] += bias[c] over c rows of m values (CHWN: a channel is one row).
template <typename T> DEV void bias_add(int c, int m, T *y, const float *bias) {
	FOR_N(i, c * m) { st(y + i, ld(y + i) + bias[i / m]); }
}
KERNEL bias_add_f32(int c, int m, float *y, const float *bias) { bias_add(c, m, y, bias); }
KERNEL bias_add_bf16(int c, int m, bf16 *y, const float *bias) { bias_add(c, m, y, bias); }

// partial[ch*chunks + j] = sum of chunk j of row ch of dy (c rows of m); a
// block per (row, chunk). chunk_sum adds the chunks up.
template <typename T> DEV void bias_grad(int c, int m, int chunks, const T *dy, float *partial) {
	SHARED float buf[GK_BLOCK];
	for (int q = bid_x(); q < c * chunks; q += gdim_x()) {
		int ch = q / chunks, j = q % chunks;
		int lo = chunk_lo(m, chunks, j), hi = chunk_lo(m, chunks, j + 1);
		const T *row = dy + (long long)ch * m;
		float s = 0.f;
		for (int i = lo + tid_x(); i < hi; i += GK_BLOCK)
			s += ld(row + i);
		s = block_sum(buf, s);
		if (tid_x() == 0)
			partial[q] = s;
	}
}
KERNEL bias_grad_f32(int c, int m, int chunks, const float *dy, float *partial) {
	bias_grad(c, m, chunks, dy, partial);
}
KERNEL bias_grad_bf16(int c, int m, int chunks, const bf16 *dy, float *partial) {
	bias_grad(c, m, chunks, dy, partial);
}

// out[ch] = sum over j of partial[ch*chunks + j], in order.
KERNEL chunk_sum(int c, int chunks, const float *partial, float *out) {
	FOR_N(ch, c) {
		float s = 0.f;
		for (int j = 0; j < chunks; j++)
			s += partial[ch * chunks + j];
		out[ch] = s;
	}
}

KERNEL f32_to_bf16(int n, const float *src, bf16 *dst) {
	FOR_N(i, n) { st(dst + i, src[i]); }
}
KERNEL bf16_to_f32(int n, const bf16 *src, float *dst) {
	FOR_N(i, n) { dst[i] = ld(src + i); }
}

// Layout changes at the edges: images arrive NCHW (float32) and the
// engine works in CHWN (batch innermost).
template <typename T> DEV void nchw_to_chwn(int n, int c, int hw, const float *src, T *dst) {
	FOR_N(i, n * c * hw) {
		int b = i % n, p = (i / n) % hw, ch = i / (n * hw);
		st(dst + i, src[((long long)b * c + ch) * hw + p]);
	}
}
KERNEL nchw_to_chwn_f32(int n, int c, int hw, const float *src, float *dst) { nchw_to_chwn(n, c, hw, src, dst); }
KERNEL nchw_to_chwn_bf16(int n, int c, int hw, const float *src, bf16 *dst) { nchw_to_chwn(n, c, hw, src, dst); }

KERNEL chwn_to_nchw_f32(int n, int c, int hw, const float *src, float *dst) {
	FOR_N(i, n * c * hw) {
		int p = i % hw, ch = (i / hw) % c, b = i / (c * hw);
		dst[i] = src[((long long)ch * hw + p) * n + b];
	}
}
