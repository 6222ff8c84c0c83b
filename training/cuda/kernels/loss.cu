// Softmax cross-entropy with label smoothing, and top-k hit counts, over
// logits laid out (k classes, n samples): logits[cls*n + sample].
#include "kernels.h"

DEV float block_max(float *buf, float v) {
	int t = tid_x();
	buf[t] = v;
	sync_threads();
	for (int s = GK_BLOCK / 2; s > 0; s >>= 1) {
		if (t < s)
			buf[t] = gk_max(buf[t], buf[t + s]);
		sync_threads();
	}
	float r = buf[0];
	sync_threads();
	return r;
}

// One block per sample: loss[b] = -sum_c t_c*log softmax(x)_c with targets
// (1-eps) on the label plus eps/k everywhere; grad = (softmax - t)/n (the
// gradient of the batch mean). A label outside 0..k-1 gives a NaN loss
// (callers check labels before the launch).
KERNEL softmax_xent(int k, int n, const float *logits, const int *labels, float eps, float *loss, float *grad) {
	SHARED float buf[GK_BLOCK];
	for (int b = bid_x(); b < n; b += gdim_x()) {
		int y = labels[b];
		float mx = -3.402823466e38f, sx = 0.f;
		for (int c = tid_x(); c < k; c += GK_BLOCK) {
			float v = logits[(long long)c * n + b];
			mx = gk_max(mx, v);
			sx += v;
		}
		mx = block_max(buf, mx);
		sx = block_sum(buf, sx);
		float z = 0.f;
		for (int c = tid_x(); c < k; c += GK_BLOCK)
			z += gk_exp(logits[(long long)c * n + b] - mx);
		z = block_sum(buf, z);
		float logz = gk_log(z) + mx;
		for (int c = tid_x(); c < k; c += GK_BLOCK) {
			float v = logits[(long long)c * n + b];
			float t = eps / k + (c == y ? 1.f - eps : 0.f);
			grad[(long long)c * n + b] = (gk_exp(v - mx) / z - t) / n;
		}
		if (tid_x() == 0) {
			if (y < 0 || y >= k) {
				loss[b] = __builtin_nanf("");
			} else {
				float xy = logits[(long long)y * n + b];
				loss[b] = -((1.f - eps) * (xy - logz) + eps / k * (sx - k * logz));
			}
		}
	}
}

// hits[0] and hits[1] count the samples whose label is among the k1 and k2
// highest logits (ties broken towards the lower class, as the CPU does).
KERNEL topk_hits(int k, int n, const float *logits, const int *labels, int k1, int k2, int *hits) {
	FOR_N(b, n) {
		int y = labels[b];
		float v = logits[(long long)y * n + b];
		int above = 0;
		for (int c = 0; c < k; c++) {
			float u = logits[(long long)c * n + b];
			above += (u > v || (u == v && c < y)) ? 1 : 0;
		}
		if (above < k1)
			gk_atomic_add(hits, 1);
		if (above < k2)
			gk_atomic_add(hits + 1, 1);
	}
}
