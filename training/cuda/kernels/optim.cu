// Optimiser kernels over flat float32 parameter, gradient and state
// buffers: sum of squares for gradient clipping, SGD with (Nesterov)
// momentum and a weight-decay mask, and the EMA of the weights.
#include "kernels.h"

// partial[block] = sum of g[i]^2 over the block's grid-stride share.
KERNEL sumsq_partial(int n, const float *g, float *partial) {
	SHARED float buf[GK_BLOCK];
	float acc = 0.f;
	FOR_N(i, n) { acc += g[i] * g[i]; }
	acc = block_sum(buf, acc);
	if (tid_x() == 0)
		partial[bid_x()] = acc;
}

// out[0] = sum of v[0..n); one block.
KERNEL sum_final(int n, const float *v, float *out) {
	SHARED float buf[GK_BLOCK];
	float acc = 0.f;
	for (int i = tid_x(); i < n; i += GK_BLOCK)
		acc += v[i];
	acc = block_sum(buf, acc);
	if (tid_x() == 0)
		out[0] = acc;
}

// One step of torch.optim.SGD: d = g*scale + wd*w (wd where decay[i] is
// set), v = mom*v + d, w -= lr*(nesterov ? d + mom*v : v); with mom = 0,
// w -= lr*d and v is untouched. When clip > 0, scale = clip/(norm + 1e-6)
// if the gradient norm sqrt(*sumsq) exceeds clip, else 1; it is read on the
// device so clipping needs no round trip to the host.
KERNEL sgd_step(int n, float *w, const float *g, float *v, const unsigned char *decay, float lr, float mom, float wd,
                float clip, const float *sumsq, int nesterov) {
	float scale = 1.f;
	if (clip > 0.f) {
		float norm = gk_sqrt(sumsq[0]);
		if (norm > clip)
			scale = clip / (norm + 1e-6f);
	}
	FOR_N(i, n) {
		float d = g[i] * scale + (decay[i] ? wd : 0.f) * w[i];
		if (mom == 0.f) {
			w[i] -= lr * d;
			continue;
		}
		float vi = mom * v[i] + d;
		v[i] = vi;
		w[i] -= lr * (nesterov ? d + mom * vi : vi);
	}
}

// shadow = decay*shadow + (1-decay)*live (weights and batch-norm buffers).
KERNEL ema_update(int n, float *shadow, const float *live, float decay) {
	FOR_N(i, n) { shadow[i] = decay * shadow[i] + (1.f - decay) * live[i]; }
}
