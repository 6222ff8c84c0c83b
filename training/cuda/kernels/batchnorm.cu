// Batch norm over CHWN data (a channel is one contiguous row of m values),
// as torch.nn.BatchNorm2d computes it: batch statistics in training with the
// running statistics updated (momentum, unbiased variance), running
// statistics in evaluation, an activation optionally fused in. Statistics
// and parameters are float32 whatever the storage type of x.
#include "kernels.h"
#include "activation.h"

// The per-channel reductions split each row into chunks, a block per
// (channel, chunk), so that a few channels with long rows still fill the
// GPU; the partial sums are then added per channel in a fixed order, so
// results do not vary from run to run.

// partial[2q], partial[2q+1] = sum(x - shift), sum((x - shift)^2) over chunk
// q = ch*chunks + j, with the running mean as shift (keeps the one-pass
// variance accurate in float32).
template <typename T>
DEV void bn_stats(int c, int m, int chunks, const T *x, const float *rmean, float *partial) {
	SHARED float buf[GK_BLOCK];
	for (int q = bid_x(); q < c * chunks; q += gdim_x()) {
		int ch = q / chunks, j = q % chunks;
		int lo = chunk_lo(m, chunks, j), hi = chunk_lo(m, chunks, j + 1);
		const T *row = x + (long long)ch * m;
		float shift = rmean[ch], s = 0.f, ss = 0.f;
		for (int i = lo + tid_x(); i < hi; i += GK_BLOCK) {
			float d = ld(row + i) - shift;
			s += d;
			ss += d * d;
		}
		s = block_sum(buf, s);
		ss = block_sum(buf, ss);
		if (tid_x() == 0) {
			partial[2 * q] = s;
			partial[2 * q + 1] = ss;
		}
	}
}
KERNEL bn_stats_f32(int c, int m, int chunks, const float *x, const float *rmean, float *partial) {
	bn_stats(c, m, chunks, x, rmean, partial);
}
KERNEL bn_stats_bf16(int c, int m, int chunks, const bf16 *x, const float *rmean, float *partial) {
	bn_stats(c, m, chunks, x, rmean, partial);
}

// From the partial sums over total values: the batch mean and 1/sqrt(var+eps) into
// mu and inv, and (when update is set) the running statistics.
KERNEL bn_finalize(int c, int chunks, float total, float momentum, float eps, int update, const float *partial,
                   float *rmean, float *rvar, float *mu, float *inv) {
	FOR_N(ch, c) {
		float s = 0.f, ss = 0.f;
		for (int j = 0; j < chunks; j++) {
			s += partial[2 * (ch * chunks + j)];
			ss += partial[2 * (ch * chunks + j) + 1];
		}
		float ms = s / total;
		float mean = rmean[ch] + ms;
		float var = gk_max(ss / total - ms * ms, 0.f);
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

// Backward, first pass (a block per channel and chunk): with
// d = dy*act'(pre), partial[2q] = sum(d) and partial[2q+1] = sum(d*(x-mu)).
template <typename T>
DEV void bn_bwd_reduce(int act, int c, int m, int chunks, const T *x, const T *dy, const float *gamma,
                       const float *beta, const float *mu, const float *inv, float *partial) {
	SHARED float buf[GK_BLOCK];
	for (int q = bid_x(); q < c * chunks; q += gdim_x()) {
		int ch = q / chunks, j = q % chunks;
		int lo = chunk_lo(m, chunks, j), hi = chunk_lo(m, chunks, j + 1);
		const T *xr = x + (long long)ch * m, *gr = dy + (long long)ch * m;
		float a = gamma[ch] * inv[ch], b = beta[ch] - mu[ch] * a, sg = 0.f, sgx = 0.f;
		for (int i = lo + tid_x(); i < hi; i += GK_BLOCK) {
			float xv = ld(xr + i);
			float d = ld(gr + i) * act_deriv(act, a * xv + b);
			sg += d;
			sgx += d * (xv - mu[ch]);
		}
		sg = block_sum(buf, sg);
		sgx = block_sum(buf, sgx);
		if (tid_x() == 0) {
			partial[2 * q] = sg;
			partial[2 * q + 1] = sgx;
		}
	}
}
KERNEL bn_bwd_reduce_f32(int act, int c, int m, int chunks, const float *x, const float *dy, const float *gamma,
                         const float *beta, const float *mu, const float *inv, float *partial) {
	bn_bwd_reduce(act, c, m, chunks, x, dy, gamma, beta, mu, inv, partial);
}
KERNEL bn_bwd_reduce_bf16(int act, int c, int m, int chunks, const bf16 *x, const bf16 *dy, const float *gamma,
                          const float *beta, const float *mu, const float *inv, float *partial) {
	bn_bwd_reduce(act, c, m, chunks, x, dy, gamma, beta, mu, inv, partial);
}

// dbeta = sum(d), dgamma = sum(d*(x-mu))*inv from the chunks' sums.
KERNEL bn_bwd_finalize(int c, int chunks, const float *partial, const float *inv, float *dgamma, float *dbeta) {
	FOR_N(ch, c) {
		float sg = 0.f, sgx = 0.f;
		for (int j = 0; j < chunks; j++) {
			sg += partial[2 * (ch * chunks + j)];
			sgx += partial[2 * (ch * chunks + j) + 1];
		}
		dbeta[ch] = sg;
		dgamma[ch] = sgx * inv[ch];
	}
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
