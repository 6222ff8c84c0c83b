package tensor

import (
	"os"
	"runtime"
	"testing"
)

// simdCPU returns a backend that runs the assembly kernels. Without them the
// comparisons with the portable code cannot run: a build with no assembly
// (not amd64) or a CPU without AVX-512 skips, saying so, even under CI: on
// such a machine the assembly never runs, so nothing unchecked ships from
// it. GENIUS_REQUIRE_AVX512=true makes the missing feature a failure (for CI
// runners known to have it).
func simdCPU(t *testing.T, o CPUOptions) *CPU {
	t.Helper()
	if !haveSIMDKernel {
		t.Skipf("GOARCH=%s builds no assembly kernels: nothing to compare with the portable code", runtime.GOARCH)
	}
	c := NewCPU(o)
	if !c.simd {
		msg := "this CPU has no AVX-512F: the assembly kernels cannot run here, so they are not compared with the portable code; run the tests on an AVX-512 machine"
		if os.Getenv("GENIUS_REQUIRE_AVX512") == "true" {
			t.Fatal(msg + " (GENIUS_REQUIRE_AVX512=true)")
		}
		t.Skip(msg)
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
