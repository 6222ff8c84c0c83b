package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/coco"
)

func TestDataCocoSynthetic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "coco")
	out, err := runGenius(t, "data", "coco", "--synthetic", dir, "--train", "4", "--val", "2", "--seed", "3")
	if err != nil || !strings.Contains(out, "train2017") || !strings.Contains(out, "val2017") {
		t.Fatalf("data coco --synthetic: %v\n%s", err, out)
	}
	for split, n := range map[string]int{coco.TrainSplit: 4, coco.ValSplit: 2} {
		ds, err := coco.Open(coco.AnnotationPath(dir, split), coco.ImageDir(dir, split))
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != n {
			t.Errorf("%s: %d images, want %d", split, ds.Len(), n)
		}
		if _, err := ds.Sample(n - 1); err != nil {
			t.Error(err)
		}
	}
	if _, err := runGenius(t, "data", "coco", "--synthetic", dir); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("writing over a dataset: %v", err)
	}
	if out, err = runGenius(t, "data", "coco", "--check", dir); err != nil || strings.Count(out, " ok") != 2 {
		t.Errorf("data coco --check: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(coco.ImageDir(dir, coco.ValSplit), "000000000006.jpg"))
	if _, err = runGenius(t, "data", "coco", "--check", dir); err == nil || !strings.Contains(err.Error(), "images[1] (id 6)") {
		t.Errorf("check with an image missing: %v", err)
	}
	if _, err = runGenius(t, "data", "coco"); err == nil || !strings.Contains(err.Error(), "--synthetic DIR") {
		t.Errorf("no flags: %v", err)
	}
}
