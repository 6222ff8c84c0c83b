// Batch norm over CHWN data (a channel is one contiguous row of m values),
// as torch.nn.BatchNorm2d computes it: batch statistics in training with the
// running statistics updated (momentum, unbiased variance), running
// statistics in evaluation, an activation optionally fused in. Statistics
// and parameters are float32 whatever the storage type of x.
#include "kernels.h"
#include "activation.h"

// stats[2c], stats[2c+1] = sum(x - shift), sum((x - shift)^2) with the
// running mean as shift (keeps the one-pass variance accurate in float32).
// One block per channel.
template <typename T> DEV void bn_stats(int c, int m, const T *x, const float *rmean, float *stats) {
	SHARED float buf[GK_BLOCK];
	for (int ch = bid_x(); ch < c; ch += gdim_x()) {
		const T *row = x + (long long)ch * m;
		float shift = rmean[ch], s = 0.f, ss = 0.f;
		for (int i = tid_x(); i < m; i += GK_BLOCK) {
			float d = ld(row + i) - shift;
			s += d;
			ss += d * d;
		}
		s = block_sum(buf, s);
		ss = block_sum(buf, ss);
		if (tid_x() == 0) {
			stats[2 * ch] = s;
			stats[2 * ch + 1] = ss;
		}
	}
}
KERNEL bn_stats_f32(int c, int m, const float *x, const float *rmean, float *stats) { bn_stats(c, m, x, rmean, stats); }
KERNEL bn_stats_bf16(int c, int m, const bf16 *x, const float *rmean, float *stats) { bn_stats(c, m, x, rmean, stats); }

// From the sums over total values: the batch mean and 1/sqrt(var+eps) into
// mu and inv, and (when update is set) the running statistics.
KERNEL bn_finalize(int c, float total, float momentum, float eps, int update, const float *stats, float *rmean,
                   float *rvar, float *mu, float *inv) {
	FOR_N(ch, c) {
		float ms = stats[2 * ch] / total;
		float mean = rmean[ch] + ms;
		float var = gk_max(stats[2 * ch + 1] / total - ms * ms, 0.f);
		if (update) {
			float unbiased = total > 1.f ? var * total / (total - 1.f) : var;
			rmean[ch] = (1.f - momentum) * rmean[ch] + momentum * mean;
			rvar[ch] = (1.f - momentum) * rvar[ch] + momentum * unbiased;
		}
		mu[ch] = mean;
		inv[ch] = 1.f / gk_sqrt(var + eps);
	}
}

// Evaluation: normalise with the running statistics.
KERNEL bn_eval_prep(int c, float eps, const float *rmean, const float *rvar, float *mu, float *inv) {
	FOR_N(ch, c) {
		mu[ch] = rmean[ch];
		inv[ch] = 1.f / gk_sqrt(rvar[ch] + eps);
	}
}

// y = act(a*x + b) with a = gamma*inv, b = beta - mu*a.
template <typename T>
DEV void bn_apply(int act, int c, int m, const T *x, T *y, const float *gamma, const float *beta, const float *mu,
                  const float *inv) {
	FOR_N(i, c * m) {
		int ch = i / m;
		float a = gamma[ch] * inv[ch];
		st(y + i, act_apply(act, a * ld(x + i) + beta[ch] - mu[ch] * a));
	}
}
KERNEL bn_apply_f32(int act, int c, int m, const float *x, float *y, const float *gamma, const float *beta,
                    const float *mu, const float *inv) {
	bn_apply(act, c, m, x, y, gamma, beta, mu, inv);
}
KERNEL bn_apply_bf16(int act, int c, int m, const bf16 *x, bf16 *y, const float *gamma, const float *beta,
                     const float *mu, const float *inv) {
	bn_apply(act, c, m, x, y, gamma, beta, mu, inv);
}

// Backward, first pass (one block per channel): with d = dy*act'(pre),
// dbeta = sum(d) and dgamma = sum(d*(x-mu))*inv.
template <typename T>
DEV void bn_bwd_reduce(int act, int c, int m, const T *x, const T *dy, const float *gamma, const float *beta,
                       const float *mu, const float *inv, float *dgamma, float *dbeta) {
	SHARED float buf[GK_BLOCK];
	for (int ch = bid_x(); ch < c; ch += gdim_x()) {
		const T *xr = x + (long long)ch * m, *gr = dy + (long long)ch * m;
		float a = gamma[ch] * inv[ch], b = beta[ch] - mu[ch] * a, sg = 0.f, sgx = 0.f;
		for (int i = tid_x(); i < m; i += GK_BLOCK) {
			float xv = ld(xr + i);
			float d = ld(gr + i) * act_deriv(act, a * xv + b);
			sg += d;
			sgx += d * (xv - mu[ch]);
		}
		sg = block_sum(buf, sg);
		sgx = block_sum(buf, sgx);
		if (tid_x() == 0) {
			dbeta[ch] = sg;
			dgamma[ch] = sgx * inv[ch];
		}
	}
}
KERNEL bn_bwd_reduce_f32(int act, int c, int m, const float *x, const float *dy, const float *gamma,
                         const float *beta, const float *mu, const float *inv, float *dgamma, float *dbeta) {
	bn_bwd_reduce(act, c, m, x, dy, gamma, beta, mu, inv, dgamma, dbeta);
}
KERNEL bn_bwd_reduce_bf16(int act, int c, int m, const bf16 *x, const bf16 *dy, const float *gamma,
                          const float *beta, const float *mu, const float *inv, float *dgamma, float *dbeta) {
	bn_bwd_reduce(act, c, m, x, dy, gamma, beta, mu, inv, dgamma, dbeta);
}

// Backward, second pass: dx = a*(d - mean(d) - h*mean(d*h)) with h the
// normalised input, over total values per channel (training), or a*d
// (evaluation, train == 0).
template <typename T>
DEV void bn_bwd_apply(int act, int train, int c, int m, float total, const T *x, const T *dy, T *dx,
                      const float *gamma, const float *beta, const float *mu, const float *inv, const float *dgamma,
                      const float *dbeta) {
	FOR_N(i, c * m) {
		int ch = i / m;
		float a = gamma[ch] * inv[ch], xv = ld(x + i);
		float d = ld(dy + i) * act_deriv(act, a * xv + beta[ch] - mu[ch] * a);
		if (train) {
			float mg = dbeta[ch] / total, mgh = dgamma[ch] / total * inv[ch];
			d = d - mgh * xv + (mu[ch] * mgh - mg);
		}
		st(dx + i, a * d);
	}
}
KERNEL bn_bwd_apply_f32(int act, int train, int c, int m, float total, const float *x, const float *dy, float *dx,
                        const float *gamma, const float *beta, const float *mu, const float *inv,
                        const float *dgamma, const float *dbeta) {
	bn_bwd_apply(act, train, c, m, total, x, dy, dx, gamma, beta, mu, inv, dgamma, dbeta);
}
KERNEL bn_bwd_apply_bf16(int act, int train, int c, int m, float total, const bf16 *x, const bf16 *dy, bf16 *dx,
                         const float *gamma, const float *beta, const float *mu, const float *inv,
                         const float *dgamma, const float *dbeta) {
	bn_bwd_apply(act, train, c, m, total, x, dy, dx, gamma, beta, mu, inv, dgamma, dbeta);
}
