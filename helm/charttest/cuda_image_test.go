package charttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// dockerfile is a Dockerfile's text with continuations joined, its ARG
// defaults, its named stages and the instructions of its last stage.
type dockerfile struct {
	text   string
	args   map[string]string
	stages []string
	final  []string
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{text: strings.ReplaceAll(string(b), "\\\n", " "), args: map[string]string{}}
	for _, line := range strings.Split(d.text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch strings.ToUpper(f[0]) {
		case "FROM":
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				d.stages = append(d.stages, f[3])
			}
			d.final = nil
		case "ARG":
			if name, val, ok := strings.Cut(f[1], "="); ok {
				d.args[name] = val
			}
		}
		d.final = append(d.final, line)
	}
	return d
}

// expand replaces ${NAME} by the ARG defaults.
func (d dockerfile) expand(s string) string {
	for i := 0; i < 5 && strings.Contains(s, "${"); i++ {
		s = regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string { return d.args[m[2:len(m)-1]] })
	}
	return s
}

// instruction is the rest of the final stage's first instruction op.
func (d dockerfile) instruction(op string) string {
	for _, line := range d.final {
		if f := strings.Fields(line); strings.EqualFold(f[0], op) {
			return strings.TrimSpace(line[len(f[0]):])
		}
	}
	return ""
}

// The CUDA image builds genius with the cuda tag the way make build-cuda
// does, runs it on a CUDA 13 runtime base of the same Ubuntu as the build,
// as the chart's user, through an entrypoint that execs the genius beside
// it. No container engine is needed: this reads Dockerfile.cuda.
func TestCUDAImage(t *testing.T) {
	d := readDockerfile(t, "../../Dockerfile.cuda")
	for _, m := range regexp.MustCompile(`--from=(\S+)`).FindAllStringSubmatch(d.text, -1) {
		if !slices.Contains(d.stages, m[1]) {
			t.Errorf("--from=%s names no stage (%v)", m[1], d.stages)
		}
	}
	// --build-context cuda-inputs=DIR replaces this stage: it must exist
	// and hold the archives build.sh reads, under the same names.
	if !slices.Contains(d.stages, "cuda-inputs") {
		t.Error("no stage cuda-inputs for --build-context cuda-inputs=DIR to replace")
	}
	build, err := os.ReadFile("../../training/cuda/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, archive := range []string{"cuda11.8-driver-headers.tgz", "cuda13-headers-stubs.tgz"} {
		if !strings.Contains(string(build), archive) || strings.Count(d.text, archive) < 2 {
			t.Errorf("%s: not packed and read by both Dockerfile.cuda and training/cuda/build.sh", archive)
		}
	}
	goBuild := regexp.MustCompile(`go build [^&]*-tags "([^"]*)"[^&]*-o /out/genius \./cmd/genius`).FindStringSubmatch(d.text)
	if goBuild == nil || !slices.Contains(strings.Fields(goBuild[1]), "cuda") || !slices.Contains(strings.Fields(goBuild[1]), "turbojpeg") {
		t.Errorf("genius is not built with -tags \"cuda turbojpeg\": %v", goBuild)
	}
	cflags := regexp.MustCompile(`CGO_CFLAGS="([^"]*)"`).FindStringSubmatch(d.text)
	if !strings.Contains(d.text, "CGO_ENABLED=1") || cflags == nil ||
		!strings.Contains(cflags[1], "11.8/include") || strings.Index(cflags[1], "11.8/include") > strings.Index(cflags[1], "13/include") {
		t.Errorf("cgo flags %v: want cgo on and CUDA 11.8's cuda.h before CUDA 13's headers (build.sh's order)", cflags)
	}

	base := d.expand(strings.Fields(d.final[0])[1])
	if !strings.HasPrefix(base, "nvidia/cuda:13.") || !strings.Contains(base, "-runtime-") {
		t.Errorf("runtime base %s: want a CUDA 13 runtime image (cuBLAS libcublas.so.13, which the binary links)", base)
	}
	var buildBase string
	for _, line := range strings.Split(d.text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "FROM" && f[3] == "build" {
			buildBase = d.expand(f[1])
		}
	}
	ubuntu := strings.TrimPrefix(buildBase, "ubuntu:")
	if buildBase == "" || ubuntu == buildBase || !strings.HasSuffix(base, "ubuntu"+ubuntu) {
		t.Errorf("build stage on %q, runtime on %q: want the same Ubuntu (glibc and libjpeg-turbo's ABI)", buildBase, base)
	}
	if !strings.Contains(d.instruction("RUN"), "libjpeg-turbo8") {
		t.Error("the runtime stage does not install libjpeg-turbo8, which -tags turbojpeg links")
	}

	var values struct {
		PodSecurityContext struct {
			RunAsUser int64 `json:"runAsUser"`
		} `json:"podSecurityContext"`
		Health  struct{ Port int } `json:"health"`
		Metrics struct{ Port int } `json:"metrics"`
	}
	readValues(t, &values)
	if user := d.instruction("USER"); user != "65532:65532" || values.PodSecurityContext.RunAsUser != 65532 {
		t.Errorf("USER %q, chart runAsUser %d: want both 65532", user, values.PodSecurityContext.RunAsUser)
	}
	for _, p := range []int{values.Health.Port, values.Metrics.Port} {
		if !slices.Contains(strings.Fields(d.instruction("EXPOSE")), strconv.Itoa(p)) {
			t.Errorf("chart port %d is not EXPOSEd", p)
		}
	}
	if e, c := d.instruction("ENTRYPOINT"), d.instruction("CMD"); e != `["/usr/local/bin/genius-entrypoint"]` || c != `["worker"]` {
		t.Errorf("ENTRYPOINT %s CMD %s, want the entrypoint check and worker", e, c)
	}
	var copies []string
	for _, line := range d.final {
		if strings.HasPrefix(line, "COPY") {
			copies = append(copies, line)
		}
	}
	all := strings.Join(copies, "\n")
	if !strings.Contains(all, "scripts/cuda-entrypoint.sh /usr/local/bin/genius-entrypoint") || !regexp.MustCompile(`/out/genius\s.*\s/usr/local/bin/`).MatchString(all) {
		t.Errorf("the final stage must put genius and the entrypoint side by side in /usr/local/bin:\n%s", all)
	}
}

// The entrypoint stops with what to change when the container lacks the
// driver's library, cuBLAS or a GPU, and otherwise execs the genius next
// to it with the arguments.
func TestCUDAEntrypoint(t *testing.T) {
	dir := t.TempDir()
	script, err := os.ReadFile("../../scripts/cuda-entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(dir, "genius-entrypoint")
	if err := os.WriteFile(entry, script, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "genius"), []byte("#!/bin/sh\necho \"genius ran: $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(libs ...string) (string, error) {
		libDir := t.TempDir()
		for _, l := range libs {
			if err := os.WriteFile(filepath.Join(libDir, l), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("sh", entry, "worker", "--kind", "gpu")
		cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+libDir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	has := func(lib string) bool {
		out, _ := exec.Command("sh", "-c", "ldconfig -p 2>/dev/null; ls /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 2>/dev/null").Output()
		return strings.Contains(string(out), lib)
	}
	if !has("libcuda.so.1") {
		out, err := run()
		if err == nil || !strings.Contains(out, "libcuda.so.1") || !strings.Contains(out, "--gpus") || !strings.Contains(out, "nvidia.com/gpu") {
			t.Errorf("without libcuda.so.1: %v, %s", err, out)
		}
	}
	if !has("libcublas.so.13") {
		out, err := run("libcuda.so.1")
		if err == nil || !strings.Contains(out, "libcublas.so.13") {
			t.Errorf("without cuBLAS: %v, %s", err, out)
		}
	}
	out, err := run("libcuda.so.1", "libcublas.so.13")
	if gpus, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(gpus) == 0 {
		if err == nil || !strings.Contains(out, "no NVIDIA GPU is visible") || strings.Contains(out, "genius ran") {
			t.Errorf("without a GPU: %v, %s", err, out)
		}
		return
	}
	if err != nil || strings.TrimSpace(out) != "genius ran: worker --kind gpu" {
		t.Errorf("with everything present: %v, %q", err, out)
	}
}

// readValues decodes the chart's values.yaml into v.
func readValues(t *testing.T, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
