package charttest

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The image and the chart must agree: the chart runs the image's user with
// runAsNonRoot, probes the port the image exposes, and starts `genius
// worker`. No container engine is needed: this reads the Dockerfile.
func TestImageMatchesChart(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(df), "\\\n", " ")
	var stages []string
	var final []string // instructions of the last stage
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				stages = append(stages, f[3])
			}
			final = nil
		}
		final = append(final, line)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no named build stage: want a multi-stage build")
	}
	for _, m := range regexp.MustCompile(`COPY --from=(\S+)`).FindAllStringSubmatch(text, -1) {
		if !slices.Contains(stages, m[1]) {
			t.Errorf("COPY --from=%s names no stage (%v)", m[1], stages)
		}
	}
	if !strings.Contains(text, "go build") || !strings.Contains(text, "./cmd/genius") {
		t.Error("the build stage does not go build ./cmd/genius")
	}
	if _, err := os.Stat("../../cmd/genius"); err != nil {
		t.Error(err)
	}

	var values struct {
		PodSecurityContext struct {
			RunAsUser    int64 `json:"runAsUser"`
			RunAsNonRoot bool  `json:"runAsNonRoot"`
		} `json:"podSecurityContext"`
		Health  struct{ Port int } `json:"health"`
		Metrics struct{ Port int } `json:"metrics"`
	}
	readValues(t, &values)
	var user, entrypoint, cmd string
	var exposed []int
	for _, line := range final {
		f := strings.Fields(line)
		rest := strings.TrimSpace(line[len(f[0]):])
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "CMD":
			cmd = rest
		case "EXPOSE":
			for _, p := range f[1:] {
				n, _ := strconv.Atoi(strings.Split(p, "/")[0])
				exposed = append(exposed, n)
			}
		}
	}
	uid, err := strconv.ParseInt(strings.Split(user, ":")[0], 10, 64)
	if err != nil || uid == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root UID (runAsNonRoot cannot check a name)", user)
	} else if uid != values.PodSecurityContext.RunAsUser || !values.PodSecurityContext.RunAsNonRoot {
		t.Errorf("image runs as %d, chart as %d (runAsNonRoot %v)", uid, values.PodSecurityContext.RunAsUser, values.PodSecurityContext.RunAsNonRoot)
	}
	if entrypoint != `["/usr/local/bin/genius"]` || cmd != `["worker"]` {
		t.Errorf("ENTRYPOINT %s CMD %s, want genius and worker", entrypoint, cmd)
	}
	for _, p := range []int{values.Health.Port, values.Metrics.Port} {
		if !slices.Contains(exposed, p) {
			t.Errorf("chart port %d is not EXPOSEd by the image (%v)", p, exposed)
		}
	}

	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "*.go"} {
			if line == needed || line == "/"+needed || line == needed+"/" {
				t.Errorf(".dockerignore drops %s, which the build needs", needed)
			}
		}
	}
}
