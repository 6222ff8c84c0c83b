package charttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// HelmBinEnv names the environment variable that points at the helm binary.
const HelmBinEnv = "GENIUS_HELM_BIN"

// ErrNoHelm is returned by FindHelm when no helm binary is found.
var ErrNoHelm = errors.New("no helm binary: run `make tools` (installs bin/helm) or set " + HelmBinEnv)

// FindHelm returns the helm binary to use: $GENIUS_HELM_BIN, else bin/helm
// in dir or the nearest parent that has one, else helm on PATH.
func FindHelm(dir string) (string, error) {
	if p := os.Getenv(HelmBinEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", HelmBinEnv, p, err)
		}
		return p, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "bin", "helm")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p, nil
	}
	return "", ErrNoHelm
}

// Helm runs one helm binary with a private, empty home so that the user's
// repositories, plugins and kube config play no part.
type Helm struct {
	// Bin is the helm binary.
	Bin string
	// Home is a directory for helm's cache, config and data; required.
	Home string
}

// Template renders chart as release name "genius" in namespace "genius" and
// returns the manifests. args follow, for example "-f", "values.yaml".
// A failure returns helm's own message (schema violations, fail calls).
func (h Helm) Template(ctx context.Context, chart string, args ...string) ([]byte, error) {
	return h.run(ctx, append([]string{"template", "genius", chart, "--namespace", "genius"}, args...)...)
}

// Lint runs helm lint --strict on chart with args.
func (h Helm) Lint(ctx context.Context, chart string, args ...string) ([]byte, error) {
	return h.run(ctx, append([]string{"lint", "--strict", chart}, args...)...)
}

// Notes renders the chart's NOTES.txt with args. helm template leaves
// NOTES out and a dry-run install wants a cluster, so Notes renders a copy
// of the chart with one more template that includes NOTES.txt in a
// ConfigMap, and reads it back.
func (h Helm) Notes(ctx context.Context, chart string, args ...string) (string, error) {
	copyDir := filepath.Join(h.Home, "notes-chart")
	if err := os.RemoveAll(copyDir); err != nil {
		return "", err
	}
	if err := os.CopyFS(copyDir, os.DirFS(chart)); err != nil {
		return "", fmt.Errorf("copy chart %s: %w", chart, err)
	}
	name, err := chartName(chart)
	if err != nil {
		return "", err
	}
	probe := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"" +
		name + "/templates/NOTES.txt\" . | toJson }}\n"
	if err := os.WriteFile(filepath.Join(copyDir, "templates", "zz-notes-probe.yaml"), []byte(probe), 0o644); err != nil {
		return "", err
	}
	out, err := h.Template(ctx, copyDir, append([]string{"--show-only", "templates/zz-notes-probe.yaml"}, args...)...)
	if err != nil {
		return "", err
	}
	var cm struct {
		Data struct {
			Notes string `json:"notes"`
		} `json:"data"`
	}
	if err := yaml.Unmarshal(out, &cm); err != nil {
		return "", fmt.Errorf("read rendered NOTES: %w", err)
	}
	return cm.Data.Notes, nil
}

// chartName reads the name field of chart's Chart.yaml.
func chartName(chart string) (string, error) {
	b, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	var meta struct {
		Name string `json:"name"`
	}
	if err := yaml.Unmarshal(b, &meta); err != nil || meta.Name == "" {
		return "", fmt.Errorf("%s/Chart.yaml: no name (%v)", chart, err)
	}
	return meta.Name, nil
}

func (h Helm) run(ctx context.Context, args ...string) ([]byte, error) {
	if h.Home == "" {
		return nil, errors.New("charttest.Helm: Home is empty: set it to a temporary directory")
	}
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
		"KUBECONFIG="+filepath.Join(h.Home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// helm lint reports on stdout, everything else on stderr.
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		return stdout.Bytes(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
