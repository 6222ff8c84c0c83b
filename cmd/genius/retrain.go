package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/workflows"
)

type retrainFlags struct {
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
	var f retrainFlags
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

Ctrl-C stops watching; the run goes on.`,
		Example: `  genius retrain --spec cpu-demo
  genius retrain --spec paper --arch 1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0 --wait=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRetrain(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	addClientFlags(fs, &f.client)
	fs.StringVar(&f.spec, "spec", "", "ready retrain spec name ("+strings.Join(retrain.Names(), ", ")+") or JSON file, required")
	fs.StringVar(&f.arch, "arch", "", "override the spec's architecture (comma-separated choices, e.g. the search's best)")
	fs.IntVar(&f.epochs, "epochs", 0, "override the spec's epochs; 0 keeps the spec's")
	fs.BoolVar(&f.wait, "wait", true, "wait for the result, printing epochs; --wait=false prints the workflow ID and returns")
	fs.StringVar(&f.workflowID, "workflow-id", "", "workflow ID (also the checkpoint folder retrain/<id>/ unless the spec sets run); default genius-retrain-<time>-<random>")
	fs.StringVar(&f.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", workflows.TaskQueue), "task queue of the workers that run workflows (env GENIUS_TASK_QUEUE); the training itself runs on the spec's task_queue")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "how often to ask the run for its progress")
	_ = cmd.MarkFlagRequired("spec")
	return cmd
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
		var a []int
		for _, f := range strings.Split(arch, ",") {
			var v int
			if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
				return s, fmt.Errorf("--arch %q: %q is not an integer: give comma-separated choices", arch, f)
			}
			a = append(a, v)
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

func runRetrain(ctx context.Context, f retrainFlags, stdout, stderr io.Writer) error {
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
	done := awaitResult[workflows.RetrainResult](ctx, run)
	printed := 0
	printEpochs := func(eps []activities.RetrainEpoch) {
		for ; printed < len(eps); printed++ {
			e := eps[printed]
			fmt.Fprintf(stderr, "epoch %d/%d  step %d  train loss %.4f  top-1 %.2f%%  top-5 %.2f%%  EMA top-1 %.2f%%  EMA top-5 %.2f%%\n",
				e.Epoch, s.Epochs, e.Step, e.TrainLoss, 100*e.Top1, 100*e.Top5, 100*e.EMATop1, 100*e.EMATop5)
		}
	}
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return &exitError{code: 130, msg: fmt.Sprintf("Stopped watching; the run goes on. Its result:\n  temporal workflow result --workflow-id %s --address %s", id, f.client.Address)}
		case o := <-done:
			if o.err != nil {
				return fmt.Errorf("retraining %s failed: %w", id, o.err)
			}
			printEpochs(o.res.Epochs)
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(o.res)
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := queryProgress[workflows.RetrainProgress](qctx, c, id)
			cancel()
			if err == nil {
				printEpochs(p.Epochs)
			}
		}
	}
}
