package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTransferOptionsLoad(t *testing.T) {
	tests := []struct {
		name    string
		o       transferOptions
		errPart string
		check   func(t *testing.T, o transferOptions)
	}{
		{name: "ready needs a checkpoint", o: transferOptions{spec: "cifar10"}, errPart: "--checkpoint"},
		{name: "unknown", o: transferOptions{spec: "nope"}, errPart: "cifar10, cifar100, coco, coco-cpu-demo, cpu-demo"},
		{name: "bad arch", o: transferOptions{spec: "cpu-demo", checkpoint: "k", arch: "1,x"}, errPart: "not an integer"},
		{name: "overrides", o: transferOptions{spec: "cifar100", checkpoint: "retrain/r/step-000000010.ckpt", arch: "0,1", data: "/d", input: 64, epochs: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.o.load()
			if errCase(t, err, tc.errPart) {
				return
			}
			if s.FromCheckpoint != tc.o.checkpoint || !slices.Equal(s.Arch, []int{0, 1}) || s.Data.Dir != "/d" || s.Data.Format != "cifar100" ||
				s.Input != 64 || s.Epochs != 2 || s.ChunkEpochs > 2 {
				t.Errorf("spec %+v", s)
			}
		})
	}
}

func TestDataCIFARSynthetic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c100")
	var out bytes.Buffer
	if err := runDataCIFAR(context.Background(), dataCIFAROptions{synthetic: dir, format: "cifar100", train: 20, test: 10, seed: 1}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.bin", "test.bin"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if n := map[string]int64{"train.bin": 20, "test.bin": 10}[f] * 3074; st.Size() != n {
			t.Errorf("%s is %d bytes, want %d", f, st.Size(), n)
		}
	}
	err := runDataCIFAR(context.Background(), dataCIFAROptions{synthetic: dir, format: "svhn", train: 1, test: 1}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--format") {
		t.Fatalf("bad format: %v", err)
	}
}
