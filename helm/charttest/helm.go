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

// Notes renders the chart's NOTES.txt through a client-side dry-run install,
// which needs no cluster.
func (h Helm) Notes(ctx context.Context, chart string, args ...string) (string, error) {
	out, err := h.run(ctx, append([]string{"install", "genius", chart, "--namespace", "genius",
		"--dry-run=client"}, args...)...)
	if err != nil {
		return "", err
	}
	s := string(out)
	i := strings.Index(s, "\nNOTES:\n")
	if i < 0 {
		return "", fmt.Errorf("helm install --dry-run printed no NOTES section")
	}
	return s[i+len("\nNOTES:\n"):], nil
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
		return stdout.Bytes(), fmt.Errorf("helm %s: %w: %s%s", strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()), strings.TrimSpace(stdout.String()))
	}
	return stdout.Bytes(), nil
}
