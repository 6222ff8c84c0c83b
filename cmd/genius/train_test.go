package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrainCommandJSON(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "final.ckpt")
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "8",
		"--micro-batch", "4", "--steps", "3", "--json", "--checkpoint", ck})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	for _, k := range []string{"top1", "top5", "loss", "images_per_s", "params_m"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out.String())
		}
	}
	if got["steps"].(float64) != 3 || got["images_per_s"].(float64) <= 0 {
		t.Errorf("JSON %s", out.String())
	}
	if !strings.Contains(errOut.String(), "step 3/3") {
		t.Errorf("progress lines missing: %q", errOut.String())
	}
	if st, err := os.Stat(ck); err != nil || st.Size() == 0 {
		t.Errorf("checkpoint not written: %v", err)
	}

	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--steps") {
		t.Errorf("random data without --steps: %v", err)
	}

	// A micro-batch that does not divide the batch names the flag.
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "8",
		"--micro-batch", "3", "--steps", "1"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "change --micro-batch") {
		t.Errorf("--micro-batch 3 of 8: %v", err)
	}
}
