package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/genius-nas/genius/storage"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readAll(t testing.TB, st storage.Store, key string) ([]byte, error) {
	t.Helper()
	rc, err := st.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func keys(objs []storage.Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Key)
	}
	return ks
}

// testStore is the behaviour every Store shares.
func testStore(t *testing.T, st storage.Store) {
	ctx := context.Background()
	data := randomBytes(t, 300_000)

	t.Run("PutGetStat", func(t *testing.T) {
		if err := st.Put(ctx, "run1/step-00000100.ckpt", bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, st, "run1/step-00000100.ckpt")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, differ from the %d written", len(got), len(data))
		}
		o, err := st.Stat(ctx, "run1/step-00000100.ckpt")
		if err != nil {
			t.Fatal(err)
		}
		if o.Size != int64(len(data)) || o.SHA256 != sha(data) || o.ModTime.IsZero() {
			t.Fatalf("stat = %+v, want size %d sha %s", o, len(data), sha(data))
		}
	})

	t.Run("UnknownSizeNonSeekable", func(t *testing.T) {
		// OneByteReader hides Seek/ReadAt: the store must spool or stream.
		if err := st.Put(ctx, "run1/step-00000200.ckpt", iotest.OneByteReader(bytes.NewReader(data[:5000])), -1); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, st, "run1/step-00000200.ckpt")
		if err != nil || !bytes.Equal(got, data[:5000]) {
			t.Fatalf("got %d bytes, err %v", len(got), err)
		}
	})

	t.Run("SizeMismatchStoresNothing", func(t *testing.T) {
		for _, size := range []int64{10, 1000} {
			err := st.Put(ctx, "run1/bad.ckpt", iotest.OneByteReader(bytes.NewReader(data[:100])), size)
			if err == nil {
				t.Fatalf("size %d for 100 bytes: no error", size)
			}
		}
		if _, err := st.Stat(ctx, "run1/bad.ckpt"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stat after failed put: %v, want not-exist", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		for _, k := range []string{"run2/b", "run2/a", "run22/x", "other/y"} {
			if err := st.Put(ctx, k, strings.NewReader(k), int64(len(k))); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			prefix string
			want   string
		}{
			{"run2/", "run2/a run2/b"},
			{"run2", "run2/a run2/b run22/x"},
			{"run1/step-", "run1/step-00000100.ckpt run1/step-00000200.ckpt"},
			{"nothing/", ""},
			{"", "other/y run1/step-00000100.ckpt run1/step-00000200.ckpt run2/a run2/b run22/x"},
		}
		for _, tc := range tests {
			objs, err := st.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(keys(objs), " "); got != tc.want {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		}
		objs, _ := st.List(ctx, "run1/")
		if n, ok := storage.Newest(objs); !ok || n.Key != "run1/step-00000200.ckpt" {
			t.Errorf("Newest = %v %v", n, ok)
		}
	})

	t.Run("MissingAndDelete", func(t *testing.T) {
		if _, err := st.Get(ctx, "run9/none"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("get missing: %v", err)
		}
		if _, err := st.Stat(ctx, "run9/none"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stat missing: %v", err)
		}
		if err := st.Delete(ctx, "run9/none"); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
		if err := st.Delete(ctx, "run2/a"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, "run2/a"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("get deleted: %v", err)
		}
		objs, _ := st.List(ctx, "run2/")
		if got := strings.Join(keys(objs), " "); got != "run2/b" {
			t.Fatalf("after delete List = %q", got)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		if err := st.Put(ctx, "run2/b", strings.NewReader("new"), 3); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, st, "run2/b")
		if err != nil || string(got) != "new" {
			t.Fatalf("got %q, %v", got, err)
		}
	})

	t.Run("BadKeys", func(t *testing.T) {
		for _, k := range []string{"", "/abs", "a//b", "a/../b", "../x", "a/.hidden", ".x", "a/", "a\\b"} {
			if err := st.Put(ctx, k, strings.NewReader("x"), 1); err == nil {
				t.Errorf("Put(%q) accepted", k)
			}
		}
	})
}

func TestDir(t *testing.T) {
	d, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, d)
}

func TestDirNeverListsIncompleteWrites(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := storage.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "r/ok", strings.NewReader("ok"), 2); err != nil {
		t.Fatal(err)
	}
	// What a crash at each step of Put leaves behind: a temp data file, a
	// temp sidecar, a renamed sidecar without data.
	for name, content := range map[string]string{
		"r/.tmp-half-123":           "partial",
		"r/.tmp-half.sha256-456":    "{}",
		"r/.half.sha256":            `{"sha256":"` + strings.Repeat("0", 64) + `","size":1}`,
		"r/foreign-without-sidecar": "x",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys(objs), " "); got != "r/ok" {
		t.Fatalf("List = %q, want only r/ok", got)
	}
	if _, err := d.Get(ctx, "r/foreign-without-sidecar"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("get without sidecar: %v", err)
	}
}

func TestDirCancelledPutLeavesNothing(t *testing.T) {
	root := t.TempDir()
	d, err := storage.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The reader cancels the context half-way through the copy.
	src := &cancelAfter{r: bytes.NewReader(randomBytes(t, 1<<20)), after: 512 << 10, cancel: cancel}
	if err := d.Put(ctx, "r/killed", src, 1<<20); !errors.Is(err, context.Canceled) {
		t.Fatalf("put = %v, want context.Canceled", err)
	}
	objs, _ := d.List(context.Background(), "")
	if len(objs) != 0 {
		t.Fatalf("listed %v after a cancelled put", keys(objs))
	}
	entries, _ := os.ReadDir(filepath.Join(root, "r"))
	for _, e := range entries {
		t.Errorf("left behind %s", e.Name())
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	after  int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func TestDirDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(t, 100_000)
	tests := []struct {
		name    string
		corrupt func(path string) error
	}{
		{"flipped byte", func(p string) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte{data[777] ^ 0xff}, 777)
			return err
		}},
		{"truncated", func(p string) error { return os.Truncate(p, 50_000) }},
		{"appended", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("junk"))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := storage.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Put(ctx, "r/c", bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			p, _ := d.Path("r/c")
			if err := tc.corrupt(p); err != nil {
				t.Fatal(err)
			}
			_, err = readAll(t, d, "r/c")
			var ce *storage.ChecksumError
			if !errors.As(err, &ce) || ce.Key != "r/c" {
				t.Fatalf("read corrupted object: %v, want *ChecksumError", err)
			}
			if !strings.Contains(err.Error(), "corrupted") {
				t.Errorf("message %q does not say corrupted", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		url     string
		want    string // String() of the store, "" for an error
		errPart string
	}{
		{"file://" + dir + "/a", "file://" + dir + "/a", ""},
		{"file://./rel", "file://" + dir + "/rel", ""},
		{dir + "/plain", "file://" + dir + "/plain", ""},
		{"s3://bucket/some/prefix/", "s3://bucket/some/prefix/", ""},
		{"s3://bucket", "s3://bucket/", ""},
		{"s3://AKIAEXAMPLE:s3cr3tvalue@bucket/p", "", "must not carry credentials"},
		{"s3:///p", "", "names no bucket"},
		{"gs://b/p", "", "unknown scheme"},
		{"https://AKIAEXAMPLE:s3cr3tvalue@host/p", "", "unknown scheme"},
		{"s3://AKIAEXAMPLE:s3cr3tvalue%zz@bucket/p", "", "invalid URL escape"},
		{"", "", "empty checkpoint store URL"},
		{"s3://bucket/bad/.hidden", "", "reserved"},
	}
	for _, tc := range tests {
		st, err := storage.Open(context.Background(), tc.url, storage.S3Options{Getenv: func(string) string { return "" }})
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("Open(%q) err = %v, want containing %q", tc.url, err, tc.errPart)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cr3tvalue") || strings.Contains(err.Error(), "AKIAEXAMPLE")) {
				t.Errorf("Open(%q) error leaks the secret: %v", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.url, err)
			continue
		}
		if st.String() != tc.want {
			t.Errorf("Open(%q) = %s, want %s", tc.url, st, tc.want)
		}
	}
}
