package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/workers"
)

// replayOptions are `genius replay`'s arguments.
type replayOptions struct {
	files   []string
	keyFile string
}

func newReplayCmd() *cobra.Command {
	var opts replayOptions
	cmd := &cobra.Command{
		Use:   "replay FILE...",
		Short: "Replay exported workflow histories against this binary's workflow code",
		Long: `Replay each history file, written by
  temporal workflow show --workflow-id ID --output json > FILE
with the SDK's workflow replayer and the workflows this binary registers
(GeniusSearch, GeniusExperiment, GeniusRetrain). A history the current code
would not have produced (non-determinism) fails: the command names the
workflow and the mismatch and exits 1. Use it in CI to catch changes that
would break running searches, and in audits to show that a run came from
this code. Histories of encrypted payloads need the key file
(--encryption-key-file).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.files = files
			return runReplay(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs (files are arguments).
func (f *replayOptions) AddFlags(fs *pflag.FlagSet) {
	addEncryptionKeyFlag(fs, &f.keyFile)
}

func runReplay(ctx context.Context, f replayOptions, stdout, _ io.Writer) error {
	return replayFiles(ctx, stdout, f.files, f.keyFile, workers.RegisterWorkflows)
}

// replayFiles replays every file, reporting each, and returns an exit
// error naming the failures.
func replayFiles(ctx context.Context, out io.Writer, files []string, keyFile string, register history.Register) error {
	var failed []string
	for _, f := range files {
		h, err := history.Load(f)
		if err == nil {
			err = decryptHistories(ctx, keyFile, h)
		}
		if err == nil {
			err = history.Replay(h, register, nil)
		}
		if err != nil {
			fmt.Fprintf(out, "FAIL %s: %v\n", f, err)
			failed = append(failed, f)
			continue
		}
		info := history.Describe(h)
		fmt.Fprintf(out, "ok   %s: %s, %d events\n", f, info.Name(), info.Events)
	}
	if len(failed) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("genius replay: %d of %d histories do not replay with this code: %s",
			len(failed), len(files), strings.Join(failed, ", "))}
	}
	return nil
}
