// Package storagetest starts a real S3-compatible server (versitygw with its
// POSIX backend, Apache-2.0) on loopback for tests, the way net/http/httptest
// starts an HTTP server.
//
// The binary is found in $GENIUS_VERSITYGW_BIN, then bin/versitygw in the
// current directory or any parent (where `make tools` installs it), then
// $PATH. When none is found the test is skipped, or fails when CI=true.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/testenv"
)

// S3Server is a versitygw process serving a temp directory.
type S3Server struct {
	// Endpoint is the server's URL (http://127.0.0.1:port).
	Endpoint string
	// Addr is host:port.
	Addr string
	// Dir is the POSIX backend's root: each bucket is a directory in it and
	// each object a file (tests corrupt objects there).
	Dir string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string

	bin string
	t   testing.TB

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
	log  *bytes.Buffer
}

// Binary returns the versitygw binary's path, skipping the test when there is
// none (failing it when CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GENIUS_VERSITYGW_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			p := filepath.Join(d, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	msg := "versitygw not found: run `make tools` (installs bin/versitygw) or set GENIUS_VERSITYGW_BIN"
	testenv.Missing(t, "%s", msg)
	return ""
}

// Start runs versitygw on a free loopback port with fresh root credentials
// and stops it when the test ends.
func Start(t testing.TB) *S3Server {
	t.Helper()
	s := &S3Server{
		bin:       Binary(t),
		t:         t,
		Dir:       t.TempDir(),
		AccessKey: "genius-test-" + randHex(4),
		SecretKey: randHex(20),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	s.Endpoint = "http://" + s.Addr
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *S3Server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("versitygw already running")
	}
	cmd := exec.Command(s.bin, "--quiet", "--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", s.Addr, "posix", s.Dir)
	log := &bytes.Buffer{}
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	s.cmd, s.exit, s.log = cmd, exit, log

	// Ready when it accepts connections; a dead process fails fast.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exit:
			s.cmd = nil
			s.t.Fatalf("versitygw exited at start: %s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw did not listen on %s within 30s: %s", s.Addr, log.String())
		}
	}
}

// Stop kills the server and waits for it to exit; the directory stays.
func (s *S3Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Restart starts the server again on the same port and directory.
func (s *S3Server) Restart() { s.start() }

// Log is what the server printed so far.
func (s *S3Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// Credentials are the root credentials as an SDK provider.
func (s *S3Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Options returns store options for this server with root credentials.
func (s *S3Server) Options(bucket, prefix string) storage.S3Options {
	return storage.S3Options{
		Bucket:      bucket,
		Prefix:      prefix,
		Endpoint:    s.Endpoint,
		Region:      "us-east-1",
		PathStyle:   aws.Bool(true),
		Credentials: s.Credentials(),
		MaxBackoff:  time.Second,
		Getenv:      func(string) string { return "" },
	}
}

// Env returns environment variables that make `genius` and storage.Open
// reach this server with root credentials.
func (s *S3Server) Env() []string {
	return []string{
		"GENIUS_S3_ENDPOINT=" + s.Endpoint,
		"GENIUS_S3_REGION=us-east-1",
		"GENIUS_S3_PATH_STYLE=true",
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// CreateBucket makes a bucket and returns it.
func (s *S3Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	st, err := storage.NewS3(context.Background(), s.Options(name, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %q: %v\n%s", name, err, s.Log())
	}
}

// Store creates a bucket with a fresh name and opens a store on it under
// prefix, with the given options on top of the server's.
func (s *S3Server) Store(t testing.TB, prefix string, tweak func(*storage.S3Options)) *storage.S3 {
	t.Helper()
	bucket := "genius-" + strings.ToLower(randHex(4))
	s.CreateBucket(t, bucket)
	o := s.Options(bucket, prefix)
	if tweak != nil {
		tweak(&o)
	}
	st, err := storage.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// ObjectPath is the backend file holding bucket/key.
func (s *S3Server) ObjectPath(bucket, objectKey string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(objectKey))
}

// String names the server for logs.
func (s *S3Server) String() string { return fmt.Sprintf("versitygw at %s on %s", s.Endpoint, s.Dir) }
