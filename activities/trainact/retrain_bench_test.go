package trainact

import (
	"context"
	"testing"
	"time"

	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/storage"
	"github.com/genius-nas/genius/storage/storagetest"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

// BenchmarkRetrainResume measures what a resume of GENIUS-329's retraining
// costs on the store side: writing its full checkpoint (weights, BN
// statistics, momentum, EMA: about 84 MB) and reading, verifying and
// restoring it, on a local directory and on S3 over loopback (versitygw).
// Training time lost per resume is this load time plus the steps since the
// last durable checkpoint and the heartbeat timeout that detects the crash.
func BenchmarkRetrainResume(b *testing.B) {
	s, err := retrain.Ready("paper")
	if err != nil {
		b.Fatal(err)
	}
	cfg := retrainConfig(s)
	be := tensor.NewCPU(tensor.CPUOptions{})
	run, err := training.NewRun(be, cfg, 1000, 625)
	if err != nil {
		b.Fatal(err)
	}
	ck, err := run.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, v := range ck.Values {
		size += int64(len(v)) * 4
	}
	b.Logf("GENIUS-329 checkpoint: %d tensors, %.1f MB", len(ck.Values), float64(size)/1e6)
	stores := map[string]func(b *testing.B) storage.Store{
		"local": func(b *testing.B) storage.Store { d, _ := storage.NewDir(b.TempDir()); return d },
		"s3":    func(b *testing.B) storage.Store { return storagetest.Start(b).Store(b, "bench", nil) },
	}
	for _, name := range []string{"local", "s3"} {
		b.Run(name, func(b *testing.B) {
			a := &RetrainActivities{Store: stores[name](b)}
			ctx := context.Background()
			b.Run("save", func(b *testing.B) {
				b.SetBytes(size)
				for i := 0; i < b.N; i++ {
					if err := a.put(ctx, "retrain/bench/step-000000001.ckpt", ck); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("load+restore", func(b *testing.B) {
				b.SetBytes(size)
				var total time.Duration
				for i := 0; i < b.N; i++ {
					start := time.Now()
					c, err := a.load(ctx, "retrain/bench/step-000000001.ckpt")
					if err != nil {
						b.Fatal(err)
					}
					if err := run.Restore(c, true); err != nil {
						b.Fatal(err)
					}
					total += time.Since(start)
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/resume")
			})
		})
	}
}
