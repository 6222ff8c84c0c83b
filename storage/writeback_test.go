package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
)

func TestWriteBack(t *testing.T) {
	srv := storagetest.Start(t)
	local, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wb, err := storage.NewWriteBack(local, srv.Store(t, "wb", nil), storage.WriteBackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	testStore(t, wb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := wb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// After the flush the remote alone holds what the write-back store lists.
	lo, _ := wb.List(ctx, "")
	ro, err := wb.Remote().List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(lo), keys(ro)) {
		t.Fatalf("remote %v, write-back %v", keys(ro), keys(lo))
	}
}

// waitStatus waits until cond holds for the write-back store's status.
func waitStatus(t *testing.T, wb *storage.WriteBack, what string, cond func(storage.WriteBackStatus) bool) storage.WriteBackStatus {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		ch := wb.Changed()
		st := wb.Status()
		if cond(st) {
			return st
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s; status %+v", what, st)
		}
	}
}

func TestWriteBackSurvivesS3Outage(t *testing.T) {
	srv := storagetest.Start(t)
	remote := srv.Store(t, "run", nil)
	localDir := t.TempDir()
	local, err := storage.NewDir(localDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := storage.WriteBackOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	wb, err := storage.NewWriteBack(local, remote, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ckpt := map[string][]byte{}
	save := func(wb *storage.WriteBack, step int) {
		t.Helper()
		key := fmt.Sprintf("r/step-%08d.ckpt", step)
		ckpt[key] = randomBytes(t, 200_000+step)
		if err := wb.Put(ctx, key, bytes.NewReader(ckpt[key]), int64(len(ckpt[key]))); err != nil {
			t.Fatalf("save %s: %v", key, err)
		}
	}

	save(wb, 100)
	if err := wb.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	// Training goes on: saves return at local speed while S3 is down.
	save(wb, 200)
	save(wb, 300)
	st := waitStatus(t, wb, "a failed upload", func(s storage.WriteBackStatus) bool { return s.Failures > 0 })
	if st.LastError == "" || !slices.Equal(st.Pending, []string{"r/step-00000200.ckpt", "r/step-00000300.ckpt"}) {
		t.Fatalf("status while S3 is down: %+v", st)
	}
	// Resuming on this worker reads the local copy while S3 is down.
	if got, err := readAll(t, wb, "r/step-00000300.ckpt"); err != nil || !bytes.Equal(got, ckpt["r/step-00000300.ckpt"]) {
		t.Fatalf("local read while S3 is down: %v", err)
	}

	// The process stops with uploads pending; the next one on the same
	// directory finds them (and one written after the last status).
	wb.Close()
	if err := local.Put(ctx, "r/step-00000400.ckpt", bytes.NewReader([]byte("written by a process that died")), 30); err != nil {
		t.Fatal(err)
	}
	ckpt["r/step-00000400.ckpt"] = []byte("written by a process that died")

	srv.Restart()
	wb2, err := storage.NewWriteBack(local, remote, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer wb2.Close()
	if err := wb2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	objs, err := remote.List(ctx, "r/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"r/step-00000100.ckpt", "r/step-00000200.ckpt", "r/step-00000300.ckpt", "r/step-00000400.ckpt"}
	if !slices.Equal(keys(objs), want) {
		t.Fatalf("remote holds %v, want %v", keys(objs), want)
	}
	for _, k := range want {
		got, err := readAll(t, remote, k)
		if err != nil || !bytes.Equal(got, ckpt[k]) {
			t.Fatalf("remote %s: %v (%d bytes)", k, err, len(got))
		}
	}
	if st := wb2.Status(); len(st.Pending) != 0 || st.LastError != "" {
		t.Fatalf("status after catch-up: %+v", st)
	}
}

func TestWriteBackDeleteDropsPendingUpload(t *testing.T) {
	srv := storagetest.Start(t)
	remote := srv.Store(t, "run", nil)
	local, _ := storage.NewDir(t.TempDir())
	srv.Stop()
	wb, err := storage.NewWriteBack(local, remote, storage.WriteBackOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := wb.Put(ctx, k, bytes.NewReader([]byte(k)), 1); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, wb, "a failed upload", func(s storage.WriteBackStatus) bool { return s.Failures > 0 })
	srv.Restart()
	if err := wb.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := wb.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	objs, err := remote.List(ctx, "")
	if err != nil || !slices.Equal(keys(objs), []string{"a"}) {
		t.Fatalf("remote = %v, %v; want only a", keys(objs), err)
	}
}

// A local copy damaged before its upload stays local: uploading it would
// store the damage under a checksum that matches it.
func TestWriteBackKeepsCorruptedCopyLocal(t *testing.T) {
	srv := storagetest.Start(t)
	remote := srv.Store(t, "run", nil)
	local, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := randomBytes(t, 10_000)
	// Written by a process that died before uploading it.
	if err := local.Put(ctx, "r/c", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	p, _ := local.Path("r/c")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[77] ^ 0xff}, 77); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wb, err := storage.NewWriteBack(local, remote, storage.WriteBackOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	st := waitStatus(t, wb, "an upload attempt", func(s storage.WriteBackStatus) bool { return s.Failures > 0 || s.Uploaded > 0 })
	if st.Uploaded != 0 || !strings.Contains(st.LastError, "corrupted") {
		t.Fatalf("status %+v, want a failure that says corrupted", st)
	}
	if _, err := remote.Stat(ctx, "r/c"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("remote Stat = %v, want not exist", err)
	}
}
