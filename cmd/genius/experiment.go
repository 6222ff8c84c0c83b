package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/specs"
	"github.com/genius-nas/genius/workflows"
)

// experimentOptions are `genius experiment`'s flags.
type experimentOptions struct {
	client      clientFlags
	spec        string
	trials      int
	parallelism int
	proposer    string
	iterations  int
	wait        bool
	workflowID  string
	json        bool
	taskQueue   string
	poll        time.Duration
	// trialsSet and parallelismSet tell an explicit 0 from an absent flag.
	trialsSet, parallelismSet bool
}

func newExperimentCmd() *cobra.Command {
	var opts experimentOptions
	cmd := &cobra.Command{
		Use:   "experiment --spec FILE",
		Short: "Run N independent searches of one spec and print mean ± std per iteration beside the random baseline",
		Long: `Start workflow GeniusExperiment: spec.experiment.trials searches as child
workflows (trial k with seed spec.seed+k-1), at most
spec.experiment.parallelism at once. Progress (trials finished) shows on
stderr; the result prints on stdout as a table: per iteration the mean ± std
of accuracy and rank over the trials, the exact random baseline (expected
best of T uniform samples, look-up benchmarks), and each trial's best.
--json prints the raw result instead.

A spec with "retrain" is refused: retrain the experiment's best with
genius retrain --arch instead. Ctrl-C stops watching; the experiment goes on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.trialsSet = cmd.Flags().Changed("trials")
			opts.parallelismSet = cmd.Flags().Changed("parallelism")
			return runExperiment(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("spec")
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *experimentOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.spec, "spec", "", "search spec JSON file (ready ones in specs/), required")
	fs.IntVar(&f.trials, "trials", 0, "override the spec's experiment.trials (1 to 100); unset keeps the spec's, itself 3 when the spec leaves it out")
	fs.IntVar(&f.parallelism, "parallelism", 0, "override the spec's experiment.parallelism, the trials running at once; unset keeps the spec's, itself 3 when the spec leaves it out")
	fs.StringVar(&f.proposer, "proposer", "", "override the spec's proposer.kind: llm, random or evolution")
	fs.IntVar(&f.iterations, "iterations", 0, "override the spec's iterations (T) of every trial; 0 keeps the spec's")
	fs.BoolVar(&f.wait, "wait", true, "wait for the result, showing progress; --wait=false prints the workflow ID and returns")
	fs.StringVar(&f.workflowID, "workflow-id", "", "workflow ID; trials are <ID>/trial-<k>; default genius-experiment-<spec name>-<time>-<random>")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON instead of tables")
	fs.StringVar(&f.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", workflows.TaskQueue), "task queue of the workers that run searches (env GENIUS_TASK_QUEUE)")
	fs.DurationVar(&f.poll, "poll", time.Second, "how often to ask the experiment for its progress")
}

// loadExperimentSpec reads the spec file, refuses retrain, applies the
// overrides and checks the result. Like genius search it submits the spec
// as written plus overrides, so the workflow's defaults apply.
func loadExperimentSpec(f experimentOptions) (specs.Spec, error) {
	if f.spec == "" {
		return specs.Spec{}, errors.New("--spec is required: give a spec file, for example specs/nas-bench-macro.json")
	}
	if (f.trialsSet || f.trials != 0) && f.trials < 1 {
		return specs.Spec{}, fmt.Errorf("--trials is %d: give the number of searches, 1 to 100, or leave it out to keep the spec's experiment.trials", f.trials)
	}
	if (f.parallelismSet || f.parallelism != 0) && f.parallelism < 1 {
		return specs.Spec{}, fmt.Errorf("--parallelism is %d: give at least 1 trial at once, or leave it out to keep the spec's experiment.parallelism", f.parallelism)
	}
	data, err := os.ReadFile(f.spec)
	if err != nil {
		return specs.Spec{}, fmt.Errorf("read --spec: %w", err)
	}
	// Checked before the spec's own validation, which may object to the
	// retrain recipe first and hide the real problem.
	var probe struct {
		Retrain json.RawMessage `json:"retrain"`
	}
	if json.Unmarshal(data, &probe) == nil && len(probe.Retrain) > 0 && string(probe.Retrain) != "null" {
		return specs.Spec{}, fmt.Errorf(`spec %s sets "retrain", which %s refuses: retraining every trial's winner would start one long training per trial.
Remove "retrain" from a copy of the spec and run the experiment with it, then retrain the best architecture it prints with
  genius retrain --spec paper|cpu-demo|FILE --arch A,B,C,...
or run a single search that retrains its winner with
  genius search --spec %s`, f.spec, workflows.ExperimentName, f.spec)
	}
	s, err := loadSearchSpec(f.spec, f.proposer, f.iterations)
	if err != nil {
		return specs.Spec{}, err
	}
	if f.trials != 0 {
		s.Experiment.Trials = f.trials
	}
	if f.parallelism != 0 {
		s.Experiment.Parallelism = f.parallelism
	}
	if err := s.WithDefaults().Validate(); err != nil {
		return specs.Spec{}, fmt.Errorf("spec %s with the command-line overrides: %w", f.spec, err)
	}
	return s, nil
}

func runExperiment(ctx context.Context, f experimentOptions, stdout, stderr io.Writer) error {
	s, err := loadExperimentSpec(f)
	if err != nil {
		return err
	}
	// The same fail-fast as genius search: without an endpoint every trial
	// would fail on its first proposal.
	if err := checkLLMEndpoint(s, "experiment", f.spec); err != nil {
		return err
	}
	c, err := f.client.dial(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()

	id := f.workflowID
	if id == "" {
		id = newWorkflowID("experiment-" + searchName(s))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue, StaticSummary: workflows.ExperimentSummary(s), StaticDetails: workflows.Details(s)},
		workflows.ExperimentName, s)
	if err != nil {
		return fmt.Errorf("start experiment: %w", err)
	}
	fmt.Fprintf(stderr, "Started %s workflow %s (run %s) on task queue %s.\n", workflows.ExperimentName, run.GetID(), run.GetRunID(), f.taskQueue)
	if !f.wait {
		fmt.Fprintln(stdout, run.GetID())
		return nil
	}

	view := newExperimentView(stderr, s.WithDefaults().Experiment.Trials)
	res, err := watchWorkflow[workflows.ExperimentResult, workflows.ExperimentProgress](ctx, c, run,
		watchOptions{poll: f.poll, taskQueue: f.taskQueue, address: f.client.Address, what: "experiment", stopNote: " (running trials stop too)"}, view)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			view.close()
			err = fmt.Errorf("experiment %s failed: %w; read what happened with `temporal workflow show --workflow-id %s`", id, err, id)
		}
		return err
	}
	view.close()
	for _, tr := range res.Trials {
		if tr.Error != "" {
			fmt.Fprintf(stderr, "trial %d failed: read what happened with `genius audit --workflow-id %s`\n", tr.Trial, tr.WorkflowID)
		}
	}
	if f.json {
		return writeJSON(stdout, res)
	}
	return renderExperiment(stdout, id, res)
}

// experimentView shows trials finishing: a bar on a terminal, lines
// otherwise.
type experimentView struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	last workflows.ExperimentProgress
	seen bool
}

func newExperimentView(w io.Writer, trials int) *experimentView {
	return &experimentView{w: w, bar: terminalBar(w, trials, "trials")}
}

func (v *experimentView) update(p workflows.ExperimentProgress) {
	if v.seen && p == v.last {
		return
	}
	desc := fmt.Sprintf("%d running", p.Started-p.Finished)
	if p.Failed > 0 {
		desc += fmt.Sprintf(", %d failed", p.Failed)
	}
	if p.CostUSD > 0 {
		desc += fmt.Sprintf(", $%.4f so far", p.CostUSD)
	}
	if v.bar != nil {
		if p.Trials > 0 && p.Trials != v.bar.GetMax() {
			v.bar.ChangeMax(p.Trials)
		}
		v.bar.Describe(desc)
		_ = v.bar.Set(p.Finished)
	} else {
		if !v.seen {
			fmt.Fprintf(v.w, "experiment running: %d trials\n", p.Trials)
		}
		if p.Finished != v.last.Finished || p.Started != v.last.Started || p.Failed != v.last.Failed {
			fmt.Fprintf(v.w, "trials %d/%d done (%s)\n", p.Finished, p.Trials, desc)
		}
	}
	v.last, v.seen = p, true
}

func (v *experimentView) note(msg string) {
	if v.bar != nil {
		_ = v.bar.Clear()
	}
	fmt.Fprintln(v.w, msg)
}

func (v *experimentView) close() {
	if v.bar != nil {
		_ = v.bar.Finish()
		fmt.Fprintln(v.w)
	}
}

// renderExperiment writes the result as a reader wants it: statistics per
// iteration, the random baseline right under them, then each trial's best.
func renderExperiment(w io.Writer, id string, r workflows.ExperimentResult) error {
	name := r.Name
	if name == "" {
		name = r.Space
	}
	head := fmt.Sprintf("%s %s: %s, %d trials, proposer %s, space %s", workflows.ExperimentName, id, name, len(r.Trials), r.Proposer, r.Space)
	if r.Benchmark != "" {
		head += ", benchmark " + r.Benchmark
		if r.Dataset != "" {
			head += "/" + r.Dataset
		}
	}
	if r.Stopped != "" {
		head += fmt.Sprintf(" (stopped: %s; trials not started are left out)", r.Stopped)
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w)

	withTest := false
	for _, s := range r.PerIteration {
		withTest = withTest || s.TestAccuracyMean != 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "iteration\ttrials\taccuracy mean ± std\trank mean ± std\tbest so far mean ± std")
	if withTest {
		fmt.Fprint(tw, "\ttest accuracy mean ± std")
	}
	fmt.Fprintln(tw)
	for _, s := range r.PerIteration {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s", s.Iteration, s.N,
			pm(s.AccuracyMean, s.AccuracyStd, 2), pm(s.RankMean, s.RankStd, 1), pm(s.BestSoFarMean, s.BestSoFarStd, 2))
		if withTest {
			fmt.Fprintf(tw, "\t%s", pm(s.TestAccuracyMean, s.TestAccuracyStd, 2))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.PerIteration) == 0 {
		fmt.Fprintln(w, "(no iteration was measured)")
	}
	if b := r.RandomBaseline; b != nil {
		fmt.Fprintf(w, "random baseline (exact expected best of %d uniform samples): accuracy %.2f, rank %.1f of %d (optimum %.2f)\n",
			b.Samples, b.Accuracy, b.Rank, b.Of, b.Optimum)
	} else {
		fmt.Fprintln(w, "random baseline: none (the exact baseline needs a look-up benchmark)")
	}
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "trial\tseed\tbest accuracy\trank\titeration\tarch\tworkflow")
	for _, t := range r.Trials {
		switch {
		case t.Error != "":
			fmt.Fprintf(tw, "%d\t%d\tfailed: %s\t\t\t\t%s\n", t.Trial, t.Seed, shortErr(errors.New(t.Error)), t.WorkflowID)
		case t.Best == nil:
			fmt.Fprintf(tw, "%d\t%d\tnone (stopped: %s)\t\t\t\t%s\n", t.Trial, t.Seed, t.Stopped, t.WorkflowID)
		default:
			acc := fmt.Sprintf("%.2f", t.Best.Accuracy)
			if t.Best.TestAccuracy != 0 {
				acc += fmt.Sprintf(" (test %.2f)", t.Best.TestAccuracy)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%s\t%s\n", t.Trial, t.Seed, acc, t.Best.Rank, t.Best.Iteration, archList(t.Best.Arch), t.WorkflowID)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b := r.Best
	line := fmt.Sprintf("best per trial, mean ± std over %d trials: accuracy %s, rank %s", b.N, pm(b.AccuracyMean, b.AccuracyStd, 2), pm(b.RankMean, b.RankStd, 1))
	if b.TestAccuracyMean != 0 {
		line += ", test accuracy " + pm(b.TestAccuracyMean, b.TestAccuracyStd, 2)
	}
	if rb := r.RandomBaseline; rb != nil && b.N > 0 {
		line += fmt.Sprintf(" (random baseline %.2f, %+.2f)", rb.Accuracy, b.AccuracyMean-rb.Accuracy)
	}
	line += llmSpend(r.PromptTokens, r.CompletionTokens, r.CostUSD, "\nLLM, all trials: ")
	_, err := fmt.Fprintln(w, line)
	return err
}

// pm formats mean ± std with the given decimals.
func pm(mean, std float64, decimals int) string {
	return strconv.FormatFloat(mean, 'f', decimals, 64) + " ± " + strconv.FormatFloat(std, 'f', decimals, 64)
}

// archList writes an architecture as --arch takes it.
func archList(a []int) string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}
