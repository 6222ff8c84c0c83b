package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
)

func TestCheckpointsCommand(t *testing.T) {
	srv := storagetest.Start(t)
	bucket := srv.Store(t, "", nil).Bucket()
	for _, e := range srv.Env() {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	stores := []struct {
		name, url string
	}{
		{"local", "file://" + t.TempDir()},
		{"s3", "s3://" + bucket + "/genius"},
	}
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := storage.Open(ctx, sc.url, storage.S3Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"run1/step-00000200.ckpt", "run1/step-00000100.ckpt", "run2/step-00000100.ckpt"} {
				if err := st.Put(ctx, k, strings.NewReader("weights of "+k), -1); err != nil {
					t.Fatal(err)
				}
			}

			out, err := runGenius(t, "checkpoints", "ls", "--store", sc.url, "--json", "run1/")
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var objs []storage.Object
			if err := json.Unmarshal([]byte(out), &objs); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if len(objs) != 2 || objs[0].Key != "run1/step-00000100.ckpt" || objs[1].Key != "run1/step-00000200.ckpt" {
				t.Fatalf("ls run1/ = %+v", objs)
			}

			out, err = runGenius(t, "checkpoints", "ls", "--store", sc.url)
			if err != nil || strings.Count(out, "step-") != 3 || !strings.HasPrefix(out, "KEY") {
				t.Fatalf("ls table: %v\n%s", err, out)
			}

			out, err = runGenius(t, "checkpoints", "show", "--store", sc.url, "--verify", "--json", "run2/step-00000100.ckpt")
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var shown struct {
				storage.Object
				Verified bool `json:"verified"`
			}
			if err := json.Unmarshal([]byte(out), &shown); err != nil {
				t.Fatal(err)
			}
			if !shown.Verified || len(shown.SHA256) != 64 || shown.Size != int64(len("weights of run2/step-00000100.ckpt")) {
				t.Fatalf("show = %+v", shown)
			}

			if out, err := runGenius(t, "checkpoints", "rm", "--store", sc.url, "run1/step-00000100.ckpt"); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if _, err := runGenius(t, "checkpoints", "rm", "--store", sc.url, "run1/typo"); err == nil || !strings.Contains(err.Error(), "genius checkpoints ls") {
				t.Fatalf("rm of a missing key: %v", err)
			}
			if _, err := runGenius(t, "checkpoints", "show", "--store", sc.url, "run1/step-00000100.ckpt"); err == nil {
				t.Fatal("show of a removed checkpoint succeeded")
			}
			objs, err = st.List(ctx, "")
			if err != nil || len(objs) != 2 {
				t.Fatalf("after rm: %v, %v", objs, err)
			}
		})
	}
	// Wrong credentials: a clear error without the secret.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-"+srv.AccessKey)
	_, err := runGenius(t, "checkpoints", "ls", "--store", "s3://"+bucket+"/genius")
	if err == nil || !strings.Contains(err.Error(), "S3 rejected the credentials") || strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("ls with a wrong secret: %v", err)
	}
}
