// The kernels compiled as C++ for the host, and a launcher that runs a
// block's threads as coroutines (blocks one after another) so that
// sync_threads() and shared memory behave as on the GPU.
#include "../kernels/batchnorm.cu"
#include "../kernels/conv.cu"
#include "../kernels/dropout.cu"
#include "../kernels/elementwise.cu"
#include "../kernels/loss.cu"
#include "../kernels/optim.cu"
#include "../kernels/pool.cu"
#include "../kernels/upsample.cu"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
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
	GK_ENTRY(avgpool_fwd_f32),
	GK_ENTRY(avgpool_fwd_bf16),
	GK_ENTRY(avgpool_bwd_f32),
	GK_ENTRY(avgpool_bwd_bf16),
	GK_ENTRY(se_scale_fwd_f32),
	GK_ENTRY(se_scale_fwd_bf16),
	GK_ENTRY(se_gate_grad_f32),
	GK_ENTRY(se_gate_grad_bf16),
	GK_ENTRY(se_scale_bwd_f32),
	GK_ENTRY(se_scale_bwd_bf16),
	GK_ENTRY(upsample_fwd_f32),
	GK_ENTRY(upsample_fwd_bf16),
	GK_ENTRY(upsample_bwd_f32),
	GK_ENTRY(upsample_bwd_bf16),
};

int gk_kernel_count(void) { return sizeof gk_entries / sizeof gk_entries[0]; }
const char *gk_kernel_name(int i) { return gk_entries[i].name; }
const char *gk_kernel_sig(int i) { return gk_entries[i].sig; }

// The threads of a block run as coroutines on the calling OS thread: each
// runs until it reaches sync_threads() or returns, then the next one runs.
// A barrier is a round over the block's threads rather than a wake-up of
// hundreds of OS threads (measured: a pthread barrier of 256 threads on 2
// cores cost about 1 ms, which made a network's batch norms take minutes).
// The rounds alternate between ascending and descending thread order, so
// a thread that reads another's write without a barrier between sees a
// stale value in one of them.
namespace {

enum { GK_READY, GK_AT_BARRIER, GK_DONE };

const size_t gk_stack_size = 64 << 10;

#if defined(__x86_64__) && defined(__linux__) && !defined(GK_EMU_UCONTEXT)
// gk_switch saves the callee-saved registers and the floating-point control
// words on the current stack, stores its pointer in *from and resumes the
// context saved at to: the System V ABI's view of a function call, so no
// system call (swapcontext saves the signal mask with one per switch).
extern "C" void gk_switch(void **from, void *to);
asm(R"(
	.text
	.p2align 4
	.type gk_switch,@function
gk_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $8, %rsp
	stmxcsr (%rsp)
	fnstcw 4(%rsp)
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	ldmxcsr (%rsp)
	fldcw 4(%rsp)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size gk_switch, .-gk_switch
)");

struct gk_ctx {
	void *sp;
};

void gk_fiber_main();

// gk_ctx_init prepares a context that starts gk_fiber_main on stack.
void gk_ctx_init(gk_ctx *c, char *stack) {
	uintptr_t top = ((uintptr_t)(stack + gk_stack_size)) & ~(uintptr_t)15;
	void **sp = (void **)top;
	*--sp = 0;                         // gk_fiber_main's return address: never used
	*--sp = (void *)gk_fiber_main;     // where gk_switch returns to
	for (int r = 0; r < 6; r++)        // rbp rbx r12-r15
		*--sp = 0;
	*--sp = 0;
	uint32_t mxcsr;
	uint16_t fcw;
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	asm volatile("fnstcw %0" : "=m"(fcw));
	memcpy(sp, &mxcsr, 4);
	memcpy((char *)sp + 4, &fcw, 2);
	c->sp = sp;
}

void gk_ctx_switch(gk_ctx *from, gk_ctx *to) { gk_switch(&from->sp, to->sp); }

#else // portable and slower: one signal-mask system call per switch

struct gk_ctx {
	ucontext_t uc;
};

void gk_fiber_main();

void gk_ctx_init(gk_ctx *c, char *stack) {
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = gk_stack_size;
	c->uc.uc_link = 0;
	makecontext(&c->uc, gk_fiber_main, 0);
}

void gk_ctx_switch(gk_ctx *from, gk_ctx *to) { swapcontext(&from->uc, &to->uc); }

#endif

struct gk_fiber {
	gk_ctx ctx;
	char *stack;
	int state;
};

gk_ctx gk_sched;
gk_fiber *gk_fibers;
int gk_nfibers, gk_cur;
const gk_entry *gk_job;
void **gk_job_args;

void gk_fiber_main() {
	gk_job->call(gk_job_args);
	gk_fibers[gk_cur].state = GK_DONE;
	gk_ctx_switch(&gk_fibers[gk_cur].ctx, &gk_sched);
	abort(); // a finished thread is never resumed
}

int gk_fibers_ensure(int block) {
	if (block <= gk_nfibers)
		return 0;
	gk_fiber *f = (gk_fiber *)realloc(gk_fibers, block * sizeof(gk_fiber));
	if (!f)
		return -1;
	gk_fibers = f;
	for (int t = gk_nfibers; t < block; t++) {
		gk_fibers[t].stack = (char *)malloc(gk_stack_size);
		if (!gk_fibers[t].stack)
			return -1;
		gk_nfibers = t + 1;
	}
	return 0;
}

// gk_run_block runs block gk_bid to completion; -2 when its threads disagree
// about a barrier (some returned while others wait at sync_threads, which
// hangs or misbehaves on the GPU).
int gk_run_block(int block) {
	for (int t = 0; t < block; t++) {
		gk_ctx_init(&gk_fibers[t].ctx, gk_fibers[t].stack);
		gk_fibers[t].state = GK_READY;
	}
	for (int round = 0;; round++) {
		int done = 0;
		for (int i = 0; i < block; i++) {
			int t = round % 2 == 0 ? i : block - 1 - i;
			gk_cur = gk_tid = t;
			gk_fibers[t].state = GK_READY;
			gk_ctx_switch(&gk_sched, &gk_fibers[t].ctx);
			done += gk_fibers[t].state == GK_DONE;
		}
		if (done == block)
			return 0;
		if (done > 0)
			return -2;
	}
}

} // namespace

void gk_sync(void) {
	gk_fibers[gk_cur].state = GK_AT_BARRIER;
	gk_ctx_switch(&gk_fibers[gk_cur].ctx, &gk_sched);
}

int gk_launch(int kernel, int grid, int block, void **args) {
	if (gk_fibers_ensure(block) != 0)
		return -1;
	gk_gdim = grid;
	gk_bdim = block;
	gk_job = &gk_entries[kernel];
	gk_job_args = args;
	for (int b = 0; b < grid; b++) {
		gk_bid = b;
		if (int rc = gk_run_block(block); rc != 0)
			return rc;
	}
	return 0;
}
