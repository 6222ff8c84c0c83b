package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// chromiumEnv names the headless Chromium binary the browser checks use;
// without it they look on PATH.
const chromiumEnv = "GENIUS_CHROMIUM_BIN"

// chromiumBinary returns Debian's chromium (apt-get install chromium); the
// test skips without one, and fails under CI=true.
func chromiumBinary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv(chromiumEnv); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s=%s: %v", chromiumEnv, b, err)
		}
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no headless Chromium: apt-get install -y chromium, or set " + chromiumEnv
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// dumpDOM loads url in headless Chromium, lets its scripts run for up to
// 15 s of virtual time, and returns the DOM they built.
func dumpDOM(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumBinary(t),
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	return stdout.String()
}
