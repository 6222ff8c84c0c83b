package accel

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

func TestParse(t *testing.T) {
	for _, s := range []string{"cpu", "cuda"} {
		if b, err := ParseBackend(s); err != nil || string(b) != s {
			t.Errorf("ParseBackend(%q) = %q, %v", s, b, err)
		}
	}
	for _, s := range []string{"", "gpu", "CUDA", "bogus"} {
		if _, err := ParseBackend(s); err == nil || !strings.Contains(err.Error(), "use cpu or cuda") {
			t.Errorf("ParseBackend(%q): err = %v, want one naming cpu and cuda", s, err)
		}
	}
	if dt, err := ParseDType("bf16"); err != nil || dt != kernels.BF16 {
		t.Errorf("bf16: %v, %v", dt, err)
	}
	if dt, err := ParseDType("f32"); err != nil || dt != kernels.F32 {
		t.Errorf("f32: %v, %v", dt, err)
	}
	if _, err := ParseDType("fp16"); err == nil || !strings.Contains(err.Error(), "use bf16 or f32") {
		t.Errorf("fp16: %v", err)
	}
}

func TestOpenCPU(t *testing.T) {
	a, err := Open(Options{Backend: CPU})
	if err != nil {
		t.Fatal(err)
	}
	if a.Device != nil || a.Name() != "cpu" {
		t.Errorf("CPU accelerator has device %v, name %q", a.Device, a.Name())
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	if _, err := Open(Options{Backend: "tpu"}); err == nil {
		t.Error("Open of an unknown backend succeeded")
	}
	if _, err := Open(Options{Backend: CUDA, GPU: -1}); err == nil || !strings.Contains(err.Error(), "ordinal -1") {
		t.Errorf("GPU -1: %v", err)
	}
}
