package bench

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

// microConfig is GENIUS-329 with 10 classes at 32x32.
func microConfig(batch, micro int) training.Config {
	return training.Config{Space: space.ImageNetName, Arch: genius329, Classes: 10, Input: 32,
		Recipe: recipe.Recipe{Batch: batch, MicroBatch: micro, LR: 0.05, WeightDecay: 1e-4, Dropout: 0.2}}
}

func randomBatch(n, classes int, seed uint64) (*tensor.Tensor, []int) {
	r := rand.New(rand.NewPCG(seed, 2))
	x := tensor.New(3, n, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}
	return x, labels
}

// BenchmarkMicroBatch trains GENIUS-329 (10 classes, 32x32) on batch 256
// at once and as 4 micro-batches of 64, alternating step by step in one
// run so both see the same machine load. Metrics: images/s of each,
// micro/whole (the throughput ratio) and the same ratio in images per
// CPU-second.
//
//	go test -run '^$' -bench MicroBatch$ -benchtime 3x ./training/bench/
func BenchmarkMicroBatch(b *testing.B) {
	const batch, micro = 256, 64
	be := tensor.NewCPU(tensor.CPUOptions{Workers: benchWorkers(b)})
	x, labels := randomBatch(batch, 10, 1)
	var runs [2]*training.Run
	for i, m := range []int{0, micro} {
		r, err := training.NewRun(be, microConfig(batch, m), 10, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.TrainStep(x, labels); err != nil { // allocate before timing
			b.Fatal(err)
		}
		runs[i] = r
	}
	var took [2]time.Duration
	var cpu [2]float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, r := range runs {
			start, cpu0 := time.Now(), cpuSeconds()
			if _, err := r.TrainStep(x, labels); err != nil {
				b.Fatal(err)
			}
			took[j] += time.Since(start)
			cpu[j] += cpuSeconds() - cpu0
		}
	}
	b.StopTimer()
	imgs := float64(batch * b.N)
	whole, split := imgs/took[0].Seconds(), imgs/took[1].Seconds()
	b.ReportMetric(whole, "whole-images/s")
	b.ReportMetric(split, "micro-images/s")
	b.ReportMetric(split/whole, "micro/whole")
	// CPU time is robust to other processes' load on a shared machine.
	b.ReportMetric(cpu[0]/cpu[1], "micro/whole-per-cpu-s")
}

// BenchmarkMicroBatchMemory takes one training step of GENIUS-329 (10
// classes, 32x32) on a batch of 2048, fed as micro-batches of 64 and then
// of 256 the way the training loader feeds them, and reports the growth of
// the process's peak resident memory during each (PeakRSS, reset in
// between), their ratio, and the engine's estimate for each.
//
//	go test -run '^$' -bench MicroBatchMemory -benchtime 1x ./training/bench/
func BenchmarkMicroBatchMemory(b *testing.B) {
	const batch = 2048
	be := tensor.NewCPU(tensor.CPUOptions{Workers: benchWorkers(b)})
	if err := training.ResetPeakRSS(); err != nil {
		b.Skipf("peak RSS cannot be reset here: %v", err)
	}
	growth := map[int]float64{}
	for _, micro := range []int{64, 256} {
		est, err := training.EstimateMemory(be, microConfig(batch, micro), 10)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(est.For(micro, batch))/(1<<20), "estimate-MiB/"+strconv.Itoa(micro))
		x, labels := randomBatch(micro, 10, 3)
		if err := training.ResetPeakRSS(); err != nil {
			b.Fatal(err)
		}
		base := training.PeakRSS()
		r, err := training.NewRun(be, microConfig(batch, micro), 10, 1000)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			for fed := 0; fed < batch; fed += micro {
				if _, _, err := r.TrainMicro(x, labels); err != nil {
					b.Fatal(err)
				}
			}
		}
		growth[micro] = float64(training.PeakRSS()-base) / (1 << 20)
		b.ReportMetric(growth[micro], "peak-growth-MiB/"+strconv.Itoa(micro))
	}
	b.ReportMetric(growth[256]/growth[64], "peak-256/64")
}
