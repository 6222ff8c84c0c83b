package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

// Store holds objects under slash-separated keys. Implementations are safe for
// concurrent use.
type Store interface {
	// Put stores size bytes read from r under key, replacing any object there.
	// size < 0 means unknown (read to EOF); otherwise a reader that yields a
	// different number of bytes is an error and nothing is stored.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object for reading. The reader verifies the stored
	// SHA-256 as it goes: reading to the end of corrupted content returns a
	// *ChecksumError instead of io.EOF. A missing key is an error matching
	// fs.ErrNotExist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes one object; a missing key matches fs.ErrNotExist.
	Stat(ctx context.Context, key string) (Object, error)
	// List returns the complete objects whose keys start with prefix, sorted
	// by key. Object.SHA256 may be empty where the backend does not return
	// metadata in listings (S3); Stat fills it.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store as a URL, without credentials.
	String() string
}

// Object describes a stored object.
type Object struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	// SHA256 is the hex SHA-256 of the content recorded at write time.
	SHA256 string `json:"sha256,omitempty"`
}

// ErrAccessDenied marks errors where the backend rejected the credentials or
// the permissions for the bucket.
var ErrAccessDenied = errors.New("access denied")

// ChecksumError reports content that does not match the checksum written with
// it: the object is corrupted (or was changed behind the store's back).
type ChecksumError struct {
	Store string
	Key   string
	// Want is the recorded SHA-256 (hex); Got what the content hashes to, or
	// empty when the size already disagreed.
	Want, Got string
	// WantSize and GotSize are the recorded and the read sizes.
	WantSize, GotSize int64
}

func (e *ChecksumError) Error() string {
	if e.WantSize != e.GotSize {
		return fmt.Sprintf("checkpoint %q in %s is corrupted: %d bytes recorded, %d found; delete it (genius checkpoints rm) and resume from an older one",
			e.Key, e.Store, e.WantSize, e.GotSize)
	}
	return fmt.Sprintf("checkpoint %q in %s is corrupted: sha256 %s recorded, content hashes to %s; delete it (genius checkpoints rm) and resume from an older one",
		e.Key, e.Store, e.Want, e.Got)
}

// Newest returns the object with the greatest key among objs (keys that embed
// zero-padded step numbers sort in training order), and false if objs is empty.
func Newest(objs []Object) (Object, bool) {
	if len(objs) == 0 {
		return Object{}, false
	}
	best := objs[0]
	for _, o := range objs[1:] {
		if o.Key > best.Key {
			best = o
		}
	}
	return best, true
}

// ValidateKey checks that key is a clean relative slash path whose elements do
// not start with "." (names starting with "." are reserved for the store's
// temp files and checksum sidecars).
func ValidateKey(key string) error {
	if key == "" {
		return errors.New("empty object key")
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("object key %q: backslashes and NUL are not allowed", key)
	}
	if path.Clean(key) != key || strings.HasPrefix(key, "/") {
		return fmt.Errorf("object key %q is not a clean relative path (no leading or doubled /, no . or ..)", key)
	}
	for _, el := range strings.Split(key, "/") {
		if strings.HasPrefix(el, ".") {
			return fmt.Errorf("object key %q: path elements starting with \".\" are reserved for the store", key)
		}
	}
	return nil
}

// validatePrefix accepts "" or a prefix whose complete elements are valid.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/") + "/x")
}

func sortObjects(objs []Object) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
}

// Open returns the store a URL names:
//
//	file:///abs/dir, file://./rel/dir, /abs/dir or ./rel/dir   local directory (created if missing)
//	s3://bucket or s3://bucket/prefix                          S3 bucket, keys under prefix/
//
// S3 settings not given in opts come from the environment (see [S3Options]).
func Open(ctx context.Context, rawURL string, opts S3Options) (Store, error) {
	if rawURL == "" {
		return nil, errors.New("empty checkpoint store URL: use file:///path or s3://bucket/prefix")
	}
	if !strings.Contains(rawURL, "://") {
		return NewDir(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, user info included: report the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("checkpoint store URL %q: %w", redactURL(rawURL), err)
	}
	switch u.Scheme {
	case "file":
		p := u.Path
		// file://./checkpoints parses with Host "." : keep it relative.
		if u.Host != "" && u.Host != "localhost" {
			p = u.Host + u.Path
		}
		if p == "" {
			return nil, fmt.Errorf("checkpoint store URL %q names no directory: use file:///abs/path or file://./rel/path", redactURL(rawURL))
		}
		return NewDir(p)
	case "s3":
		if u.User != nil {
			return nil, errors.New("checkpoint store URL must not carry credentials: use the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, web identity)")
		}
		if u.Host == "" {
			return nil, fmt.Errorf("checkpoint store URL %q names no bucket: use s3://bucket/prefix", redactURL(rawURL))
		}
		opts.Bucket = u.Host
		opts.Prefix = strings.Trim(u.Path, "/")
		return NewS3(ctx, opts)
	default:
		return nil, fmt.Errorf("checkpoint store URL %q: unknown scheme %q: use file:// or s3://", redactURL(rawURL), u.Scheme)
	}
}

// redactURL hides a URL's user info (an access key and secret, say) so
// that the URL can go into errors.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	// The authority ends at the first '/', '?' or '#'; user info ends at its last '@'.
	end := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = i
	}
	if i := strings.LastIndex(rest[:end], "@"); i >= 0 {
		rest = "xxxxx" + rest[i:]
	}
	return scheme + "://" + rest
}

// verifyingReader hashes what passes through and checks size and SHA-256 at EOF.
type verifyingReader struct {
	rc       io.ReadCloser
	h        hash.Hash
	n        int64
	wantSize int64
	want     string
	store    string
	key      string
	err      error // sticky result once EOF was reached
}

func newVerifyingReader(rc io.ReadCloser, store, key, wantSHA string, wantSize int64) *verifyingReader {
	return &verifyingReader{rc: rc, h: sha256.New(), wantSize: wantSize, want: wantSHA, store: store, key: key}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.wantSize >= 0 && v.n > v.wantSize {
		v.err = &ChecksumError{Store: v.store, Key: v.key, Want: v.want, WantSize: v.wantSize, GotSize: v.n}
		return n, v.err
	}
	if errors.Is(err, io.EOF) {
		got := hex.EncodeToString(v.h.Sum(nil))
		switch {
		case v.wantSize >= 0 && v.n != v.wantSize:
			v.err = &ChecksumError{Store: v.store, Key: v.key, Want: v.want, WantSize: v.wantSize, GotSize: v.n}
		case got != v.want:
			v.err = &ChecksumError{Store: v.store, Key: v.key, Want: v.want, Got: got, WantSize: v.n, GotSize: v.n}
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// notExist wraps fs.ErrNotExist with the store and key.
func notExist(store, key string) error {
	return fmt.Errorf("no object %q in %s: %w", key, store, fs.ErrNotExist)
}
