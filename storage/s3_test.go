package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
)

func TestS3(t *testing.T) {
	srv := storagetest.Start(t)
	testStore(t, srv.Store(t, "ckpt", nil))
}

func TestS3Multipart(t *testing.T) {
	srv := storagetest.Start(t)
	st := srv.Store(t, "", func(o *storage.S3Options) { o.PartSize = 5 << 20 })
	ctx := context.Background()
	data := randomBytes(t, 20<<20)
	f := tempFile(t, data)
	if err := st.Put(ctx, "big/step-1.ckpt", f, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	head, err := st.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket()), Key: aws.String("big/step-1.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	// A multipart object's ETag is "<md5 of part md5s>-<parts>".
	if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), "-4") {
		t.Errorf("ETag %s: want a 4-part multipart upload", etag)
	}
	got, err := readAll(t, st, "big/step-1.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("20 MB object read back differs")
	}
	o, err := st.Stat(ctx, "big/step-1.ckpt")
	if err != nil || o.SHA256 != sha(data) || o.Size != int64(len(data)) {
		t.Fatalf("stat %+v %v", o, err)
	}
}

func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "src-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// onAttempt calls fn after every attempt of every request the client sends
// (the middleware sits after the retry loop).
func onAttempt(fn func(op string, err error)) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("genius-test-attempts",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleFinalize(ctx, in)
					fn(awsmw.GetOperationName(ctx), err)
					return out, md, err
				}), middleware.After)
		})
	}
}

func TestS3CancelledMultipartLeavesNothing(t *testing.T) {
	srv := storagetest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the second part is in: a writer killed mid-multipart.
	var parts atomic.Int32
	st := srv.Store(t, "p", func(o *storage.S3Options) {
		o.PartSize = 5 << 20
		o.Concurrency = 1
		o.ClientOptions = append(o.ClientOptions, onAttempt(func(op string, err error) {
			if op == "UploadPart" && err == nil && parts.Add(1) == 2 {
				cancel()
			}
		}))
	})
	data := randomBytes(t, 20<<20)
	err := st.Put(ctx, "run/step-9.ckpt", tempFile(t, data), int64(len(data)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put = %v, want context.Canceled", err)
	}
	if n := parts.Load(); n < 2 || n >= 4 {
		t.Fatalf("%d of 4 parts went up: the test did not cut a multipart upload", n)
	}
	bg := context.Background()
	objs, err := st.List(bg, "")
	if err != nil || len(objs) != 0 {
		t.Fatalf("List after cancelled upload = %v, %v; want nothing", keys(objs), err)
	}
	if _, err := st.Stat(bg, "run/step-9.ckpt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat = %v, want not-exist", err)
	}
	ups, err := st.IncompleteUploads(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 0 {
		t.Fatalf("cancelled upload was not aborted: %+v", ups)
	}
	if _, err := os.Stat(srv.ObjectPath(st.Bucket(), "p/run/step-9.ckpt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backend holds a partial object: %v", err)
	}
}

func TestS3KilledWriterPartsAreNeverAnObject(t *testing.T) {
	// A process killed mid-upload cannot abort: its parts stay as an
	// incomplete upload, which is never listed and which cleanup removes.
	srv := storagetest.Start(t)
	st := srv.Store(t, "p", nil)
	ctx := context.Background()
	c := st.Client()
	mu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(st.Bucket()), Key: aws.String("p/run/step-1.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	part := randomBytes(t, 5<<20)
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(st.Bucket()), Key: aws.String("p/run/step-1.ckpt"), UploadId: mu.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
	}); err != nil {
		t.Fatal(err)
	}
	objs, err := st.List(ctx, "")
	if err != nil || len(objs) != 0 {
		t.Fatalf("List = %v, %v; want nothing", keys(objs), err)
	}
	ups, err := st.IncompleteUploads(ctx)
	if err != nil || len(ups) != 1 || ups[0].Key != "run/step-1.ckpt" {
		t.Fatalf("IncompleteUploads = %+v, %v", ups, err)
	}
	n, err := st.AbortIncompleteUploads(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("AbortIncompleteUploads = %d, %v", n, err)
	}
	if ups, _ := st.IncompleteUploads(ctx); len(ups) != 0 {
		t.Fatalf("still incomplete after abort: %+v", ups)
	}
}

func TestS3DetectsCorruption(t *testing.T) {
	srv := storagetest.Start(t)
	st := srv.Store(t, "p", nil)
	ctx := context.Background()
	data := randomBytes(t, 1<<20)
	if err := st.Put(ctx, "r/c.ckpt", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(srv.ObjectPath(st.Bucket(), "p/r/c.ckpt"), os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("backend file: %v", err)
	}
	if _, err := f.WriteAt([]byte{data[4242] ^ 0x01}, 4242); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = readAll(t, st, "r/c.ckpt")
	var ce *storage.ChecksumError
	if !errors.As(err, &ce) || ce.Want != sha(data) || ce.Got == sha(data) {
		t.Fatalf("read corrupted object: %v, want *ChecksumError", err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	srv := storagetest.Start(t)
	good := srv.Store(t, "p", nil)
	ctx := context.Background()
	if err := good.Put(ctx, "r/x", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		accessKey string
		secret    string
	}{
		{"wrong secret", srv.AccessKey, "wrong-secret-0123456789"},
		{"unknown key", "AKIAUNKNOWN000", srv.SecretKey},
	}
	ops := []struct {
		name string
		do   func(storage.Store) error
	}{
		{"put", func(s storage.Store) error { return s.Put(ctx, "r/y", bytes.NewReader(make([]byte, 6<<20)), 6<<20) }},
		{"get", func(s storage.Store) error { _, err := s.Get(ctx, "r/x"); return err }},
		{"stat", func(s storage.Store) error { _, err := s.Stat(ctx, "r/x"); return err }},
		{"list", func(s storage.Store) error { _, err := s.List(ctx, "r/"); return err }},
		{"delete", func(s storage.Store) error { return s.Delete(ctx, "r/x") }},
	}
	for _, tc := range tests {
		for _, op := range ops {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				if tc.name == "unknown key" && op.name == "stat" {
					// versitygw answers an unknown key with 404, and a HEAD
					// has no body to tell that from a missing object.
					t.Skip("versitygw: HEAD with an unknown access key is a bare 404")
				}
				o := srv.Options(good.Bucket(), "p")
				o.Credentials = credentials.NewStaticCredentialsProvider(tc.accessKey, tc.secret, "")
				o.MaxAttempts = 5 // a retried 403 would show as more than one attempt
				var attempts atomic.Int32
				o.ClientOptions = append(o.ClientOptions, onAttempt(func(string, error) { attempts.Add(1) }))
				st, err := storage.NewS3(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				err = op.do(st)
				if !errors.Is(err, storage.ErrAccessDenied) {
					t.Fatalf("err = %v, want ErrAccessDenied", err)
				}
				msg := err.Error()
				for _, want := range []string{"S3 rejected the credentials", good.Bucket(), "AWS_ACCESS_KEY_ID"} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
				for _, secret := range []string{tc.secret, srv.SecretKey, tc.accessKey} {
					if strings.Contains(msg, secret) {
						t.Errorf("message leaks a credential: %q", msg)
					}
				}
				if n := attempts.Load(); n != 1 {
					t.Errorf("client sent %d attempts, want 1 (no retries on rejected credentials)", n)
				}
			})
		}
	}
	// The object is still there: the wrong credentials deleted nothing.
	if _, err := good.Stat(ctx, "r/x"); err != nil {
		t.Fatal(err)
	}
}

func TestS3ServerDownRetriesBounded(t *testing.T) {
	srv := storagetest.Start(t)
	st0 := srv.Store(t, "p", nil)
	proxy := storagetest.NewCountingProxy(t, srv.Endpoint)
	srv.Stop()
	o := srv.Options(st0.Bucket(), "p")
	o.Endpoint = proxy.Endpoint
	o.MaxAttempts = 4
	o.MaxBackoff = 50 * time.Millisecond
	st, err := storage.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Put(context.Background(), "r/x", strings.NewReader("x"), 1)
	if err == nil {
		t.Fatal("put to a stopped server succeeded")
	}
	if n := proxy.Requests(); n != 4 {
		t.Errorf("server saw %d attempts, want MaxAttempts = 4", n)
	}
	// The context bounds the retries too.
	o.MaxAttempts = 1000
	o.MaxBackoff = 20 * time.Millisecond
	st, _ = storage.NewS3(context.Background(), o)
	ctx, cancel := context.WithCancel(context.Background())
	before := proxy.Requests()
	go func() {
		<-proxy.After(before + 5) // cancel once the client has retried a few times
		cancel()
	}()
	err = st.Put(ctx, "r/x", strings.NewReader("x"), 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put with cancelled context = %v, want context.Canceled", err)
	}
}

// User info in the endpoint (credentials a user pasted there) stays out of
// errors, which name the endpoint.
func TestS3EndpointCredentialsNotInErrors(t *testing.T) {
	srv := storagetest.Start(t)
	o := srv.Options("genius-missing-bucket", "")
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("AKIAEXAMPLE", "s3cr3tvalue")
	o.Endpoint = u.String()
	st, err := storage.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.List(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("List of a missing bucket: %v, want an error that says the bucket does not exist", err)
	}
	if strings.Contains(err.Error(), "s3cr3tvalue") || strings.Contains(err.Error(), "AKIAEXAMPLE") {
		t.Fatalf("error leaks the endpoint's credentials: %v", err)
	}
}
