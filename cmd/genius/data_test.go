package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/bench"
)

// rawMirror serves the shared tables the way raw.githubusercontent.com
// lays them out; bad names a file whose bytes it alters.
func rawMirror(t *testing.T, bad string) *httptest.Server {
	t.Helper()
	dir := benchDataDir(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range bench.Files() {
			if r.URL.Path != "/"+f.Repo+"/"+f.Commit+"/"+f.Source {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if bad != "" && strings.HasSuffix(f.Path, bad) {
				b = b[:len(b)-1]
			}
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDataFetchAndVerify(t *testing.T) {
	srv := rawMirror(t, "")
	dir := t.TempDir()
	out, err := runGenius(t, "data", "verify", "--data-dir", dir)
	if err == nil || strings.Count(out, "BAD") != 6 || !strings.Contains(err.Error(), "genius data fetch") {
		t.Fatalf("verify of empty dir: %v\n%s", err, out)
	}
	// The mirror comes from the environment, as in a deployment.
	t.Setenv("GENIUS_DATA_BASE_URL", srv.URL)
	out, err = runGenius(t, "data", "fetch", "--data-dir", dir)
	if err != nil || strings.Count(out, "fetched") != 6 {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	out, err = runGenius(t, "data", "verify", "--data-dir", dir)
	if err != nil || strings.Count(out, "ok ") != 6 {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	// The fetched tables serve look-ups.
	out, err = runGenius(t, "table", "--data-dir", dir, "--benchmark", "nas-bench-macro", "--key", "10100100", "--json")
	if err != nil || !strings.Contains(out, `"rank":6221`) {
		t.Errorf("look-up in fetched data: %v %s", err, out)
	}
}

func TestDataFetchCorrupt(t *testing.T) {
	srv := rawMirror(t, "Results_ResNet.json")
	dir := t.TempDir()
	_, err := runGenius(t, "data", "fetch", "--data-dir", dir, "--base-url", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "channel-bench-macro/Results_ResNet.json") {
		t.Fatalf("err %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "channel-bench-macro", "*Results_ResNet*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
