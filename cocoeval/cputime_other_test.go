//go:build !unix

package cocoeval

import (
	"testing"
	"time"
)

// cpuTime is not measured here; the cpu-ns/op metric reads 0.
func cpuTime(testing.TB) time.Duration { return 0 }
