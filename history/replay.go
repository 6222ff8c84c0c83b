package history

import (
	"fmt"
	"log/slog"
	"strings"

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
func Replay(h *historypb.History, register Register, logger *slog.Logger) (err error) {
	info := Describe(h)
	defer func() {
		// The SDK's replayer panics on some malformed histories; Parse
		// catches the ones known, this the rest.
		if p := recover(); p != nil {
			err = fmt.Errorf("replay of %s, %d events: the history is malformed (the SDK's replayer failed on it: %v); export it again with `temporal workflow show --output json`", info.Name(), info.Events, p)
		}
	}()
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{})
	if err != nil {
		return fmt.Errorf("new workflow replayer: %w", err)
	}
	register(r)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Workflow code may derive IDs (child workflows) from its own workflow
	// ID, which the replayer otherwise sets to "ReplayId".
	opts := worker.ReplayWorkflowHistoryOptions{}
	opts.OriginalExecution.ID = info.WorkflowID
	opts.OriginalExecution.RunID = info.RunID
	if err := r.ReplayWorkflowHistoryWithOptions(tlog.NewStructuredLogger(logger), h, opts); err != nil {
		if IsNonDeterminism(err) {
			return fmt.Errorf("replay of %s, %d events: non-determinism: the current workflow code issues different commands than the history recorded: %w", info.Name(), info.Events, err)
		}
		return fmt.Errorf("replay of %s, %d events, failed: %w", info.Name(), info.Events, err)
	}
	return nil
}

// IsNonDeterminism reports whether a replay error is the SDK's
// non-determinism error (code TMPRL1100).
func IsNonDeterminism(err error) bool {
	s := err.Error()
	return strings.Contains(s, "TMPRL1100") || strings.Contains(strings.ToLower(s), "nondetermin")
}
