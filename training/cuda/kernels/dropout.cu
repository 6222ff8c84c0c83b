// Dropout. The keep decision for element i is a counter-based hash of
// (seed, i), so it depends on neither the grid nor the order of threads,
// and backward recomputes it instead of reading a mask: no mask memory and
// no mask traffic, for a few integer operations per element in a kernel
// bound by memory. DropoutKeep in ops.go is the same function in Go.
#include "kernels.h"

// mix64 is splitmix64's finaliser: every bit of z affects every bit out.
DEV unsigned long long mix64(unsigned long long z) {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

// dropout_bits is the high half of mix64(s + (i+1)*golden ratio), s being
// the mixed seed: uniform for consecutive i, and seeds that differ by a
// multiple of the step do not give shifted copies of one mask.
DEV unsigned dropout_bits(unsigned long long s, int i) {
	return (unsigned)(mix64(s + ((unsigned long long)i + 1ull) * 0x9e3779b97f4a7c15ull) >> 32);
}

// The seed arrives as two C ints (its low and high halves) and the keep
// threshold (round(p * 2^32)) as an int holding its bits: an element is
// kept when its bits are at least the threshold.
DEV unsigned long long dropout_seed(int lo, int hi) {
	return ((unsigned long long)(unsigned)hi << 32) | (unsigned long long)(unsigned)lo;
}

// y = x * scale where kept, 0 elsewhere (scale = 1/(1-p)).
template <typename T> DEV void dropout(int n, const T *x, T *y, int threshold, float scale, int seed_lo, int seed_hi) {
	unsigned long long s = mix64(dropout_seed(seed_lo, seed_hi));
	unsigned t = (unsigned)threshold;
	FOR_N(i, n) { st(y + i, dropout_bits(s, i) >= t ? ld(x + i) * scale : 0.f); }
}

// Forward and backward are the same operation: dx = dy * scale where the
// forward pass kept the element, 0 elsewhere.
KERNEL dropout_f32(int n, const float *x, float *y, int threshold, float scale, int seed_lo, int seed_hi) {
	dropout(n, x, y, threshold, scale, seed_lo, seed_hi);
}
KERNEL dropout_bf16(int n, const bf16 *x, bf16 *y, int threshold, float scale, int seed_lo, int seed_hi) {
	dropout(n, x, y, threshold, scale, seed_lo, seed_hi);
}
