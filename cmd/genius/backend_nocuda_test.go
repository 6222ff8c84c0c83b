//go:build !cuda

package main

import (
	"strings"
	"testing"
)

// A genius built without CUDA refuses the cuda backend with the way out,
// and exits non-zero: `genius train --backend cuda` and, without
// --backend, a gpu worker, which never trains on the CPU unasked.
func TestBackendCUDAWithoutTag(t *testing.T) {
	clean := []string{"GENIUS_BACKEND=", "GENIUS_DTYPE=", "GENIUS_GPU=", "GENIUS_WORKER_KIND=", "GENIUS_LOADER_WORKERS=", "GENIUS_MICRO_BATCH="}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"train", nil, []string{"train", "--backend", "cuda", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "4", "--steps", "1"},
			[]string{"--backend cuda", "built without CUDA", "make build-cuda", "CUDA image", "--backend cpu"}},
		{"train from the variable", []string{"GENIUS_BACKEND=cuda"}, []string{"train", "--space", "nas-bench-201", "--arch", "3,1,2,0,1,4", "--input", "16", "--batch", "4", "--steps", "1"},
			[]string{"built without CUDA", "--backend cpu"}},
		{"gpu worker by default", nil, []string{"worker", "--kind", "gpu", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", ""},
			[]string{"genius worker --kind gpu", "never falls back to the CPU", "built without CUDA", "make build-cuda", "--backend cpu"}},
		{"gpu worker from the variable", []string{"GENIUS_WORKER_KIND=gpu"}, []string{"worker", "--address", "127.0.0.1:1", "--health-addr", "", "--metrics-addr", ""},
			[]string{"built without CUDA", "--backend cpu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := execGenius(t, append(clean, tt.env...), tt.args...)
			if code == 0 {
				t.Fatalf("exit code 0; output %s", out)
			}
			for _, part := range tt.want {
				if !strings.Contains(out, part) {
					t.Errorf("output %q lacks %q", out, part)
				}
			}
			for _, never := range []string{"step 1/1", "connect to Temporal", "worker started"} {
				if strings.Contains(out, never) {
					t.Errorf("it went on (%q): %s", never, out)
				}
			}
		})
	}
}
