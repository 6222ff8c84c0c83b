package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NominalPeakGFLOPS derives the peak from the processor's description:
// cores x FLOPs per cycle x clock, with 64 FLOPs per cycle per core for
// AVX-512 (two 16-lane FMA pipes, 2 FLOPs per FMA, as Zen 4/5 and Xeon
// server cores have) and 32 for AVX2. The clock is /proc/cpuinfo's "cpu
// MHz" (the base clock where the hypervisor hides boost). 0 when unknown.
func NominalPeakGFLOPS(cores int) float64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return float64(cores) * flopsPerCycle * mhz / 1e3
		}
	}
	return 0
}

// MeasurePeakGFLOPS runs a register-only FMA loop on `workers` goroutines
// for about d and returns the FLOP rate, an upper bound the kernels can be
// compared with (0 where no such loop exists for this architecture).
func MeasurePeakGFLOPS(workers int, d time.Duration) float64 {
	if !havePeakLoop {
		return 0
	}
	const iters = 1 << 20
	var mu sync.Mutex
	var flops float64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n float64
			for time.Since(start) < d {
				fmaLoop(iters)
				n += iters * flopsPerIter
			}
			mu.Lock()
			flops += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return flops / time.Since(start).Seconds() / 1e9
}
