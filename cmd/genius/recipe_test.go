package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
)

// TestTrainRecipeFlags: genius train's recipe flags reach the run (its
// checkpoint stores the configuration), and a bad value names its flag.
func TestTrainRecipeFlags(t *testing.T) {
	train := func(extra ...string) (string, error) {
		cmd := newRootCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append([]string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "8",
			"--steps", "1", "--json"}, extra...))
		err := cmd.Execute()
		return errOut.String(), err
	}
	ck := filepath.Join(t.TempDir(), "final.ckpt")
	if stderr, err := train("--momentum", "-1", "--nesterov", "--clip-norm", "5", "--label-smoothing", "0.1", "--random-erasing", "0.5",
		"--randaugment-n", "2", "--randaugment-m", "9", "--checkpoint", ck); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	f, err := os.Open(ck)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := checkpoint.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var cfg training.Config
	if err := json.Unmarshal(c.Header.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	r := cfg.Recipe
	if r.MomentumRate() != 0 || !r.Nesterov || r.ClipNorm != 5 || r.LabelSmoothing != 0.1 || r.RandomErasing != 0.5 ||
		r.RandAugmentN != 2 || r.RandAugmentM != 9 || r.Dropout != 0.2 || r.WeightDecay != 1e-4 || r.Batch != 8 || r.Steps != 1 {
		t.Errorf("trained with %s", c.Header.Config)
	}
	for _, tc := range [][2]string{{"--label-smoothing", "1"}, {"--ema", "1"}, {"--momentum", "1"}, {"--clip-norm", "-1"}, {"--dropout", "1"}} {
		if _, err := train(tc[0], tc[1]); err == nil || !strings.HasSuffix(err.Error(), "change "+tc[0]) {
			t.Errorf("%s %s: %v, want it to name the flag", tc[0], tc[1], err)
		}
	}
}
