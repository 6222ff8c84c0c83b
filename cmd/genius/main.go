// Command genius runs LLM-driven neural architecture search (GENIUS) as
// durable Temporal workflows, and the tools around it: FLOPs counting,
// benchmark look-ups, reply parsing, workers, submission, replay and audit.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra without printing
// cobra's usage text for what is not a usage error.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "genius:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "genius",
		Short:         "LLM-driven neural architecture search as durable Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// One constructor per verb, each in its own file.
	root.AddCommand(
		// COMMANDS (keep one per line; helpers add theirs here)
		newParseCmd(),
		newFlopsCmd(),
		newTableCmd(),
		newDataCmd(),
		newCheckpointsCmd(),
		newRetrainCmd(),
		newTransferCmd(),
		newTrainCmd(),
		newDevCmd(),
		newWorkerCmd(),
		newSearchCmd(),
		newExperimentCmd(),
		newReplayCmd(),
		newAuditCmd(),
		newReportCmd(),
		newCocoEvalCmd(),
		newLLMPricesCmd(),
		newKeygenCmd(),
		newCodecServerCmd(),
	)
	return root
}
