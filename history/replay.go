package history

import (
	"fmt"
	"log/slog"

	historypb "go.temporal.io/api/history/v1"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// Register adds the workflows a replayer runs, usually
// workers.RegisterWorkflows; tests register changed code to prove that a
// change is caught.
type Register func(worker.WorkflowRegistry)

// Replay runs the registered workflow code against h with the SDK's
// workflow replayer. A non-nil error means the code no longer produces the
// commands the history recorded (non-determinism) or could not run it; the
// error names the workflow.
func Replay(h *historypb.History, register Register, logger *slog.Logger) error {
	info := Describe(h)
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{})
	if err != nil {
		return fmt.Errorf("new workflow replayer: %w", err)
	}
	register(r)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := r.ReplayWorkflowHistory(tlog.NewStructuredLogger(logger), h); err != nil {
		return fmt.Errorf("replay of %s, %d events, does not match the current workflow code: %w", info.Name(), info.Events, err)
	}
	return nil
}
