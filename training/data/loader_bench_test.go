//go:build unix

package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLoader measures the loader alone on an ImageNet-like folder
// (about 500x375 JPEGs at quality 90, generated in a temp dir) with one
// worker. img/cpu-s is images per second of the process's CPU time (user
// and system, every goroutine and the GC): images per second per core,
// robust to other load on the host; img/s is wall-clock throughput. Each decoder of the build
// runs in the same process (-tags turbojpeg adds libjpeg-turbo), so their
// ratio is fair:
//
//	go test -tags turbojpeg -run '^$' -bench Loader -benchtime 200x ./training/data
//
// The -par variants use every core (GOMAXPROCS workers).
func BenchmarkLoader(b *testing.B) {
	dir := writePhotoFolder(b, b.TempDir(), 8, 16, 500, 375)
	var bytes, files int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
		if !fi.IsDir() {
			bytes += fi.Size()
			files++
		}
		return nil
	})
	b.Logf("%d JPEGs, %.0f KB on average", files, float64(bytes)/float64(files)/1024)
	type variant struct {
		name    string
		tr      Transform
		workers int
	}
	var variants []variant
	for _, size := range []int{196, 224} {
		variants = append(variants, variant{fmt.Sprint(size), Transform{Size: size, Train: true}, 1})
	}
	variants = append(variants,
		variant{"224-retrain", Transform{Size: 224, Train: true, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.25}, 1},
		variant{"224-eval", Transform{Size: 224}, 1},
		variant{"224-par", Transform{Size: 224, Train: true}, runtime.GOMAXPROCS(0)},
	)
	// Decoders inner, so each pair runs back to back under the same load.
	for _, v := range variants {
		for _, dec := range decoders() {
			b.Run(dec.Name()+"-"+v.name, func(b *testing.B) {
				f, err := OpenImageFolder(dir)
				if err != nil {
					b.Fatal(err)
				}
				f.Decoder = dec
				const batch = 32
				l := &Loader{Data: f, Batch: batch, Transform: v.tr, Shuffle: true, DropLast: true, Seed: 1, Workers: v.workers}
				epoch := 0
				ep := l.Start(context.Background(), epoch, 0)
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; i < b.N; i++ {
					bt, err := ep.Next()
					if err != nil {
						b.Fatal(err)
					}
					if bt == nil {
						ep.Close()
						epoch++
						ep = l.Start(context.Background(), epoch, 0)
						i--
					}
				}
				el, cpu := time.Since(start), cpuTime()-cpu0
				b.StopTimer()
				ep.Close()
				b.ReportMetric(float64(b.N*batch)/el.Seconds(), "img/s")
				b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "img/cpu-s")
			})
		}
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
