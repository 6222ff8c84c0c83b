package bench

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

var genius329 = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkGenius329 trains GENIUS-329 (10 classes, 32x32 input, batch 64)
// on a fixed random batch. Metrics: images/s (wall), images per CPU-second
// (robust to other load on the machine), achieved GFLOP/s (3 x forward
// MACs x 2), % of the FMA-loop peak measured in the same run and of the
// nominal peak (cores x 64 FLOPs/cycle x clock), peak RSS, and heap growth
// between the first and last timed step.
func BenchmarkGenius329(b *testing.B) {
	const batch, input, classes = 64, 32, 10
	be := tensor.NewCPU(tensor.CPUOptions{Workers: benchWorkers(b)})
	run, err := training.NewRun(be, training.Config{Space: space.ImageNetName, Arch: genius329, Classes: classes, Input: input,
		Recipe: recipe.Recipe{Batch: batch, LR: 0.05, WeightDecay: 1e-4, Dropout: 0.2}}, classes, 1000)
	if err != nil {
		b.Fatal(err)
	}
	count, err := flops.MobileNetV2(genius329, flops.Options{Input: input, Classes: classes})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(3, batch, input, input)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}
	for i := 0; i < 2; i++ { // allocate every buffer before timing
		if _, err := run.TrainStep(x, labels); err != nil {
			b.Fatal(err)
		}
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := run.TrainStep(x, labels); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuSeconds() - cpu0
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(run) // the network must count in both readings
	sec := b.Elapsed().Seconds()
	imgs := float64(batch * b.N)
	gflop := 3 * 2 * count.MACs * imgs / 1e9
	peak := MeasurePeakGFLOPS(runtime.GOMAXPROCS(0), 300*time.Millisecond)
	b.ReportMetric(imgs/sec, "images/s")
	b.ReportMetric(imgs/cpu, "images/cpu-s")
	b.ReportMetric(gflop/sec, "GFLOP/s")
	if peak > 0 {
		b.ReportMetric(peak, "peak-GFLOP/s")
		b.ReportMetric(100*gflop/sec/peak, "%peak")
	}
	if nominal := NominalPeakGFLOPS(runtime.GOMAXPROCS(0)); nominal > 0 {
		b.ReportMetric(nominal, "nominal-GFLOP/s")
		b.ReportMetric(100*gflop/sec/nominal, "%nominal")
	}
	b.ReportMetric(float64(training.PeakRSS())/(1<<20), "peakRSS-MiB")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), "heap-growth-MiB")
	b.ReportMetric(count.MACs/1e6, "fwd-MMACs/img")
}

// BenchmarkPeak reports the FMA-loop peak alone.
func BenchmarkPeak(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.ReportMetric(MeasurePeakGFLOPS(runtime.GOMAXPROCS(0), 200*time.Millisecond), "peak-GFLOP/s")
	}
}

// benchWorkers reads GENIUS_BENCH_WORKERS (default: every core).
func benchWorkers(tb testing.TB) int {
	tb.Helper()
	v := os.Getenv("GENIUS_BENCH_WORKERS")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("GENIUS_BENCH_WORKERS=%q: give a whole number of workers, at least 1", v)
	}
	return n
}
