// The kernels compiled as C++ for the host, and a launcher that runs a
// block's threads as pthreads (blocks one after another) so that
// sync_threads() and shared memory behave as on the GPU.
#include "../kernels/batchnorm.cu"
#include "../kernels/conv.cu"
#include "../kernels/elementwise.cu"
#include "../kernels/loss.cu"
#include "../kernels/optim.cu"
#include "../kernels/pool.cu"

#include <stdlib.h>
#include <utility>

#include "emu.h"

// Parameter kinds as the Go side names them: pointer, int, float.
template <typename T> struct gk_code;
template <typename T> struct gk_code<T *> { static constexpr char v = 'p'; };
template <> struct gk_code<int> { static constexpr char v = 'i'; };
template <> struct gk_code<float> { static constexpr char v = 'f'; };

// gk_thunk<F> calls kernel F with its parameters read from an array of
// pointers to their values, as cuLaunchKernel takes them.
template <auto F> struct gk_thunk;
template <typename... A, void (*F)(A...)> struct gk_thunk<F> {
	static constexpr char sig[] = {gk_code<A>::v..., 0};
	template <size_t... I> static void call(void **p, std::index_sequence<I...>) { F(*static_cast<A *>(p[I])...); }
	static void call(void **p) { call(p, std::index_sequence_for<A...>{}); }
};

struct gk_entry {
	const char *name, *sig;
	void (*call)(void **);
};

#define GK_ENTRY(k) {#k, gk_thunk<k>::sig, gk_thunk<k>::call}

static const gk_entry gk_entries[] = {
	GK_ENTRY(bn_stats_f32),
	GK_ENTRY(bn_stats_bf16),
	GK_ENTRY(bn_finalize),
	GK_ENTRY(bn_eval_prep),
	GK_ENTRY(bn_apply_f32),
	GK_ENTRY(bn_apply_bf16),
	GK_ENTRY(bn_bwd_reduce_f32),
	GK_ENTRY(bn_bwd_reduce_bf16),
	GK_ENTRY(bn_bwd_apply_f32),
	GK_ENTRY(bn_bwd_apply_bf16),
	GK_ENTRY(bn_bwd_finalize),
	GK_ENTRY(dw_fwd_f32),
	GK_ENTRY(dw_fwd_bf16),
	GK_ENTRY(dw_bwd_data_f32),
	GK_ENTRY(dw_bwd_data_bf16),
	GK_ENTRY(dw_bwd_filter_f32),
	GK_ENTRY(dw_bwd_filter_bf16),
	GK_ENTRY(im2col_f32),
	GK_ENTRY(im2col_bf16),
	GK_ENTRY(col2im_f32),
	GK_ENTRY(col2im_bf16),
	GK_ENTRY(act_fwd_f32),
	GK_ENTRY(act_fwd_bf16),
	GK_ENTRY(act_bwd_f32),
	GK_ENTRY(act_bwd_bf16),
	GK_ENTRY(add_f32),
	GK_ENTRY(add_bf16),
	GK_ENTRY(bias_add_f32),
	GK_ENTRY(bias_add_bf16),
	GK_ENTRY(bias_grad_f32),
	GK_ENTRY(bias_grad_bf16),
	GK_ENTRY(chunk_sum),
	GK_ENTRY(f32_to_bf16),
	GK_ENTRY(bf16_to_f32),
	GK_ENTRY(nchw_to_chwn_f32),
	GK_ENTRY(nchw_to_chwn_bf16),
	GK_ENTRY(chwn_to_nchw_f32),
	GK_ENTRY(softmax_xent),
	GK_ENTRY(topk_hits),
	GK_ENTRY(sumsq_partial),
	GK_ENTRY(sum_final),
	GK_ENTRY(sgd_step),
	GK_ENTRY(ema_update),
	GK_ENTRY(gap_fwd_f32),
	GK_ENTRY(gap_fwd_bf16),
	GK_ENTRY(gap_bwd_f32),
	GK_ENTRY(gap_bwd_bf16),
	GK_ENTRY(se_scale_fwd_f32),
	GK_ENTRY(se_scale_fwd_bf16),
	GK_ENTRY(se_gate_grad_f32),
	GK_ENTRY(se_gate_grad_bf16),
	GK_ENTRY(se_scale_bwd_f32),
	GK_ENTRY(se_scale_bwd_bf16),
};

int gk_kernel_count(void) { return sizeof gk_entries / sizeof gk_entries[0]; }
const char *gk_kernel_name(int i) { return gk_entries[i].name; }
const char *gk_kernel_sig(int i) { return gk_entries[i].sig; }

struct gk_thread_arg {
	const gk_entry *e;
	void **args;
	int tid, grid;
};

static void *gk_thread(void *p) {
	gk_thread_arg *a = (gk_thread_arg *)p;
	gk_tid = a->tid;
	for (int b = 0; b < a->grid; b++) {
		gk_bid = b;
		a->e->call(a->args);
		// No thread starts the next block while another still uses the
		// block's shared memory.
		pthread_barrier_wait(&gk_barrier);
	}
	return 0;
}

int gk_launch(int kernel, int grid, int block, void **args) {
	gk_gdim = grid;
	gk_bdim = block;
	if (pthread_barrier_init(&gk_barrier, 0, block) != 0)
		return -1;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_t *th = (pthread_t *)calloc(block, sizeof(pthread_t));
	gk_thread_arg *ta = (gk_thread_arg *)calloc(block, sizeof(gk_thread_arg));
	int started = 0;
	for (int t = 0; t < block; t++) {
		ta[t] = gk_thread_arg{&gk_entries[kernel], args, t, grid};
		if (pthread_create(&th[t], &attr, gk_thread, &ta[t]) != 0) {
			// The started threads wait on a barrier that can never fill:
			// nothing to recover, so fail loudly.
			abort();
		}
		started++;
	}
	for (int t = 0; t < started; t++)
		pthread_join(th[t], 0);
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&gk_barrier);
	free(th);
	free(ta);
	return 0;
}
