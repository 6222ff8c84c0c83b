package storage

//lint:file-ignore SA1019 feature/s3/manager is the uploader verified against versitygw; move to feature/s3/transfermanager once it is verified there too.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Options configure an [S3] store. Zero values take the environment, then
// the defaults given per field.
type S3Options struct {
	// Bucket is required (Open takes it from the URL's host).
	Bucket string
	// Prefix is prepended (with a "/") to every key; "" for none.
	Prefix string
	// Endpoint is the service URL; "" takes GENIUS_S3_ENDPOINT, then AWS's
	// regional endpoint.
	Endpoint string
	// Region; "" takes GENIUS_S3_REGION, then "us-east-1".
	Region string
	// PathStyle addressing (bucket in the path, as most S3-compatible servers
	// want); nil takes GENIUS_S3_PATH_STYLE, then true.
	PathStyle *bool
	// Credentials; nil uses the standard AWS chain (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, shared config and profiles, web identity/IRSA,
	// container and instance roles).
	Credentials aws.CredentialsProvider
	// PartSize is the multipart part size; 0 means 8 MiB (S3's minimum is 5 MiB).
	// Objects up to one part go up with a single PUT.
	PartSize int64
	// Concurrency is the number of parts uploaded at once; 0 means 4.
	Concurrency int
	// MaxAttempts per request, first try included; 0 means 3. Errors the
	// server means (403, 404) are never retried; connection errors, 5xx and
	// throttling are, with jittered exponential backoff bounded by the
	// context.
	MaxAttempts int
	// MaxBackoff caps one wait between attempts; 0 means 5s.
	MaxBackoff time.Duration
	// SpoolDir holds a temp copy of readers that cannot seek (the checksum
	// goes into the object's metadata, so it is computed before the upload);
	// "" means os.TempDir().
	SpoolDir string
	// ClientOptions are applied to the SDK client after the settings above
	// (middleware for metrics or tests).
	ClientOptions []func(*s3.Options)
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// DefaultPartSize is the multipart part size when S3Options.PartSize is 0.
const DefaultPartSize = 8 << 20

// metaSHA256 is the user metadata key (x-amz-meta-sha256) holding the content checksum.
const metaSHA256 = "sha256"

// S3 is a Store in an S3-compatible bucket.
type S3 struct {
	client   *s3.Client
	uploader *manager.Uploader
	bucket   string
	prefix   string // "" or ends with "/"
	endpoint string
	spoolDir string
}

// NewS3 builds the client. It does not contact the server, so a worker can
// start while S3 is down; the first request reports bad credentials or a
// missing bucket.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("S3 store needs a bucket: use s3://bucket/prefix")
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Endpoint == "" {
		o.Endpoint = getenv("GENIUS_S3_ENDPOINT")
	}
	if o.Region == "" {
		o.Region = getenv("GENIUS_S3_REGION")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	pathStyle := true
	if o.PathStyle != nil {
		pathStyle = *o.PathStyle
	} else if v := getenv("GENIUS_S3_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("GENIUS_S3_PATH_STYLE=%q: want true or false", v)
		}
		pathStyle = b
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < manager.MinUploadPartSize {
		return nil, fmt.Errorf("S3 part size %d is below S3's minimum of %d bytes", o.PartSize, manager.MinUploadPartSize)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.SpoolDir == "" {
		o.SpoolDir = os.TempDir()
	}

	loadOpts := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = o.MaxBackoff
				// A 403 whose body got cut off reads as a connection error,
				// which the default checks retry: the status decides first.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryOnForbidden)}, so.Retryables...)
			})
		}),
		// S3-compatible servers differ in their support of the newer
		// flexible checksums; our own SHA-256 covers content integrity.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if o.Credentials != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	clientOpts := append([]func(*s3.Options){func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = pathStyle
	}}, o.ClientOptions...)
	client := s3.NewFromConfig(cfg, clientOpts...)
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := validatePrefix(prefix); err != nil {
			return nil, fmt.Errorf("S3 prefix: %w", err)
		}
		prefix += "/"
	}
	endpoint := redactURL(o.Endpoint) // it goes into errors
	if endpoint == "" {
		endpoint = "AWS S3 (" + o.Region + ")"
	}
	return &S3{
		client: client,
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = o.PartSize
			u.Concurrency = o.Concurrency
			// The manager aborts with the caller's context, which is already
			// cancelled when a caller gives up; Put aborts with its own.
			u.LeavePartsOnError = true
		}),
		bucket:   o.Bucket,
		prefix:   prefix,
		endpoint: endpoint,
		spoolDir: o.SpoolDir,
	}, nil
}

func noRetryOnForbidden(err error) aws.Ternary {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == 403 {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Client exposes the SDK client (tests create buckets with it).
func (s *S3) Client() *s3.Client { return s.client }

// Bucket is the bucket's name.
func (s *S3) Bucket() string { return s.bucket }

func (s *S3) objectKey(key string) string { return s.prefix + key }

// seekable is what the uploader reads parts from concurrently.
type seekable interface {
	io.ReaderAt
	io.Seeker
}

func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	body, sum, n, cleanup, err := s.prepareBody(ctx, r, size)
	if err != nil {
		return fmt.Errorf("put %q to %s: %w", key, s, err)
	}
	defer cleanup()
	if n > preflightSize {
		if err := s.preflight(ctx, key); err != nil {
			return err
		}
	}
	_, err = s.uploader.Upload(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.objectKey(key)),
		Body:          body,
		ContentLength: aws.Int64(n),
		ContentType:   aws.String("application/octet-stream"),
		// Written with the object itself, so a listed object always has it.
		Metadata: map[string]string{metaSHA256: sum},
	})
	if err != nil {
		var mf manager.MultiUploadFailure
		if errors.As(err, &mf) && mf.UploadID() != "" {
			s.abort(ctx, s.objectKey(key), mf.UploadID())
		}
		return s.wrapErr("put", key, err)
	}
	return nil
}

// preflightSize is the body size above which Put checks access first. The
// SDK sends large bodies after "Expect: 100-continue" (2 MiB and up), but a
// server that answers 403 without honouring it closes the connection
// mid-body, which reads as a retryable network error and hides the 403.
const preflightSize = 2 << 20

// preflight lists at most one key to learn, in one small request, whether the
// credentials and the bucket work.
func (s *S3) preflight(ctx context.Context, key string) error {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(s.objectKey(key)), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return s.wrapErr("put", key, err)
	}
	return nil
}

// abort drops the parts of a failed multipart upload, with a context of its
// own because the caller's may be the reason the upload failed.
func (s *S3) abort(ctx context.Context, objKey, uploadID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	// Best effort: a part set left behind is found by IncompleteUploads and
	// removed by AbortIncompleteUploads (or a bucket lifecycle rule).
	_, _ = s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(objKey), UploadId: aws.String(uploadID),
	})
}

// prepareBody hashes the content before the upload (the checksum travels in
// the object's metadata) and returns a body the uploader can read by offset.
func (s *S3) prepareBody(ctx context.Context, r io.Reader, size int64) (body *io.SectionReader, sum string, n int64, cleanup func(), err error) {
	cleanup = func() {}
	src, ok := r.(seekable)
	if !ok {
		// Spool to a temp file while hashing.
		f, err := os.CreateTemp(s.spoolDir, ".genius-spool-*")
		if err != nil {
			return nil, "", 0, cleanup, fmt.Errorf("spool: %w", err)
		}
		cleanup = func() { f.Close(); os.Remove(f.Name()) }
		lr := io.Reader(ctxReader{ctx, r})
		if size >= 0 {
			lr = io.LimitReader(lr, size+1)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), lr)
		if err != nil {
			return nil, "", 0, cleanup, fmt.Errorf("spool: %w", err)
		}
		if size >= 0 && n != size {
			return nil, "", 0, cleanup, fmt.Errorf("reader gave %d bytes, %d announced", n, size)
		}
		return io.NewSectionReader(f, 0, n), hex.EncodeToString(h.Sum(nil)), n, cleanup, nil
	}
	off, err := src.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, "", 0, cleanup, err
	}
	end, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, "", 0, cleanup, err
	}
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return nil, "", 0, cleanup, err
	}
	n = end - off
	if size >= 0 && n != size {
		return nil, "", 0, cleanup, fmt.Errorf("reader holds %d bytes, %d announced", n, size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, io.NewSectionReader(src, off, n)}); err != nil {
		return nil, "", 0, cleanup, fmt.Errorf("checksum: %w", err)
	}
	return io.NewSectionReader(src, off, n), hex.EncodeToString(h.Sum(nil)), n, cleanup, nil
}

func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil {
		return nil, s.wrapErr("get", key, err)
	}
	sum := out.Metadata[metaSHA256]
	if len(sum) != 64 {
		out.Body.Close()
		return nil, fmt.Errorf("get %q from %s: the object has no x-amz-meta-sha256 checksum (it was not written by genius); copy it in with `genius checkpoints` or re-save it", key, s)
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	return newVerifyingReader(out.Body, s.String(), key, sum, size), nil
}

func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidateKey(key); err != nil {
		return Object{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil {
		return Object{}, s.wrapErr("stat", key, err)
	}
	return Object{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified).UTC(),
		SHA256:  out.Metadata[metaSHA256],
	}, nil
}

func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	var objs []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrapErr("list", prefix, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if ValidateKey(key) != nil {
				continue // not ours (reserved names, odd keys written by other tools)
			}
			objs = append(objs, Object{Key: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified).UTC()})
		}
	}
	sortObjects(objs)
	return objs, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(key))})
	if err != nil {
		err = s.wrapErr("delete", key, err)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// IncompleteUpload is a multipart upload that was started and neither
// completed nor aborted (a writer killed mid-upload). Its parts cost storage
// but are never listed or read as an object.
type IncompleteUpload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// IncompleteUploads lists multipart uploads under the store's prefix.
func (s *S3) IncompleteUploads(ctx context.Context) ([]IncompleteUpload, error) {
	var ups []IncompleteUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix)}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, s.wrapErr("list multipart uploads", s.prefix, err)
		}
		for _, u := range out.Uploads {
			ups = append(ups, IncompleteUpload{
				Key:       strings.TrimPrefix(aws.ToString(u.Key), s.prefix),
				UploadID:  aws.ToString(u.UploadId),
				Initiated: aws.ToTime(u.Initiated).UTC(),
			})
		}
		if !aws.ToBool(out.IsTruncated) {
			return ups, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// AbortIncompleteUploads aborts multipart uploads under the prefix started
// more than olderThan ago (leave a margin for uploads still running) and
// returns how many it aborted.
func (s *S3) AbortIncompleteUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	ups, err := s.IncompleteUploads(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range ups {
		if time.Since(u.Initiated) < olderThan {
			continue
		}
		_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(s.objectKey(u.Key)), UploadId: aws.String(u.UploadID),
		})
		if err != nil {
			return n, s.wrapErr("abort multipart upload", u.Key, err)
		}
		n++
	}
	return n, nil
}

// wrapErr turns SDK errors into ones that say what to do. The server's
// message for rejected credentials is left out: the error names the code only.
func (s *S3) wrapErr(op, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %q in %s: %w", op, key, s, err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	// versitygw answers an unknown access key with 404 XAdminUserNotFound.
	case status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "AccessDenied" || code == "XAdminUserNotFound":
		if code == "" {
			code = "403 Forbidden"
		}
		return fmt.Errorf("%s %q: S3 rejected the credentials for bucket %q at %s (%s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the profile or role the AWS credential chain picks) and the bucket's policy: %w",
			op, key, s.bucket, s.endpoint, code, ErrAccessDenied)
	case code == "NoSuchBucket":
		return fmt.Errorf("%s %q: S3 bucket %q does not exist at %s: create it, or fix the store URL or GENIUS_S3_ENDPOINT", op, key, s.bucket, s.endpoint)
	case status == 404 || code == "NoSuchKey" || code == "NotFound":
		return notExist(s.String(), key)
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") {
		return fmt.Errorf("%s %q in %s: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE) or a web identity (IRSA): %w", op, key, s, err)
	}
	return fmt.Errorf("%s %q in %s: %w", op, key, s, err)
}
