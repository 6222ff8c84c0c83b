package bench

import "golang.org/x/sys/cpu"

var havePeakLoop = cpu.X86.HasAVX512F

// flopsPerCycle per core: two FMA pipes of 16 (AVX-512) or 8 (AVX2) lanes.
var flopsPerCycle = map[bool]float64{true: 64, false: 32}[cpu.X86.HasAVX512F]

// flopsPerIter: 12 independent 16-lane FMAs of 2 FLOPs each.
const flopsPerIter = 12 * 16 * 2

// fmaLoop runs n iterations of 12 independent AVX-512 FMAs.
//
//go:noescape
func fmaLoop(n int)
