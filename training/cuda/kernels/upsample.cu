// Nearest-neighbour upsampling over CHWN data with nn.Upsample's index
// rule (PyTorch's mode='nearest'): output row i reads input row
// floor(i * float(ih/oh)), capped at ih-1; columns likewise.
#include "kernels.h"

#define UP_GEOM int c, int n, int ih, int iw, int oh, int ow

// near_src is the input index output i reads; scale is in/out as float.
// The product is not negative, so truncation is the floor.
DEV int near_src(int i, float scale, int in) {
	int s = (int)((float)i * scale);
	return s < in - 1 ? s : in - 1;
}

// near_lo is the first output reading input index h or a later one: the
// outputs reading h are [near_lo(h), near_lo(h+1)), the rule being
// monotone.
DEV int near_lo(int h, float scale, int in, int out) {
	int i = (int)((long long)h * out / in);
	if (i > out)
		i = out;
	while (i > 0 && near_src(i - 1, scale, in) >= h)
		i--;
	while (i < out && near_src(i, scale, in) < h)
		i++;
	return i;
}

template <typename T> DEV void upsample_fwd(UP_GEOM, const T *x, T *y) {
	float sh = (float)ih / (float)oh, sw = (float)iw / (float)ow;
	FOR_N(e, c * oh * ow * n) {
		int b = e % n, q = e / n;
		int j = q % ow, i = (q / ow) % oh, ch = q / (ow * oh);
		int h = near_src(i, sh, ih), w = near_src(j, sw, iw);
		st(y + e, ld(x + (((long long)ch * ih + h) * iw + w) * n + b));
	}
}
KERNEL upsample_fwd_f32(UP_GEOM, const float *x, float *y) { upsample_fwd(c, n, ih, iw, oh, ow, x, y); }
KERNEL upsample_fwd_bf16(UP_GEOM, const bf16 *x, bf16 *y) { upsample_fwd(c, n, ih, iw, oh, ow, x, y); }

// dx at each input position: the sum of dy over the outputs that read it,
// gathered (no atomics, the same order on every device).
template <typename T> DEV void upsample_bwd(UP_GEOM, const T *dy, T *dx) {
	float sh = (float)ih / (float)oh, sw = (float)iw / (float)ow;
	FOR_N(e, c * ih * iw * n) {
		int b = e % n, q = e / n;
		int w = q % iw, h = (q / iw) % ih, ch = q / (iw * ih);
		int i0 = near_lo(h, sh, ih, oh), i1 = near_lo(h + 1, sh, ih, oh);
		int j0 = near_lo(w, sw, iw, ow), j1 = near_lo(w + 1, sw, iw, ow);
		float acc = 0.f;
		for (int i = i0; i < i1; i++)
			for (int j = j0; j < j1; j++)
				acc += ld(dy + (((long long)ch * oh + i) * ow + j) * n + b);
		st(dx + e, acc);
	}
}
KERNEL upsample_bwd_f32(UP_GEOM, const float *dy, float *dx) { upsample_bwd(c, n, ih, iw, oh, ow, dy, dx); }
KERNEL upsample_bwd_bf16(UP_GEOM, const bf16 *dy, bf16 *dx) { upsample_bwd(c, n, ih, iw, oh, ow, dy, dx); }
