package tensor

import (
	"runtime"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

// simdCPU returns a backend that runs the assembly kernels. Without them the
// comparisons with the portable code cannot run: a build with no assembly
// (not amd64) skips; an amd64 CPU without AVX-512 skips locally and fails
// under CI, since the kernels that production machines run would otherwise
// pass unchecked.
func simdCPU(t *testing.T, o CPUOptions) *CPU {
	t.Helper()
	if !haveSIMDKernel {
		t.Skipf("GOARCH=%s builds no assembly kernels: nothing to compare with the portable code", runtime.GOARCH)
	}
	c := NewCPU(o)
	if !c.simd {
		testenv.Missing(t, "this CPU has no AVX-512F: the assembly kernels cannot be compared with the portable code; run the tests on an AVX-512 machine")
	}
	return c
}

// TestGemmMatchesNaive checks the default backend, which on amd64 must be
// the assembly micro-kernel wherever the CPU allows it.
func TestDefaultBackendUsesSIMD(t *testing.T) {
	c := simdCPU(t, CPUOptions{Workers: 2})
	if got := NewCPU(CPUOptions{Workers: 2}).Name(); got != c.Name() || got != "cpu-avx512" {
		t.Fatalf("default backend is %s, want cpu-avx512 on this CPU", got)
	}
}
