package integration

import (
	"log/slog"

	"go.temporal.io/sdk/log"
)

// quietLogger keeps the SDK's per-worker logging out of test output.
func quietLogger() log.Logger { return log.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
