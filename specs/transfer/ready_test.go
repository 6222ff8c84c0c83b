package transfer

import (
	"strings"
	"testing"
)

func TestReadySpecs(t *testing.T) {
	if got := strings.Join(Names(), " "); got != "cifar10 cifar100 cpu-demo" {
		t.Fatalf("Names() = %q", got)
	}
	for name, want := range map[string]struct {
		format string
		input  int
	}{"cifar10": {"cifar10", 224}, "cifar100": {"cifar100", 224}, "cpu-demo": {"cifar10", 32}} {
		s, err := Ready(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Data.Format != want.format || s.Input != want.input || s.Classes != 0 {
			t.Errorf("%s: format %s input %d classes %d, want %s at %d with the dataset's classes", name, s.Data.Format, s.Input, s.Classes, want.format, want.input)
		}
		if err := Validate(s); err == nil || !strings.Contains(err.Error(), "from_checkpoint") {
			t.Errorf("%s without from_checkpoint: %v", name, err)
		}
		s.FromCheckpoint = "retrain/r/step-000000001.ckpt"
		if err := Validate(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Ready("svhn"); err == nil || !strings.Contains(err.Error(), "cifar10, cifar100, cpu-demo") {
		t.Errorf("unknown spec: %v", err)
	}
}
