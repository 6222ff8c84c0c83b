// Package reporttest finds what report tests need outside the repository:
// Debian's headless Chromium, to look at a report as a person would, and
// the paper's per-iteration CSV (third-party data, not committed).
package reporttest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// skipOrFail skips the test, or fails it under CI=true, where everything
// the tests need must be present.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Chromium returns $GENIUS_CHROMIUM_BIN, else chromium (or
// chromium-browser) on PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("GENIUS_CHROMIUM_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("GENIUS_CHROMIUM_BIN=%s: %v", b, err)
		}
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	skipOrFail(t, "headless Chromium not found: apt-get install -y chromium, or set GENIUS_CHROMIUM_BIN")
	return ""
}

// Screenshot loads file in headless Chromium with networking off and
// returns the decoded screenshot (width × height pixels).
func Screenshot(t testing.TB, bin, file string, width, height int) image.Image {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--hide-scrollbars",
		"--screenshot="+shot, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "file://"+abs)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium screenshot of %s: %v\n%s", file, err, out.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, out.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return img
}

// Pixels counts what a screenshot shows: pixels that are not white,
// pixels of a clear colour (not grey: what text alone never gives), and
// distinct colours.
type Pixels struct {
	NonWhite, Coloured, Distinct int
}

// Count tallies img's pixels.
func Count(img image.Image) Pixels {
	var p Pixels
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			seen[r<<16|g<<8|bl] = true
			if r < 250 || g < 250 || bl < 250 {
				p.NonWhite++
			}
			if max(r, g, bl)-min(r, g, bl) > 60 {
				p.Coloured++
			}
		}
	}
	p.Distinct = len(seen)
	return p
}

// PaperCSV returns the paper's per-iteration CSV: in $GENIUS_PAPER_CSV_DIR,
// else ../shared/data/genius beside the repository root. Missing, the test
// skips (fails under CI=true).
func PaperCSV(t testing.TB) string {
	t.Helper()
	const name = "DERIVED_paper_v1_per_iteration_results.csv"
	dir := os.Getenv("GENIUS_PAPER_CSV_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "data", "genius")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		skipOrFail(t, "paper CSV not found ("+err.Error()+"): set GENIUS_PAPER_CSV_DIR to the folder holding "+name)
	}
	return p
}

// repoRoot is the nearest folder above the working directory with go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return wd, nil
		}
	}
}
