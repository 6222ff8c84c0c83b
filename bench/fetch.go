package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultBaseURL serves raw files of GitHub repositories.
const DefaultBaseURL = "https://raw.githubusercontent.com"

// FetchOptions configures Fetch.
type FetchOptions struct {
	// Dir is the data directory; created if missing. Required.
	Dir string
	// BaseURL replaces DefaultBaseURL (a mirror, or a test server); a file
	// is fetched from BaseURL/<owner>/<repo>/<commit>/<path>.
	BaseURL string
	// Client does the requests. Default: a client with a 5-minute timeout.
	Client *http.Client
	// Log receives one line per file; nil discards.
	Log io.Writer
}

// URL is where f is fetched from under baseURL ("" means DefaultBaseURL).
func (f File) URL(baseURL string) string {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return strings.TrimRight(baseURL, "/") + "/" + f.Repo + "/" + f.Commit + "/" + f.Source
}

// Fetch downloads every table file that is missing or differs into
// opts.Dir. Each download goes to a temporary file beside its target and is
// renamed into place only when its size and sha256 match, so a failed or
// interrupted fetch never leaves a wrong table behind. Files already
// present and intact are skipped. It tries every file and joins the errors.
func Fetch(ctx context.Context, opts FetchOptions) error {
	if opts.Dir == "" {
		return errors.New("fetch: no data directory: give --data-dir or set GENIUS_DATA_DIR")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	var errs []error
	for _, f := range Files() {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if f.Check(opts.Dir) == nil {
			fmt.Fprintf(opts.Log, "ok       %s\n", f.Path)
			continue
		}
		if err := fetchOne(ctx, opts, f); err != nil {
			fmt.Fprintf(opts.Log, "FAILED   %s\n", f.Path)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(opts.Log, "fetched  %s (%d bytes, sha256 ok)\n", f.Path, f.Size)
	}
	return errors.Join(errs...)
}

func fetchOne(ctx context.Context, opts FetchOptions, f File) (err error) {
	url := f.URL(opts.BaseURL)
	dst := filepath.Join(opts.Dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", f.Path, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s from %s: HTTP %s", f.Path, url, resp.Status)
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	// Read one byte past the expected size so an oversized body is caught
	// without downloading all of it.
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.Size+1))
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", f.Path, url, err)
	}
	if n != f.Size {
		return fmt.Errorf("fetch %s from %s: got %d bytes, want %d (the source or mirror serves a different file)", f.Path, url, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("fetch %s from %s: sha256 %s, want %s (the source or mirror serves a different file)", f.Path, url, got, f.SHA256)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	return nil
}
