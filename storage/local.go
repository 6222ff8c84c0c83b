package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"path/filepath"
	"strings"
)

// Dir is a Store in a local directory. An object lives at dir/key with its
// checksum in the hidden sidecar dir/<key dir>/.<base>.sha256. Put writes both
// to temp files, fsyncs them, renames the sidecar and then the data into place
// and fsyncs the directory, so a listed object is always complete. Names
// starting with "." are the store's own and are never listed.
type Dir struct {
	root string
}

const (
	tempPrefix    = ".tmp-"
	sidecarSuffix = ".sha256"
)

// sidecar is what the checksum file holds.
type sidecar struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// NewDir opens (and creates) a directory store.
func NewDir(dir string) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create checkpoint directory: %w", err)
	}
	return &Dir{root: abs}, nil
}

// Root is the directory's absolute path.
func (d *Dir) Root() string { return d.root }

func (d *Dir) String() string { return "file://" + filepath.ToSlash(d.root) }

func (d *Dir) paths(key string) (data, side string) {
	data = filepath.Join(d.root, filepath.FromSlash(key))
	dir, base := filepath.Split(data)
	return data, filepath.Join(dir, "."+base+sidecarSuffix)
}

// Path returns the file holding key's content (for tools that want to read it
// in place; readers that need verification use Get).
func (d *Dir) Path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	p, _ := d.paths(key)
	return p, nil
}

func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := ValidateKey(key); err != nil {
		return err
	}
	dataPath, sidePath := d.paths(key)
	dir := filepath.Dir(dataPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	base := filepath.Base(dataPath)
	tmp, err := os.CreateTemp(dir, tempPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	var tmpSide string
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if tmpSide != "" {
				os.Remove(tmpSide)
			}
		}
	}()

	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if size >= 0 {
		// One byte more than announced shows a reader that is too long.
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("put %q: reader gave %d bytes, %d announced", key, n, size)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("put %q: fsync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	sc, _ := json.Marshal(sidecar{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
	tmpSide, err = writeTempSynced(dir, tempPrefix+base+sidecarSuffix+"-*", sc)
	if err != nil {
		return fmt.Errorf("put %q: checksum sidecar: %w", key, err)
	}
	// Sidecar first: a data file without a sidecar is never listed, a sidecar
	// without data is ignored, so a crash between the renames exposes nothing.
	if err := os.Rename(tmpSide, sidePath); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	tmpSide = ""
	if err := os.Rename(tmp.Name(), dataPath); err != nil {
		os.Remove(sidePath)
		return fmt.Errorf("put %q: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %q: fsync directory: %w", key, err)
	}
	return nil
}

func writeTempSynced(dir, pattern string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d *Dir) readSidecar(key string) (sidecar, error) {
	_, sidePath := d.paths(key)
	b, err := os.ReadFile(sidePath)
	if err != nil {
		return sidecar{}, err
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil || len(sc.SHA256) != 64 {
		return sidecar{}, fmt.Errorf("checksum sidecar of %q in %s is unreadable; delete the object and write it again", key, d)
	}
	return sc, nil
}

func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	dataPath, _ := d.paths(key)
	f, err := os.Open(dataPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notExist(d.String(), key)
	}
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	sc, err := d.readSidecar(key)
	if err != nil {
		f.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("get %q from %s: no checksum sidecar (written outside the store, or its write did not finish): %w", key, d, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return newVerifyingReader(f, d.String(), key, sc.SHA256, sc.Size), nil
}

func (d *Dir) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	dataPath, _ := d.paths(key)
	fi, err := os.Stat(dataPath)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return Object{}, notExist(d.String(), key)
	}
	if err != nil {
		return Object{}, fmt.Errorf("stat %q: %w", key, err)
	}
	sc, err := d.readSidecar(key)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, notExist(d.String(), key)
	}
	if err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC(), SHA256: sc.SHA256}, nil
}

func (d *Dir) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest directory the prefix names.
	start := d.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	var objs []Object
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == start {
			return nil
		}
		if strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			// Skip directories that cannot hold a key with this prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		o, err := d.Stat(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // no sidecar: incomplete or foreign, never listed
		}
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q in %s: %w", prefix, d, err)
	}
	sortObjects(objs)
	return objs, nil
}

func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	dataPath, sidePath := d.paths(key)
	// Data first: without it the object is no longer listed.
	if err := os.Remove(dataPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if err := os.Remove(sidePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
