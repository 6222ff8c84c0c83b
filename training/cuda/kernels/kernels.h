// Portability header for the training kernels. The same .cu sources compile
// two ways:
//   - for the GPU with clang-19 (--cuda-device-only -nocudainc), against
//     clang's NVPTX builtins, with no NVIDIA headers;
//   - as plain C++ for the host tests, where a launch runs each CUDA thread
//     of a block as a coroutine (a block at a time), shared memory is a
//     static array and sync_threads() switches to the next thread.
// Kernels use only what is defined here: no warp shuffles, no CUDA headers.
#pragma once

#define GK_BLOCK 256 // threads per block of every reduction kernel

#if defined(__CUDA__) && defined(__CUDA_ARCH__)

#define KERNEL extern "C" __attribute__((global)) void
#define DEV static __attribute__((device)) inline
#define SHARED __attribute__((shared))
#define tid_x() ((int)__nvvm_read_ptx_sreg_tid_x())
#define bid_x() ((int)__nvvm_read_ptx_sreg_ctaid_x())
#define bdim_x() ((int)__nvvm_read_ptx_sreg_ntid_x())
#define gdim_x() ((int)__nvvm_read_ptx_sreg_nctaid_x())
#define sync_threads() __syncthreads()

typedef __bf16 bf16;
DEV float ld(const float *p) { return *p; }
DEV float ld(const bf16 *p) { return (float)*p; }
DEV void st(float *p, float v) { *p = v; }
DEV void st(bf16 *p, float v) { *p = (bf16)v; }

// No libdevice (-nocudalib): the few transcendental functions come from the
// hardware approximations.
DEV float gk_exp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }
DEV float gk_log(float x) { return __nvvm_lg2_approx_f(x) * 0.6931471805599453f; }
DEV float gk_sqrt(float x) { return __nvvm_sqrt_rn_f(x); }
DEV void gk_atomic_add(int *p, int v) { __nvvm_atom_add_gen_i(p, v); }

#else // host emulation

#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERNEL extern "C" void
#define DEV static inline
#define SHARED static

// One launch at a time (the host device serialises them); the emulator
// sets the running thread's indices before switching to it.
inline int gk_tid, gk_bid, gk_bdim, gk_gdim;
void gk_sync(void); // the barrier, in the emulator (hostemu/glue.cc)

#define tid_x() gk_tid
#define bid_x() gk_bid
#define bdim_x() gk_bdim
#define gdim_x() gk_gdim
#define sync_threads() gk_sync()

// bf16 as its bits, converted with round-to-nearest-even as the GPU's
// cvt.rn.bf16.f32 does.
struct bf16 {
	uint16_t bits;
};
DEV float ld(const float *p) { return *p; }
DEV float ld(const bf16 *p) {
	uint32_t u = (uint32_t)p->bits << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}
DEV void st(float *p, float v) { *p = v; }
DEV void st(bf16 *p, float v) {
	uint32_t u;
	memcpy(&u, &v, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u) {
		p->bits = (uint16_t)((u >> 16) | 0x40);
		return;
	}
	u += 0x7fffu + ((u >> 16) & 1);
	p->bits = (uint16_t)(u >> 16);
}

DEV float gk_exp(float x) { return expf(x); }
DEV float gk_log(float x) { return logf(x); }
DEV float gk_sqrt(float x) { return sqrtf(x); }
DEV void gk_atomic_add(int *p, int v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

#endif

DEV float gk_min(float a, float b) { return a < b ? a : b; }
DEV float gk_max(float a, float b) { return a > b ? a : b; }

// Grid-stride loop over [0, n).
#define FOR_N(i, n) for (int i = bid_x() * bdim_x() + tid_x(); i < (n); i += bdim_x() * gdim_x())

// chunk_lo is where chunk j of chunks starts in a row of m values.
DEV int chunk_lo(int m, int chunks, int j) { return (int)((long long)m * j / chunks); }

// block_sum returns the sum of v over the block (GK_BLOCK threads) to
// every thread; buf is the caller's shared array of GK_BLOCK floats.
DEV float block_sum(float *buf, float v) {
	int t = tid_x();
	buf[t] = v;
	sync_threads();
	for (int s = GK_BLOCK / 2; s > 0; s >>= 1) {
		if (t < s)
			buf[t] += buf[t + s];
		sync_threads();
	}
	float r = buf[0];
	sync_threads();
	return r;
}
