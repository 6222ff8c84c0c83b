package storage_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
)

// genius329CheckpointBytes is the size of a GENIUS-329 retraining checkpoint:
// 6.97 M parameters × 4 bytes × (weights + momentum + EMA), about 84 MB.
const genius329CheckpointBytes = 6_970_000 * 4 * 3

// benchStores yields the stores a checkpoint goes to: a local directory, S3
// on loopback (versitygw), and the write-back store whose Put is what a
// training step waits for.
func benchStores(b *testing.B, writeBack bool, fn func(b *testing.B, st storage.Store)) {
	b.Run("local", func(b *testing.B) {
		d, err := storage.NewDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		fn(b, d)
	})
	b.Run("s3", func(b *testing.B) {
		srv := storagetest.Start(b)
		fn(b, srv.Store(b, "bench", nil))
	})
	if !writeBack {
		return
	}
	b.Run("writeback", func(b *testing.B) {
		srv := storagetest.Start(b)
		d, err := storage.NewDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		wb, err := storage.NewWriteBack(d, srv.Store(b, "bench", nil), storage.WriteBackOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { wb.Close() })
		fn(b, wb)
	})
}

func checkpointFile(b *testing.B) *os.File {
	b.Helper()
	f := tempFile(b, randomBytes(b, genius329CheckpointBytes))
	return f
}

// BenchmarkCheckpointSave reports MB/s for saving a GENIUS-329 checkpoint
// from a file (as the trainer writes it) to each store.
func BenchmarkCheckpointSave(b *testing.B) {
	benchStores(b, true, func(b *testing.B, st storage.Store) {
		f := checkpointFile(b)
		ctx := context.Background()
		b.SetBytes(genius329CheckpointBytes)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			if err := st.Put(ctx, "run/step.ckpt", f, genius329CheckpointBytes); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if wb, ok := st.(*storage.WriteBack); ok {
			if err := wb.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckpointLoad reports MB/s for reading a GENIUS-329 checkpoint
// back with its checksum verified (the write-back store reads its local copy).
func BenchmarkCheckpointLoad(b *testing.B) {
	benchStores(b, false, func(b *testing.B, st storage.Store) {
		ctx := context.Background()
		f := checkpointFile(b)
		if err := st.Put(ctx, "run/step.ckpt", f, genius329CheckpointBytes); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(genius329CheckpointBytes)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rc, err := st.Get(ctx, "run/step.ckpt")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != genius329CheckpointBytes {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	})
}
