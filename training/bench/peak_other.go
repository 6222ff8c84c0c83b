//go:build !amd64

package bench

const havePeakLoop = false
const flopsPerIter = 0

func fmaLoop(n int) {}

const flopsPerCycle = 0
