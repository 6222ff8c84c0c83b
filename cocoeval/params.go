package cocoeval

// The reference's default parameters for bbox evaluation. The thresholds
// are built with numpy.linspace's arithmetic (start + i·step, the last one
// set to stop), because a detection is matched by comparing its IoU with
// them exactly.
const (
	numIoU    = 10  // IoU thresholds .50:.05:.95
	numRecall = 101 // recall points 0:.01:1
	numArea   = 4   // all, small, medium, large
	numMaxDet = 3   // 1, 10, 100 detections per image
)

// maxDetections are the per-image cuts; the last also bounds matching.
var maxDetections = [numMaxDet]int{1, 10, 100}

// areaRanges are inclusive at both ends, as the reference compares them.
var areaRanges = [numArea][2]float64{
	{0, 1e5 * 1e5},
	{0, 32 * 32},
	{32 * 32, 96 * 96},
	{96 * 96, 1e5 * 1e5},
}

var (
	iouThresholds    = linspace(0.5, 0.95, numIoU)
	recallThresholds = linspace(0, 1, numRecall)
)

// iouCeiling caps a threshold so that a perfect overlap still counts
// (min(t, 1-1e-10) in the reference). One and tiny are variables so the
// subtraction is rounded as in float64, not folded exactly.
var iouCeiling = func() float64 {
	one, tiny := 1.0, 1e-10
	return one - tiny
}()

// machineEpsilon is numpy.spacing(1), added to precision's denominator.
const machineEpsilon = 2.220446049250313e-16

// linspace is numpy.linspace(start, stop, num) with endpoint=True.
func linspace(start, stop float64, num int) []float64 {
	step := (stop - start) / float64(num-1)
	y := make([]float64, num)
	for i := range y {
		// The conversion rounds the product, so no fused multiply-add.
		y[i] = float64(float64(i)*step) + start
	}
	y[num-1] = stop
	return y
}

// thresholdIndex is the index of an IoU threshold compared exactly, as
// numpy.where(iouThr == p.iouThrs) does; -1 if none equals it.
func thresholdIndex(t float64) int {
	for i, v := range iouThresholds {
		if v == t {
			return i
		}
	}
	return -1
}
