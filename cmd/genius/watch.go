package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"github.com/genius-nas/genius/workflows"
)

// outcome is a workflow's result, or the error that ended it.
type outcome[T any] struct {
	res T
	err error
}

// awaitResult waits for run's result in the background, so the caller can
// show progress meanwhile; the channel delivers exactly once.
func awaitResult[T any](ctx context.Context, run client.WorkflowRun) <-chan outcome[T] {
	done := make(chan outcome[T], 1)
	go func() {
		var o outcome[T]
		o.err = run.Get(ctx, &o.res)
		done <- o
	}()
	return done
}

// queryProgress asks workflow id for its progress query's answer.
func queryProgress[T any](ctx context.Context, c client.Client, id string) (T, error) {
	var p T
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

// terminalBar is a progress bar of total steps when w is a terminal, and nil
// otherwise, where callers print plain lines instead.
func terminalBar(w io.Writer, total int, desc string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
}

// progressViewer shows a workflow's progress while a command waits for it.
type progressViewer[P any] interface {
	update(P)
	note(string)
	close()
}

// watchOptions says how watchWorkflow polls and what it tells the user.
type watchOptions struct {
	poll      time.Duration // between progress queries
	taskQueue string        // named in the hint when no worker answers
	address   string        // for the temporal commands printed on Ctrl-C
	what      string        // "search", "experiment", "retraining"
	stopNote  string        // said after "Stop it", e.g. " (running trials stop too)"
	noStop    bool          // the workflow takes no stop signal: say nothing of stopping it
}

// watchWorkflow waits for run's result, showing its progress query's answers
// every poll. Ctrl-C stops watching, not the workflow: it returns an
// exitError (130) that says how to get the result and how to stop it. A
// workflow failure is returned as it is, for the caller to put in words.
func watchWorkflow[R, P any](ctx context.Context, c client.Client, run client.WorkflowRun, o watchOptions, view progressViewer[P]) (R, error) {
	id := run.GetID()
	done := awaitResult[R](ctx, run)
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	firstAnswer, hinted, started := false, false, time.Now()
	detach := func() error {
		view.close()
		msg := fmt.Sprintf("Stopped watching; the %s goes on. Its result:\n  temporal workflow result --workflow-id %s --address %s", o.what, id, o.address)
		if !o.noStop {
			msg += fmt.Sprintf("\nStop it%s:\n  temporal workflow signal --workflow-id %s --name %s --address %s", o.stopNote, id, workflows.StopSignal, o.address)
		}
		return &exitError{code: 130, msg: msg}
	}
	for {
		select {
		case <-ctx.Done():
			var zero R
			return zero, detach()
		case out := <-done:
			if out.err != nil && ctx.Err() != nil {
				return out.res, detach()
			}
			return out.res, out.err
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := queryProgress[P](qctx, c, id)
			cancel()
			if err == nil {
				firstAnswer = true
				view.update(p)
			} else if !firstAnswer && !hinted && time.Since(started) > 10*time.Second {
				hinted = true
				view.note(fmt.Sprintf("No progress yet (%v). Is a worker polling task queue %q? Start one with `genius worker` or `genius dev`.", shortErr(err), o.taskQueue))
			}
		}
	}
}

// shortErr is an error's first line.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
