package bench

import (
	"sync"
	"time"
)

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
