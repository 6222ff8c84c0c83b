package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// mirror serves the shared tables under the raw-GitHub layout; corrupt
// names a source path whose bytes it alters.
func mirror(t *testing.T, corrupt string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	dir := dataDir(t)
	routes := map[string]string{}
	for _, f := range Files() {
		routes["/"+f.Repo+"/"+f.Commit+"/"+f.Source] = filepath.Join(dir, filepath.FromSlash(f.Path))
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		p, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/"+corrupt) {
			b[len(b)/2] ^= 1
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFetch(t *testing.T) {
	srv, hits := mirror(t, "")
	dir := filepath.Join(t.TempDir(), "data") // created by Fetch
	var log strings.Builder
	if err := Fetch(context.Background(), FetchOptions{Dir: dir, BaseURL: srv.URL + "/", Log: &log}); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 6 || strings.Count(log.String(), "fetched") != 6 {
		t.Errorf("%d requests, log:\n%s", hits.Load(), log.String())
	}
	if tab, err := Open(dir, NASBench201, ImageNet16120); err != nil || tab.Len() != 15625 {
		t.Fatalf("open fetched table: %v", err)
	}
	// A second fetch finds everything in place and downloads nothing.
	log.Reset()
	if err := Fetch(context.Background(), FetchOptions{Dir: dir, BaseURL: srv.URL, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 6 || strings.Count(log.String(), "ok ") != 6 {
		t.Errorf("refetched: %d requests, log:\n%s", hits.Load(), log.String())
	}
	// A damaged file is replaced.
	p := filepath.Join(dir, "channel-bench-macro", "Results_MobileNet.json")
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Fetch(context.Background(), FetchOptions{Dir: dir, BaseURL: srv.URL}); err != nil || hits.Load() != 7 {
		t.Fatalf("repair: %v, %d requests", err, hits.Load())
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
}

func TestFetchCorrupt(t *testing.T) {
	srv, _ := mirror(t, "nasbench201_cifar100.json")
	dir := t.TempDir()
	err := Fetch(context.Background(), FetchOptions{Dir: dir, BaseURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "nas-bench-201/nasbench201_cifar100.json") ||
		!strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err %v", err)
	}
	// Nothing of the bad file is left behind, not even a temporary file.
	entries, _ := os.ReadDir(filepath.Join(dir, "nas-bench-201"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || strings.Contains(strings.Join(names, " "), "cifar100") {
		t.Errorf("nas-bench-201 holds %v", names)
	}
	// The other files were fetched anyway.
	if err := Files()[0].Check(dir); err != nil {
		t.Error(err)
	}
}

func TestFetchErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	err := Fetch(context.Background(), FetchOptions{Dir: dir, BaseURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "404") ||
		!strings.Contains(err.Error(), srv.URL+"/xiusu/NAS-Bench-Macro/"+macroCommit+"/data/nas-bench-macro_cifar10.json") {
		t.Fatalf("err %v", err)
	}
	if err := Fetch(context.Background(), FetchOptions{}); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("no dir: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Fetch(ctx, FetchOptions{Dir: dir, BaseURL: srv.URL}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
}

func TestURL(t *testing.T) {
	f := Files()[3]
	want := "https://raw.githubusercontent.com/mingkai-zheng/GENIUS/97361d30b2da337edd0c8e1ed71b7c88b4a85d38/benchmark/nasbench201_cifar10.json"
	if got := f.URL(""); got != want {
		t.Errorf("URL = %s", got)
	}
	if got := f.URL("http://m/x/"); got != "http://m/x/mingkai-zheng/GENIUS/"+geniusCommit+"/benchmark/nasbench201_cifar10.json" {
		t.Errorf("mirror URL = %s", got)
	}
}
