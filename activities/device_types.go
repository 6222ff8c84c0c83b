package activities

// ErrDeviceUnsupported (non-retryable): the worker trains on a GPU and
// the GPU engine cannot run what the activity asks for (a layer kind, a
// setting, detection); a worker started with --backend cpu can.
const ErrDeviceUnsupported = "DeviceUnsupported"

// ErrDeviceOutOfMemory (non-retryable): a training step did not fit in the
// GPU's memory; a smaller micro-batch would.
const ErrDeviceOutOfMemory = "DeviceOutOfMemory"
