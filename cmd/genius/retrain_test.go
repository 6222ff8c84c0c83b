package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadRetrainSpec(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mine.json")
	if err := os.WriteFile(file, []byte(`{"space":"mobilenetv2-imagenet","arch":[1,2],"epochs":10,"batch":4,"lr":0.1,"chunk_epochs":5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, spec, arch string
		epochs           int
		wantArch         []int
		wantEpochs       int
		errPart          string
	}{
		{"ready", "cpu-demo", "", 0, nil, 4, ""},
		{"ready with overrides", "paper", "4,0,4,3", 2, []int{4, 0, 4, 3}, 2, ""},
		{"file", file, "", 3, []int{1, 2}, 3, ""},
		{"unknown", "nope", "", 0, nil, 0, "cpu-demo, paper"},
		{"bad arch", "paper", "1,x", 0, nil, 0, "not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadRetrainSpec(tc.spec, tc.arch, tc.epochs)
			if errCase(t, err, tc.errPart) {
				return
			}
			if s.Epochs != tc.wantEpochs || (tc.wantArch != nil && !slices.Equal(s.Arch, tc.wantArch)) || s.ChunkEpochs > s.Epochs {
				t.Errorf("spec %+v", s)
			}
		})
	}
}
