package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/workflows"
)

// retrainOptions are `genius retrain`'s flags.
type retrainOptions struct {
	client     clientFlags
	spec       string
	arch       string
	epochs     int
	wait       bool
	workflowID string
	taskQueue  string
	poll       time.Duration
}

func newRetrainCmd() *cobra.Command {
	var opts retrainOptions
	cmd := &cobra.Command{
		Use:   "retrain --spec NAME|FILE",
		Short: "Submit a final retraining (workflow GeniusRetrain), show its epochs and print its result",
		Long: `Start workflow GeniusRetrain with a retrain spec: a ready one by name
(` + strings.Join(retrain.Names(), ", ") + `) or a JSON file. The training runs on
the GPU workers' queue (` + retrain.DefaultTaskQueue + `) in chunks of epochs; each chunk checkpoints
to the workers' checkpoint store and resumes from it after a crash, so the run
survives worker restarts. Epoch results (live and EMA top-1/top-5) are printed
as the chunks finish; the result JSON goes to stdout.

The same run can be started with the Temporal CLI alone:
  temporal workflow start --type GeniusRetrain --task-queue ` + workflows.TaskQueue + ` --input-file specs/retrain/paper.json

Ctrl-C stops watching; the retraining goes on.`,
		Example: `  genius retrain --spec cpu-demo
  genius retrain --spec paper --arch 1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0 --wait=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetrain(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("spec")
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *retrainOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.spec, "spec", "", "ready retrain spec name ("+strings.Join(retrain.Names(), ", ")+") or JSON file, required")
	fs.StringVar(&f.arch, "arch", "", "override the spec's architecture (comma-separated choices, e.g. the search's best)")
	fs.IntVar(&f.epochs, "epochs", 0, "override the spec's epochs; 0 keeps the spec's")
	fs.BoolVar(&f.wait, "wait", true, "wait for the result, printing epochs; --wait=false prints the workflow ID and returns")
	fs.StringVar(&f.workflowID, "workflow-id", "", "workflow ID (also the checkpoint folder retrain/<id>/ unless the spec sets run); default genius-retrain-<time>-<random>")
	fs.StringVar(&f.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", workflows.TaskQueue), "task queue of the workers that run workflows (env GENIUS_TASK_QUEUE); the training itself runs on the spec's task_queue")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "how often to ask the run for its progress")
}

// loadRetrainSpec reads a ready spec or a file and applies the overrides.
func loadRetrainSpec(name, arch string, epochs int) (retrain.Spec, error) {
	var s retrain.Spec
	var err error
	if _, statErr := os.Stat(name); statErr == nil {
		s, err = retrain.Load(name)
	} else {
		s, err = retrain.Ready(name)
	}
	if err != nil {
		return s, err
	}
	if arch != "" {
		a, err := parseArchFlag(arch)
		if err != nil {
			return s, err
		}
		s.Arch = a
	}
	if epochs > 0 {
		s.Epochs = epochs
		s.ChunkEpochs = min(s.ChunkEpochs, epochs)
		s.WarmupEpochs = min(s.WarmupEpochs, float64(epochs))
	}
	return s, s.Validate()
}

func runRetrain(ctx context.Context, f retrainOptions, stdout, stderr io.Writer) error {
	s, err := loadRetrainSpec(f.spec, f.arch, f.epochs)
	if err != nil {
		return err
	}
	id := f.workflowID
	if id == "" {
		id = newWorkflowID("retrain")
	}
	c, err := f.client.dial(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: f.taskQueue},
		workflows.RetrainName, workflows.RetrainInput{Spec: s})
	if err != nil {
		return fmt.Errorf("start retraining: %w", err)
	}
	fmt.Fprintf(stderr, "Started %s workflow %s (run %s); training on task queue %s.\n", workflows.RetrainName, run.GetID(), run.GetRunID(), s.TaskQueue)
	if !f.wait {
		fmt.Fprintln(stdout, run.GetID())
		return nil
	}
	view := &retrainView{w: stderr, epochs: s.Epochs}
	res, err := watchWorkflow[workflows.RetrainResult, workflows.RetrainProgress](ctx, c, run,
		watchOptions{poll: f.poll, taskQueue: f.taskQueue, address: f.client.Address, what: "retraining", noStop: true}, view)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			err = fmt.Errorf("retraining %s failed: %w", id, err)
		}
		return err
	}
	view.printEpochs(res.Epochs)
	return writeJSON(stdout, res)
}

// retrainView prints each epoch of a retraining once, as it finishes.
type retrainView struct {
	w       io.Writer
	epochs  int
	printed int
}

func (v *retrainView) update(p workflows.RetrainProgress) { v.printEpochs(p.Epochs) }
func (v *retrainView) note(msg string)                    { fmt.Fprintln(v.w, msg) }
func (v *retrainView) close()                             {}

func (v *retrainView) printEpochs(eps []activities.RetrainEpoch) {
	for ; v.printed < len(eps); v.printed++ {
		e := eps[v.printed]
		fmt.Fprintf(v.w, "epoch %d/%d  step %d  train loss %.4f  top-1 %.2f%%  top-5 %.2f%%  EMA top-1 %.2f%%  EMA top-5 %.2f%%",
			e.Epoch, v.epochs, e.Step, e.TrainLoss, 100*e.Top1, 100*e.Top5, 100*e.EMATop1, 100*e.EMATop5)
		if e.PeakMemoryB > 0 {
			fmt.Fprintf(v.w, "  peak memory %.0f MiB", float64(e.PeakMemoryB)/(1<<20))
		}
		fmt.Fprintln(v.w)
	}
}
