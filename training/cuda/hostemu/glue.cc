// The kernels compiled as C++ for the host, and a launcher that runs a
// block's threads as pthreads (blocks one after another) so that
// sync_threads() and shared memory behave as on the GPU.
#include "../kernels/batchnorm.cu"
#include "../kernels/conv.cu"
#include "../kernels/dropout.cu"
#include "../kernels/elementwise.cu"
#include "../kernels/loss.cu"
#include "../kernels/optim.cu"
#include "../kernels/pool.cu"

#include <stdint.h>
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
	GK_ENTRY(dropout_f32),
	GK_ENTRY(dropout_bf16),
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

// The threads of a block are a pool kept from one launch to the next (of
// the same block size): creating hundreds of threads per launch would cost
// more than the kernels. The launcher and the pool meet at gk_start and
// gk_end; the pool's threads meet at gk_barrier within a launch.
static int gk_pool_size, gk_quit;
static pthread_t *gk_pool;
static pthread_barrier_t gk_start, gk_end;
static const gk_entry *gk_job;
static void **gk_job_args;

static void *gk_worker(void *p) {
	gk_tid = (int)(intptr_t)p;
	for (;;) {
		pthread_barrier_wait(&gk_start);
		if (gk_quit)
			return 0;
		for (int b = 0; b < gk_gdim; b++) {
			gk_bid = b;
			gk_job->call(gk_job_args);
			// No thread starts the next block while another still uses
			// the block's shared memory.
			pthread_barrier_wait(&gk_barrier);
		}
		pthread_barrier_wait(&gk_end);
	}
}

static void gk_pool_stop(void) {
	if (gk_pool_size == 0)
		return;
	gk_quit = 1;
	pthread_barrier_wait(&gk_start);
	for (int t = 0; t < gk_pool_size; t++)
		pthread_join(gk_pool[t], 0);
	pthread_barrier_destroy(&gk_start);
	pthread_barrier_destroy(&gk_end);
	pthread_barrier_destroy(&gk_barrier);
	free(gk_pool);
	gk_pool_size = 0;
	gk_quit = 0;
}

static int gk_pool_start(int block) {
	if (pthread_barrier_init(&gk_barrier, 0, block) != 0 || pthread_barrier_init(&gk_start, 0, block + 1) != 0 ||
	    pthread_barrier_init(&gk_end, 0, block + 1) != 0)
		return -1;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	gk_pool = (pthread_t *)calloc(block, sizeof(pthread_t));
	for (int t = 0; t < block; t++) {
		if (pthread_create(&gk_pool[t], &attr, gk_worker, (void *)(intptr_t)t) != 0) {
			// The started threads wait on a barrier that can never fill:
			// nothing to recover, so fail loudly.
			abort();
		}
	}
	pthread_attr_destroy(&attr);
	gk_pool_size = block;
	return 0;
}

int gk_launch(int kernel, int grid, int block, void **args) {
	if (block != gk_pool_size) {
		gk_pool_stop();
		if (gk_pool_start(block) != 0)
			return -1;
	}
	gk_gdim = grid;
	gk_bdim = block;
	gk_job = &gk_entries[kernel];
	gk_job_args = args;
	pthread_barrier_wait(&gk_start);
	pthread_barrier_wait(&gk_end);
	return 0;
}
