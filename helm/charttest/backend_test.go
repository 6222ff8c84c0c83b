package charttest

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// GPU workers run the CUDA image on the cuda backend, with the
// micro-batch and loader defaults; the CPU worker and the data init
// container keep the plain image, and backend cpu goes back to it.
func TestGPUBackend(t *testing.T) {
	h := newHelm(t)
	cases := []struct {
		name                  string
		args                  []string
		image, backend, micro string
		loaders               string
	}{
		{"defaults", []string{"--set", "gpu.enabled=true"},
			"ghcr.io/genius-nas/genius:0.1.0-cuda", "cuda", "256", "4"},
		{"all options", []string{"-f", allOptionsFile},
			"registry.example.com/mlops/genius-cuda:0.1.0-rc1-cuda", "cuda", "128", "8"},
		{"tag and millicores", []string{"--set", "gpu.enabled=true,image.tag=1.2.3,gpu.resources.requests.cpu=3500m,gpu.dtype=f32"},
			"ghcr.io/genius-nas/genius:1.2.3-cuda", "cuda", "256", "3"},
		{"own cuda image by digest, half a CPU", []string{"--set", "gpu.enabled=true,gpu.image.repository=r.example/g,gpu.image.digest=sha256:" + sha + ",gpu.resources.requests.cpu=500m"},
			"r.example/g@sha256:" + sha, "cuda", "256", "1"},
		{"explicit loaders, own tag", []string{"--set", "gpu.enabled=true,gpu.loaderWorkers=12,gpu.image.tag=nightly-cuda"},
			"ghcr.io/genius-nas/genius:nightly-cuda", "cuda", "256", "12"},
		{"no cpu request", []string{"--set", "gpu.enabled=true,gpu.resources.requests=null,gpu.microBatch=0"},
			"ghcr.io/genius-nas/genius:0.1.0-cuda", "cuda", "0", "0"},
		{"cpu backend", []string{"--set", "gpu.enabled=true,gpu.backend=cpu"},
			"ghcr.io/genius-nas/genius:0.1.0", "cpu", "256", "4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := render(t, h, tc.args...)
			gpu := worker(t, docs, "gpu")
			c := container(t, gpu)
			if c.Image != tc.image {
				t.Errorf("GPU worker image %s, want %s", c.Image, tc.image)
			}
			wantEnv(t, c, "GENIUS_WORKER_KIND", "gpu")
			wantEnv(t, c, "GENIUS_BACKEND", tc.backend)
			wantEnv(t, c, "GENIUS_MICRO_BATCH", tc.micro)
			wantEnv(t, c, "GENIUS_LOADER_WORKERS", tc.loaders)
			if e, ok := envOf(c, "GENIUS_DTYPE"); !ok || (e.Value != "bf16" && e.Value != "f32") {
				t.Errorf("GENIUS_DTYPE = %+v", e)
			}
			if got := c.Resources.Limits["nvidia.com/gpu"]; got.Cmp(resource.MustParse("1")) < 0 {
				t.Errorf("nvidia.com/gpu limit %s: a GPU worker must request a GPU", got.String())
			}
			for _, ic := range gpu.Spec.Template.Spec.InitContainers {
				if ic.Image == c.Image && tc.backend == "cuda" {
					t.Errorf("init container %s runs the CUDA image; it needs no GPU", ic.Name)
				}
			}
			if hasWorker(docs, "cpu") {
				cpu := container(t, worker(t, docs, "cpu"))
				if cpu.Image == c.Image && tc.backend == "cuda" {
					t.Errorf("CPU worker runs the CUDA image %s", cpu.Image)
				}
				for _, name := range []string{"GENIUS_BACKEND", "GENIUS_DTYPE", "GENIUS_MICRO_BATCH"} {
					if _, ok := envOf(cpu, name); ok {
						t.Errorf("CPU worker gets %s", name)
					}
				}
			}
		})
	}
	notes, err := h.Notes(testContext(t), chartDir, "--set", "gpu.enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	if want := "training on backend cuda, image ghcr.io/genius-nas/genius:0.1.0-cuda"; !strings.Contains(notes, want) {
		t.Errorf("NOTES lack %q:\n%s", want, notes)
	}
	// The schema names a bad backend.
	if _, err := h.Template(testContext(t), chartDir, "--set", "gpu.enabled=true,gpu.backend=gpu"); err == nil {
		t.Error("gpu.backend=gpu rendered")
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
