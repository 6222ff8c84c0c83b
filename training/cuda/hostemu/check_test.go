//go:build cgo

package hostemu

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// TestKernelsMatchCPU runs every kernel, forward and backward, in float32
// and bf16, through the host emulator and compares it with the CPU engine.
func TestKernelsMatchCPU(t *testing.T) {
	d := New()
	defer d.Close()
	for seed := uint64(1); seed <= 1; seed++ {
		results, err := kernels.Check(d, seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// The emulator is a Gemmer, so Check compares its matrix product
		// too: 2 input types x 3 transpositions x overwrite/accumulate.
		gemms := 0
		for _, r := range results {
			if strings.HasPrefix(r.Op, "gemm ") {
				gemms++
			}
		}
		if gemms != 12 {
			t.Errorf("seed %d: %d gemm comparisons, want 12", seed, gemms)
		}
		for _, r := range results {
			if !r.OK() {
				t.Errorf("seed %d: %s", seed, r)
			} else if testing.Verbose() {
				t.Logf("seed %d: %s", seed, r)
			}
		}
	}
	// Every kernel of the sources ran.
	for _, name := range d.Kernels() {
		if d.Launched[name] == 0 {
			t.Errorf("kernel %s is not checked", name)
		}
	}
}
