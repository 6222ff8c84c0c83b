package training

import (
	"errors"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// Device is an accelerator a Run trains on instead of the CPU: the GPU
// (training/cuda, build tag cuda) or, in tests, the host emulator of the
// same kernels. Parameters, gradients, optimiser state and batch-norm
// statistics live in its memory in float32; activations in DType.
type Device struct {
	Kernels kernels.Device
	DType   kernels.DType
	// Name identifies the device in results and progress ("cuda:0 NVIDIA
	// H100 80GB HBM3", "hostemu").
	Name string
}

// ErrDeviceUnsupported is wrapped by errors for what the device path
// cannot run yet (a layer kind, a setting).
var ErrDeviceUnsupported = errors.New("not supported on the device backend")

// NewDeviceRun is NewRun on a device: the network is built on the host,
// copied to dev, and trained there; Checkpoint copies it back.
func NewDeviceRun(dev *Device, cfg Config, classes, stepsPerEpoch int) (*Run, error) {
	return nil, errors.Join(ErrDeviceUnsupported, errors.New("training: the device engine is not built yet"))
}
