package training

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/tensor"
)

// With RandAugment and random erasing on, a resumed run still ends with
// the weights of an uninterrupted one: the augmentation is a function of
// seed, epoch and sample.
func TestAugmentedResumeMatchesUninterrupted(t *testing.T) {
	cfg := smallConfig()
	cfg.Epochs, cfg.NoAugment, cfg.RandAugmentN, cfg.RandAugmentM, cfg.RandomErasing = 2, false, 2, 9, 0.5
	ctx := context.Background()
	ds := quadrants{n: 96, seed: 1}
	be := tensor.NewCPU(tensor.CPUOptions{})
	run := func(o Options, atStep int) *checkpoint.Checkpoint {
		t.Helper()
		var buf bytes.Buffer
		o.Backend = be
		o.Save = func(_ context.Context, c *checkpoint.Checkpoint) error {
			if atStep == 0 || c.Header.Step == atStep {
				buf.Reset()
				return checkpoint.Write(&buf, c)
			}
			return nil
		}
		if _, err := Train(ctx, cfg, ds, nil, o); err != nil {
			t.Fatal(err)
		}
		c, err := checkpoint.Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	final := run(Options{}, 0)
	mid := run(Options{CheckpointEvery: 1}, 4)
	resumed := run(Options{Resume: mid}, 0)
	for i, info := range final.Header.Tensors {
		if !slices.Equal(final.Values[i], resumed.Values[i]) {
			t.Fatalf("tensor %s differs between the uninterrupted and the resumed run", info.Name)
		}
	}
	var saved Config
	if err := json.Unmarshal(final.Header.Config, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.RandAugmentN != 2 || saved.RandAugmentM != 9 || saved.RandomErasing != 0.5 {
		t.Errorf("checkpoint config %s lost the augmentation", final.Header.Config)
	}
	// The same run without augmentation learns different weights.
	cfg.RandAugmentN, cfg.RandomErasing = 0, 0
	plain := run(Options{}, 0)
	differ := false
	for i := range final.Values {
		differ = differ || !slices.Equal(final.Values[i], plain.Values[i])
	}
	if !differ {
		t.Error("augmentation changed nothing in training")
	}
}

func TestAugmentationConfig(t *testing.T) {
	// Off by default, and absent from the config a checkpoint records.
	b, err := json.Marshal(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"randaugment", "random_erasing"} {
		if strings.Contains(string(b), key) {
			t.Errorf("default config JSON %s mentions %s", b, key)
		}
	}
	cfg := smallConfig()
	cfg.NoAugment, cfg.RandAugmentN, cfg.RandAugmentM, cfg.RandAugmentMaxM, cfg.RandomErasing = false, 2, 9, 30, 0.2
	tr := cfg.TrainTransform()
	if !tr.Train || tr.Size != 8 || tr.RandAugmentN != 2 || tr.RandAugmentM != 9 || tr.RandAugmentMaxM != 30 || tr.RandomErasing != 0.2 {
		t.Errorf("train transform %+v", tr)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.RandAugmentN = -1 },
		func(c *Config) { c.RandAugmentM = -1 },
		func(c *Config) { c.RandomErasing = 2 },
	} {
		c := smallConfig()
		bad(&c)
		if _, err := NewRun(tensor.NewCPU(tensor.CPUOptions{}), c, 4, 3); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
