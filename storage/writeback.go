package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"
)

// WriteBackOptions configure a [WriteBack]. Zero values take the defaults given.
type WriteBackOptions struct {
	// MinBackoff is the first wait after a failed upload; 0 means 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps the doubling wait between failed uploads; 0 means 30s.
	MaxBackoff time.Duration
	// Logger gets one line per failed attempt and per catch-up; nil discards.
	Logger *slog.Logger
	// OnUpload, if set, is called after every upload attempt (err nil on
	// success), from the uploading goroutine. The training activity uses it to
	// heartbeat the newest durable key.
	OnUpload func(key string, err error)
}

// WriteBack is a Store that writes to a local [Dir] and uploads to a remote
// Store in the background. Put returns once the local copy is durable, so a
// writer never waits for, or fails because of, the remote; uploads are retried
// in order with exponential backoff until they succeed or the WriteBack is
// closed. Objects found locally at start that the remote lacks (a previous
// process died before uploading them) are queued again.
//
// Reads prefer the local copy. List merges both sides, and fails when the
// remote cannot be listed.
type WriteBack struct {
	local  *Dir
	remote Store
	opts   WriteBackOptions

	mu     sync.Mutex
	queue  []string        // keys waiting, oldest first
	queued map[string]bool // set of queue
	// requeued marks keys found on disk at start: the remote may already
	// hold them, so their upload checks first.
	requeued map[string]bool
	inflight string
	changed  chan struct{} // closed and replaced on every state change
	status   WriteBackStatus

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// WriteBackStatus reports the upload queue.
type WriteBackStatus struct {
	// Pending keys (queued or uploading), oldest first.
	Pending []string `json:"pending"`
	// Uploaded counts successful uploads since start.
	Uploaded int64 `json:"uploaded"`
	// Failures counts failed attempts since start.
	Failures int64 `json:"failures"`
	// LastError is the newest failure's message ("" after a success).
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when it happened.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// LastUploaded is the key of the newest successful upload.
	LastUploaded string `json:"last_uploaded,omitempty"`
}

// NewWriteBack queues what the local directory holds (uploads skip objects the
// remote already has with the same checksum) and starts the uploader. Close
// stops it.
func NewWriteBack(local *Dir, remote Store, opts WriteBackOptions) (*WriteBack, error) {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &WriteBack{
		local:    local,
		remote:   remote,
		opts:     opts,
		queued:   map[string]bool{},
		requeued: map[string]bool{},
		changed:  make(chan struct{}),
		kick:     make(chan struct{}, 1),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	// Requeue what a previous process left before anyone can Flush.
	objs, err := local.List(ctx, "")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write-back store: %w", err)
	}
	for _, o := range objs {
		w.requeued[o.Key] = true
		w.enqueue(o.Key)
	}
	go w.run(ctx)
	return w, nil
}

func (w *WriteBack) String() string { return w.local.String() + " -> " + w.remote.String() }

// Local and Remote are the two sides.
func (w *WriteBack) Local() *Dir   { return w.local }
func (w *WriteBack) Remote() Store { return w.remote }

// Close stops uploading (what is pending stays on disk and is queued again by
// the next WriteBack on the same directory) and waits for the uploader to stop.
func (w *WriteBack) Close() error {
	w.cancel()
	<-w.done
	return nil
}

// Put writes locally and queues the upload.
func (w *WriteBack) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := w.local.Put(ctx, key, r, size); err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.requeued, key)
	w.mu.Unlock()
	w.enqueue(key)
	return nil
}

func (w *WriteBack) enqueue(key string) {
	w.mu.Lock()
	if !w.queued[key] {
		w.queued[key] = true
		w.queue = append(w.queue, key)
		w.status.Pending = append(w.status.Pending, key)
		w.broadcastLocked()
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *WriteBack) broadcastLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// Status reports pending uploads and the last error.
func (w *WriteBack) Status() WriteBackStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.status
	st.Pending = append([]string(nil), w.status.Pending...)
	return st
}

// Changed returns a channel closed at the next change of Status.
func (w *WriteBack) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// Flush waits until nothing is pending, or ctx is done (then it returns the
// context's error with the last upload error).
func (w *WriteBack) Flush(ctx context.Context) error {
	for {
		w.mu.Lock()
		n, ch, last := len(w.status.Pending), w.changed, w.status.LastError
		w.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last != "" {
				return fmt.Errorf("%d uploads to %s still pending (last error: %s): %w", n, w.remote, last, ctx.Err())
			}
			return fmt.Errorf("%d uploads to %s still pending: %w", n, w.remote, ctx.Err())
		case <-w.done:
			return fmt.Errorf("%d uploads to %s still pending: the write-back store is closed", n, w.remote)
		}
	}
}

func (w *WriteBack) run(ctx context.Context) {
	defer close(w.done)
	backoff := w.opts.MinBackoff
	for {
		w.mu.Lock()
		var key string
		if len(w.queue) > 0 {
			key = w.queue[0]
			w.inflight = key
		}
		w.mu.Unlock()
		if key == "" {
			select {
			case <-w.kick:
				continue
			case <-ctx.Done():
				return
			}
		}
		err := w.upload(ctx, key)
		if ctx.Err() != nil {
			return
		}
		if w.opts.OnUpload != nil {
			w.opts.OnUpload(key, err)
		}
		w.mu.Lock()
		w.inflight = ""
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			// Done, or deleted locally meanwhile: drop from the queue.
			w.queue = w.queue[1:]
			delete(w.queued, key)
			delete(w.requeued, key)
			w.status.Pending = removeKey(w.status.Pending, key)
			if err == nil {
				w.status.Uploaded++
				w.status.LastUploaded = key
				if w.status.LastError != "" {
					w.opts.Logger.Info("checkpoint uploads caught up", "store", w.remote.String(), "key", key, "pending", len(w.queue))
				}
				w.status.LastError = ""
			}
			w.broadcastLocked()
			w.mu.Unlock()
			backoff = w.opts.MinBackoff
			continue
		}
		w.status.Failures++
		w.status.LastError = err.Error()
		w.status.LastErrorAt = time.Now().UTC()
		w.broadcastLocked()
		pending := len(w.queue)
		w.mu.Unlock()
		w.opts.Logger.Warn("checkpoint upload failed; retrying", "store", w.remote.String(), "key", key,
			"pending", pending, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

func removeKey(keys []string, key string) []string {
	out := keys[:0]
	for _, k := range keys {
		if k != key {
			out = append(out, k)
		}
	}
	return out
}

// upload copies one object from local to remote after verifying the local
// copy against its sidecar (a corrupted local file is not uploaded: the
// upload fails with a *ChecksumError and stays queued until the key is
// deleted).
func (w *WriteBack) upload(ctx context.Context, key string) error {
	lo, err := w.local.Stat(ctx, key)
	if err != nil {
		return err
	}
	w.mu.Lock()
	check := w.requeued[key]
	w.mu.Unlock()
	if check {
		if ro, err := w.remote.Stat(ctx, key); err == nil && ro.SHA256 == lo.SHA256 && ro.Size == lo.Size {
			return nil
		}
	}
	p, err := w.local.Path(key)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	// The remote hashes what it is given, so a damaged copy would go up
	// under a checksum of its own.
	if err := verifyFile(ctx, f, w.local.String(), key, lo); err != nil {
		return err
	}
	return w.remote.Put(ctx, key, f, lo.Size)
}

// verifyFile reads f to its end through a verifying reader and rewinds it.
func verifyFile(ctx context.Context, f *os.File, store, key string, o Object) error {
	v := newVerifyingReader(io.NopCloser(ctxReader{ctx, f}), store, key, o.SHA256, o.Size)
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

func (w *WriteBack) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := w.local.Get(ctx, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return rc, err
	}
	return w.remote.Get(ctx, key)
}

func (w *WriteBack) Stat(ctx context.Context, key string) (Object, error) {
	o, err := w.local.Stat(ctx, key)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return o, err
	}
	return w.remote.Stat(ctx, key)
}

func (w *WriteBack) List(ctx context.Context, prefix string) ([]Object, error) {
	lo, err := w.local.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	ro, err := w.remote.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(lo))
	for _, o := range lo {
		seen[o.Key] = true
	}
	for _, o := range ro {
		if !seen[o.Key] {
			lo = append(lo, o)
		}
	}
	sortObjects(lo)
	return lo, nil
}

// Delete removes the key from both sides and from the upload queue.
func (w *WriteBack) Delete(ctx context.Context, key string) error {
	// Wait out an upload of this key in flight, or it would bring the object
	// back after the remote delete.
	for {
		w.mu.Lock()
		if w.inflight != key {
			break
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("delete %q: waiting for its upload: %w", key, ctx.Err())
		}
	}
	if w.queued[key] {
		w.queue = removeKey(w.queue, key)
		delete(w.queued, key)
		w.status.Pending = removeKey(w.status.Pending, key)
		w.broadcastLocked()
	}
	w.mu.Unlock()
	if err := w.local.Delete(ctx, key); err != nil {
		return err
	}
	return w.remote.Delete(ctx, key)
}

// OpenWriteBack opens the store rawURL names (see Open). A local directory
// is returned as it is; a remote store gets a WriteBack in front of it with
// its local copies in localDir, so writers never wait on the network. Close
// the returned store with CloseStore.
func OpenWriteBack(ctx context.Context, rawURL, localDir string, s3 S3Options, wb WriteBackOptions) (Store, error) {
	st, err := Open(ctx, rawURL, s3)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(*Dir); ok {
		return st, nil
	}
	if localDir == "" {
		return nil, fmt.Errorf("checkpoint store %s needs a local directory for write-back copies", st)
	}
	local, err := NewDir(localDir)
	if err != nil {
		return nil, err
	}
	return NewWriteBack(local, st, wb)
}

// CloseStore stops a WriteBack's uploader (pending uploads resume when a
// WriteBack is next opened on the same directory); other stores need no
// closing.
func CloseStore(st Store) error {
	if c, ok := st.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
