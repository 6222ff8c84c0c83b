package gpucheck

import (
	"context"
	"os"
	"testing"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

func TestZZProbeDefaults(t *testing.T) {
	o := Defaults()
	ds, err := Synthetic{Train: o.TrainImages, Test: o.TestImages, Seed: o.Seed}.open()
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	cfg, _ := o.TrainConfig()
	per := training.NewLoader(cfg, ds.train, 0).Batches()
	cr, _ := training.NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, 10, per)
	dr, _ := training.NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, 10, per)
	var c Convergence
	if err := compare(context.Background(), o, cfg, ds, cr, dr, "cpu", &c, os.Stdout); err != nil {
		t.Fatal(err)
	}
}
