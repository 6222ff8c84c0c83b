package training

import (
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training/tensor"
)

// LoadBackbone takes every tensor but the head from the source's EMA
// weights, keeps the fresh head for the new class count and restarts the
// EMA at the loaded weights.
func TestLoadBackbone(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	arch := make([]int, 30)
	cfg := Config{Space: "mobilenetv2-imagenet", Arch: arch, Classes: 10, Input: 32, Recipe: recipe.Recipe{Epochs: 1, Batch: 4, LR: 0.1, EMADecay: 0.9, Seed: 1}}
	src, err := NewRun(be, cfg, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Make the EMA weights differ from the live ones.
	for i := range src.EMA.Params {
		for j := range src.EMA.Params[i] {
			src.EMA.Params[i][j] += 0.5
		}
	}
	ck, err := src.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	dcfg := cfg
	dcfg.Classes, dcfg.Seed = 7, 2
	dst, err := NewRun(be, dcfg, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	head := dst.headNames()
	if len(head) != 2 {
		t.Fatalf("head %v, want the classifier's weight and bias", head)
	}
	fresh := map[string][]float32{}
	for _, p := range dst.Net.Params() {
		fresh[p.Name] = slices.Clone(p.W)
	}
	n, err := dst.LoadBackbone(ck)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(dst.Net.Params()) + len(dst.Net.Buffers()) - 2; n != want {
		t.Errorf("loaded %d tensors, want %d", n, want)
	}
	for i, p := range dst.Net.Params() {
		if head[p.Name] {
			if !strings.Contains(p.Name, "linear") || !slices.Equal(p.W, fresh[p.Name]) {
				t.Errorf("head tensor %s changed", p.Name)
			}
			continue
		}
		if !slices.Equal(p.W, src.EMA.Params[i]) {
			t.Fatalf("%s is not the source's EMA weight", p.Name)
		}
		if !slices.Equal(dst.EMA.Params[i], p.W) {
			t.Fatalf("EMA of %s did not restart at the loaded weight", p.Name)
		}
	}
	other := cfg
	other.Arch = slices.Clone(arch)
	other.Arch[0] = 1
	wrong, err := NewRun(be, other, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.LoadBackbone(ck); err == nil || !strings.Contains(err.Error(), "same architecture") {
		t.Fatalf("another architecture: %v", err)
	}
}
