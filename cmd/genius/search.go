package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// searchOptions are `genius search`'s flags.
type searchOptions struct {
	client     clientFlags
	spec       string
	proposer   string
	iterations int
	wait       bool
	workflowID string
	taskQueue  string
	poll       time.Duration
}

func newSearchCmd() *cobra.Command {
	var opts searchOptions
	cmd := &cobra.Command{
		Use:   "search --spec FILE",
		Short: "Submit a GENIUS search, show its progress and print its result",
		Long: `Start workflow GeniusSearch with the spec file as its input, show live
progress (a progress bar on a terminal, plain lines otherwise) from the
workflow's progress query, and print the result as JSON on stdout.

The same search can be submitted with the Temporal CLI alone:
  temporal workflow start --type GeniusSearch --task-queue ` + workflows.TaskQueue + ` --input-file specs/nas-bench-macro.json

The llm proposer calls the endpoint configured on the workers
(OPENAI_API_KEY, OPENAI_BASE_URL); the key is never part of the workflow
input. --proposer random or evolution runs a baseline on the same machinery.
Ctrl-C stops watching; the search goes on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSearch(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("spec")
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *searchOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.spec, "spec", "", "search spec JSON file (ready ones in specs/), required")
	fs.StringVar(&f.proposer, "proposer", "", "override the spec's proposer.kind: llm, random or evolution")
	fs.IntVar(&f.iterations, "iterations", 0, "override the spec's iterations (T); 0 keeps the spec's")
	fs.BoolVar(&f.wait, "wait", true, "wait for the result, showing progress; --wait=false prints the workflow ID and returns")
	fs.StringVar(&f.workflowID, "workflow-id", "", "workflow ID; default genius-<spec name>-<time>-<random>")
	fs.StringVar(&f.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", workflows.TaskQueue), "task queue of the workers that run searches (env GENIUS_TASK_QUEUE)")
	fs.DurationVar(&f.poll, "poll", time.Second, "how often to ask the search for its progress")
}

// loadSearchSpec reads the spec file, applies the overrides, and checks the
// result. The spec is submitted as written (plus overrides), not with its
// defaults filled in, so the workflow's defaults apply.
func loadSearchSpec(path, proposer string, iterations int) (specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return specs.Spec{}, fmt.Errorf("read --spec: %w", err)
	}
	if _, err := specs.Parse(data); err != nil {
		return specs.Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return specs.Spec{}, fmt.Errorf("spec %s: %w", path, err)
	}
	if proposer != "" {
		s.Proposer.Kind = proposer
	}
	if iterations != 0 {
		s.Iterations = iterations
	}
	if err := s.WithDefaults().Validate(); err != nil {
		return specs.Spec{}, fmt.Errorf("spec %s with the command-line overrides: %w", path, err)
	}
	return s, nil
}

func runSearch(ctx context.Context, f searchOptions, stdout, stderr io.Writer) error {
	if f.spec == "" {
		return errors.New("--spec is required: give a spec file, for example specs/nas-bench-macro.json")
	}
	s, err := loadSearchSpec(f.spec, f.proposer, f.iterations)
	if err != nil {
		return err
	}
	if err := checkLLMEndpoint(s, "search", f.spec); err != nil {
		return err
	}
	c, err := f.client.dial(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()

	id := f.workflowID
	if id == "" {
		id = newWorkflowID(searchName(s))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue, StaticSummary: workflows.Summary(s), StaticDetails: workflows.Details(s)},
		workflows.SearchName, workflows.SearchInput{Spec: s})
	if err != nil {
		return fmt.Errorf("start search: %w", err)
	}
	fmt.Fprintf(stderr, "Started %s workflow %s (run %s) on task queue %s.\n", workflows.SearchName, run.GetID(), run.GetRunID(), f.taskQueue)
	if !f.wait {
		fmt.Fprintln(stdout, run.GetID())
		return nil
	}

	view := newProgressView(stderr, s.WithDefaults().Iterations)
	res, err := watchWorkflow[workflows.SearchResult, workflows.Progress](ctx, c, run,
		watchOptions{poll: f.poll, taskQueue: f.taskQueue, address: f.client.Address, what: "search"}, view)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			view.close()
			err = fmt.Errorf("search %s failed: %w; read what happened with `genius audit --workflow-id %s`", id, err, id)
		}
		return err
	}
	view.finish(res)
	return writeJSON(stdout, res)
}

// progressView shows progress as a bar on a terminal and as lines
// otherwise.
type progressView struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	last workflows.Progress
	seen bool
}

func newProgressView(w io.Writer, total int) *progressView {
	return &progressView{w: w, bar: terminalBar(w, total, "searching")}
}

func (v *progressView) update(p workflows.Progress) {
	if v.bar != nil {
		if p.Iterations > 0 && p.Iterations != v.bar.GetMax() {
			v.bar.ChangeMax(p.Iterations)
		}
		desc := p.Phase
		if p.Attempt > 1 {
			desc += fmt.Sprintf(" (attempt %d)", p.Attempt)
		}
		if p.Best != nil {
			desc += fmt.Sprintf(" · best %.2f", p.Best.Accuracy)
			if p.Best.Rank > 0 {
				desc += fmt.Sprintf(" rank %d", p.Best.Rank)
			}
		}
		desc += llmSpend(p.PromptTokens, p.CompletionTokens, p.CostUSD, " · ")
		v.bar.Describe(desc)
		_ = v.bar.Set(p.Done)
		v.last, v.seen = p, true
		return
	}
	if v.seen && p.Done == v.last.Done && p.Failures == v.last.Failures && p.WorkflowRun == v.last.WorkflowRun {
		return
	}
	if !v.seen {
		fmt.Fprintf(v.w, "search running: %d iterations\n", p.Iterations)
	}
	if p.Done > v.last.Done || !v.seen && p.Done > 0 {
		line := fmt.Sprintf("iteration %d/%d done", p.Done, p.Iterations)
		if l := p.Last; l != nil && l.Iteration == p.Done {
			line += fmt.Sprintf(": %v accuracy %.2f", l.Arch, l.Accuracy)
			if l.Rank > 0 {
				line += fmt.Sprintf(" rank %d", l.Rank)
			}
			if l.Attempts > 1 {
				line += fmt.Sprintf(" after %d attempts", l.Attempts)
			}
		} else if p.Failures > v.last.Failures {
			line += ": failed (no acceptable proposal)"
		}
		if b := p.Best; b != nil {
			line += fmt.Sprintf("; best %.2f (iteration %d)", b.Accuracy, b.Iteration)
		}
		line += llmSpend(p.PromptTokens, p.CompletionTokens, p.CostUSD, "; ")
		fmt.Fprintln(v.w, line)
	}
	if v.seen && p.WorkflowRun > v.last.WorkflowRun {
		fmt.Fprintf(v.w, "continued as new: run %d\n", p.WorkflowRun)
	}
	v.last, v.seen = p, true
}

func (v *progressView) note(msg string) {
	if v.bar != nil {
		_ = v.bar.Clear()
	}
	fmt.Fprintln(v.w, msg)
}

func (v *progressView) finish(r workflows.SearchResult) {
	if v.bar != nil {
		_ = v.bar.Set(len(r.Iterations) + len(r.Failures))
		_ = v.bar.Finish()
		fmt.Fprintln(v.w)
	}
	line := fmt.Sprintf("search done: %d iterations, stopped: %s", len(r.Iterations), r.Stopped)
	if b := r.Best; b != nil {
		line += fmt.Sprintf("; best %v accuracy %.2f", b.Arch, b.Accuracy)
		if b.Rank > 0 {
			line += fmt.Sprintf(" rank %d", b.Rank)
		}
	}
	line += llmSpend(r.PromptTokens, r.CompletionTokens, r.CostUSD, "; ")
	if r.Stopped != workflows.StoppedBudget && r.StopDetail != "" {
		line += " (" + r.StopDetail + ")"
	}
	fmt.Fprintln(v.w, line)
}

// llmSpend words the tokens and cost so far after sep, or "" when no
// tokens were spent.
func llmSpend(prompt, completion int, cost float64, sep string) string {
	if prompt+completion == 0 {
		return ""
	}
	return fmt.Sprintf("%s%d tokens, $%.4f", sep, prompt+completion, cost)
}

func (v *progressView) close() {
	if v.bar != nil {
		_ = v.bar.Exit()
		fmt.Fprintln(v.w)
	}
}
