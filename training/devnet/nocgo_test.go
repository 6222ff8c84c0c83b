//go:build !cgo

package devnet

import (
	"os"
	"testing"
)

// Without cgo the host emulator cannot be built; CI must have it.
func TestNeedsCgo(t *testing.T) {
	if os.Getenv("CI") == "true" {
		t.Fatal("the device network tests need cgo and a C++ compiler (CGO_ENABLED=1, g++) for the host emulator")
	}
	t.Skip("cgo is off: the device network tests do not run")
}
