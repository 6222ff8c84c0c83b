package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/history"
)

// auditOptions are `genius audit`'s flags and arguments.
type auditOptions struct {
	files      []string
	client     clientFlags
	workflowID string
	runID      string
	json       bool
}

func newAuditCmd() *cobra.Command {
	var opts auditOptions
	cmd := &cobra.Command{
		Use:   "audit [FILE...] | --workflow-id ID",
		Short: "Print a search as a reader wants it: each prompt, reply, FLOPs check and measurement, in order",
		Long: `Read a search's workflow history and print, in order, every proposal
(the prompt sent, the model's raw reply, token counts and latency), every
check of a proposal (parse, duplicate, FLOPs window) with what was sent
back, every measurement, signals, Continue-As-New, and the result.

From files written by
  temporal workflow show --workflow-id ID --output json > FILE
(several files: the runs of one workflow, oldest first), or straight from
the server with --workflow-id (all runs, following Continue-As-New).
--json prints the same trail as JSON.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.files = files
			return runAudit(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *auditOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.workflowID, "workflow-id", "", "read the history of this workflow from the server")
	fs.StringVar(&f.runID, "run-id", "", "with --workflow-id: the last run to read (default the latest)")
	fs.BoolVar(&f.json, "json", false, "print the trail as JSON")
}

func runAudit(ctx context.Context, f auditOptions, out, _ io.Writer) error {
	c, runs, err := readRuns(ctx, f.client, f.workflowID, f.runID, f.files,
		"give a history file (temporal workflow show --workflow-id ID --output json > FILE) or --workflow-id ID")
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	if err := decryptHistories(ctx, f.client.EncryptionKeyFile, runs...); err != nil {
		return err
	}
	trail, err := history.Build(runs...)
	if err != nil {
		return err
	}
	if trail.WorkflowID == "" {
		trail.WorkflowID = f.workflowID
	}
	if f.json {
		return writeJSON(out, trail)
	}
	return history.Render(out, trail)
}

// readRuns reads a workflow's runs, oldest first: from the server when
// workflowID is set, else from the exported history files. With the server,
// c is the open client for the caller to close. none is the error for
// neither.
func readRuns(ctx context.Context, cf clientFlags, workflowID, runID string, files []string, none string) (c client.Client, runs []*historypb.History, err error) {
	switch {
	case workflowID != "" && len(files) > 0:
		return nil, nil, errors.New("give history files or --workflow-id, not both")
	case workflowID != "":
		if c, err = cf.dial(ctx, nil); err != nil {
			return nil, nil, err
		}
		if runs, err = fetchRuns(ctx, c, workflowID, runID); err != nil {
			c.Close()
			return nil, nil, err
		}
		return c, runs, nil
	case len(files) > 0:
		for _, file := range files {
			h, err := history.Load(file)
			if err != nil {
				return nil, nil, err
			}
			runs = append(runs, h)
		}
		return nil, runs, nil
	default:
		return nil, nil, errors.New(none)
	}
}

// fetchRuns reads the run runID (latest when empty) of a workflow and the
// runs it continued from, oldest first.
func fetchRuns(ctx context.Context, c client.Client, id, runID string) ([]*historypb.History, error) {
	var runs []*historypb.History
	for {
		h, err := fetchHistory(ctx, c, id, runID)
		if err != nil {
			return nil, err
		}
		runs = append([]*historypb.History{h}, runs...)
		prev := history.Describe(h).ContinuedFrom
		if prev == "" || len(runs) > 10000 {
			return runs, nil
		}
		runID = prev
	}
}

func fetchHistory(ctx context.Context, c client.Client, id, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of workflow %s: %w", id, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("workflow %s has no history on this server/namespace", id)
	}
	return h, nil
}
