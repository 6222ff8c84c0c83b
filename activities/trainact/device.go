package trainact

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/accel"
	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/tensor"
)

// deviceFailure turns an error of the device path into a non-retryable
// error saying what to change (a retry on the same GPU fails the same
// way); microField names the caller's micro-batch setting. Other errors
// give nil. The result is returned as is: the SDK reads an application
// error's retry setting only from the error it is given, not from one it
// wraps.
func deviceFailure(what string, err error, microField string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, training.ErrDeviceUnsupported):
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: %v: train it on a worker started with --backend cpu (GENIUS_BACKEND=cpu)", what, err),
			activities.ErrDeviceUnsupported, err)
	case accel.OutOfMemory(err):
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: %v: set %s to a smaller divisor of the batch (the optimiser step stays that of the whole batch)", what, err, microField),
			activities.ErrDeviceOutOfMemory, err)
	}
	return nil
}

// backendName says what a training runs on: the device's name, or the CPU
// backend's.
func backendName(dev *training.Device, be tensor.Backend) string {
	if dev != nil {
		return dev.Name
	}
	if be != nil {
		return be.Name()
	}
	return "cpu"
}
