// Package browsertest drives Debian's headless Chromium for tests that look
// at a page as a person would: the rendered DOM of a live page, or a
// screenshot of a file. Without Chromium a test skips, and fails under
// CI=true.
package browsertest

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

	"github.com/genius-nas/genius/testenv"
)

// BinaryEnv names the Chromium binary; without it Chromium is looked up on
// PATH.
const BinaryEnv = "GENIUS_CHROMIUM_BIN"

// flags keep Chromium off the network it cannot reach here and out of any
// profile but a fresh one; --no-sandbox because CI runs as root.
var flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

// run starts Chromium with flags, a fresh profile and args; it returns
// stdout.
func run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append(append([]string{}, flags...), "--user-data-dir="+t.TempDir())
	cmd := exec.CommandContext(ctx, Chromium(t), append(all, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// DumpDOM loads url, lets its scripts run for up to 20 s of virtual time,
// and returns the DOM they built.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	return string(run(t, "--virtual-time-budget=20000", "--dump-dom", url))
}

// Chromium returns $GENIUS_CHROMIUM_BIN, else chromium (or
// chromium-browser) on PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if b := os.Getenv(BinaryEnv); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf(BinaryEnv+"=%s: %v", b, err)
		}
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "%s", "headless Chromium not found: apt-get install -y chromium, or set "+BinaryEnv)
	return ""
}

// Screenshot loads file with networking off and returns the decoded
// screenshot (width × height pixels).
func Screenshot(t testing.TB, file string, width, height int) image.Image {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "shot.png")
	out := run(t, "--hide-scrollbars", "--screenshot="+shot,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "file://"+abs)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, out)
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
