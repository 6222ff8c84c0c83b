//go:build !cgo

package hostemu

import (
	"os"
	"testing"
)

// Without cgo the emulator cannot be built; CI must have it.
func TestNeedsCgo(t *testing.T) {
	if os.Getenv("CI") == "true" {
		t.Fatal("the kernel tests need cgo and a C++ compiler (CGO_ENABLED=1, g++)")
	}
	t.Skip("cgo is off: the CUDA kernels' host tests do not run")
}
