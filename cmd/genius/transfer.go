package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/transfer"
	"github.com/genius-nas/genius/workflows"
)

// transferOptions are genius transfer's flags.
type transferOptions struct {
	client     clientFlags
	spec       string
	checkpoint string
	arch       string
	data       string
	input      int
	epochs     int
	wait       bool
	workflowID string
	taskQueue  string
	poll       time.Duration
}

// AddFlags registers the options on fs.
func (o *transferOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &o.client)
	fs.StringVar(&o.spec, "spec", "", "ready transfer spec name ("+strings.Join(transfer.Names(), ", ")+") or JSON file, required")
	fs.StringVar(&o.checkpoint, "checkpoint", "", "store key of the weights to fine-tune (a GeniusRetrain result's best_checkpoint); overrides the spec's from_checkpoint")
	fs.StringVar(&o.arch, "arch", "", "override the spec's architecture (comma-separated choices): the one the checkpoint holds")
	fs.StringVar(&o.data, "data", "", "override the spec's data.dir: the CIFAR binary folder (or, task detection, the COCO folder) on the GPU workers")
	fs.IntVar(&o.input, "input", 0, "override the spec's input resolution (the 32x32 images are upsampled to it); 0 keeps the spec's")
	fs.IntVar(&o.epochs, "epochs", 0, "override the spec's epochs; 0 keeps the spec's")
	fs.BoolVar(&o.wait, "wait", true, "wait for the result, printing epochs; --wait=false prints the workflow ID and returns")
	fs.StringVar(&o.workflowID, "workflow-id", "", "workflow ID (also the checkpoint folder retrain/<id>/ unless the spec sets run); default genius-transfer-<time>-<random>")
	fs.StringVar(&o.taskQueue, "task-queue", envOr("GENIUS_TASK_QUEUE", workflows.TaskQueue), "task queue of the workers that run workflows (env GENIUS_TASK_QUEUE); the training itself runs on the spec's task_queue")
	fs.DurationVar(&o.poll, "poll", 2*time.Second, "how often to ask the run for its progress")
}

func newTransferCmd() *cobra.Command {
	var o transferOptions
	cmd := &cobra.Command{
		Use:   "transfer --spec NAME|FILE [--checkpoint KEY]",
		Short: "Fine-tune retrained weights on CIFAR-10/100 or train a RetinaNet on them on COCO (workflow GeniusTransfer), show its epochs and print its result",
		Long: `Start workflow GeniusTransfer with a transfer spec: a ready one by name
(` + strings.Join(transfer.Names(), ", ") + `) or a JSON file. It loads the
backbone from a checkpoint in the workers' checkpoint store (--checkpoint, e.g.
the best_checkpoint of genius retrain's result), puts a new classifier head on
it for the dataset's classes and fine-tunes on the GPU workers' queue
(genius-gpu), durable like retraining: chunks, checkpoints in the store,
resume after a crash. The result JSON (top1, top5 on the test split) goes to
stdout. A spec with "task": "detection" (coco, coco-cpu-demo) trains a
RetinaNet on the checkpoint's network as backbone on a COCO folder instead;
its epochs and result carry the 12 COCO bbox stats on val2017.

The same run can be started with the Temporal CLI alone:
  temporal workflow start --type GeniusTransfer --task-queue genius --input-file my-transfer.json

Ctrl-C stops watching; the run goes on.`,
		Example: `  genius data cifar --synthetic /tmp/cifar
  genius transfer --spec cpu-demo --data /tmp/cifar --checkpoint retrain/my-run/step-000000032.ckpt
  genius transfer --spec cifar100 --data /data/cifar-100-binary --checkpoint KEY --wait=false
  genius data coco --synthetic /tmp/coco --train 96
  genius transfer --spec coco-cpu-demo --data /tmp/coco --checkpoint KEY`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTransfer(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("spec")
	return cmd
}

// load reads the spec and applies the overrides.
func (o transferOptions) load() (retrain.Spec, error) {
	s, err := transfer.Load(o.spec)
	if err != nil {
		return s, err
	}
	if o.checkpoint != "" {
		s.FromCheckpoint = o.checkpoint
	}
	if o.arch != "" {
		var a []int
		for _, f := range strings.Split(o.arch, ",") {
			var v int
			if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
				return s, fmt.Errorf("--arch %q: %q is not an integer: give comma-separated choices", o.arch, f)
			}
			a = append(a, v)
		}
		s.Arch = a
	}
	if o.data != "" {
		s.Data.Dir = o.data
	}
	if o.input > 0 {
		s.Input = o.input
	}
	if o.epochs > 0 {
		s.Epochs = o.epochs
		s.ChunkEpochs = min(s.ChunkEpochs, o.epochs)
		s.WarmupEpochs = min(s.WarmupEpochs, float64(o.epochs))
	}
	if err := transfer.Validate(s); err != nil {
		if s.FromCheckpoint == "" {
			return s, fmt.Errorf("%w\n(give --checkpoint KEY; genius checkpoints lists a run's keys)", err)
		}
		return s, err
	}
	return s, nil
}

func runTransfer(ctx context.Context, o transferOptions, stdout, stderr io.Writer) error {
	s, err := o.load()
	if err != nil {
		return err
	}
	id := o.workflowID
	if id == "" {
		id = newWorkflowID("transfer")
	}
	c, err := o.client.dial(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: o.taskQueue},
		workflows.TransferName, workflows.TransferInput{Spec: s})
	if err != nil {
		return fmt.Errorf("start transfer: %w", err)
	}
	fmt.Fprintf(stderr, "Started %s workflow %s (run %s): %s from %s; training on task queue %s.\n",
		workflows.TransferName, run.GetID(), run.GetRunID(), s.Data.Format, s.FromCheckpoint, s.TaskQueue)
	if !o.wait {
		fmt.Fprintln(stdout, run.GetID())
		return nil
	}
	done := awaitResult[workflows.TransferResult](ctx, run)
	printed := 0
	printEpochs := func(eps []activities.RetrainEpoch) {
		for ; printed < len(eps); printed++ {
			e := eps[printed]
			if c := e.COCO; c != nil {
				fmt.Fprintf(stderr, "epoch %d/%d  step %d  train loss %.4f  AP %.3f  AP50 %.3f  AP75 %.3f\n",
					e.Epoch, s.Epochs, e.Step, e.TrainLoss, c.AP, c.AP50, c.AP75)
				continue
			}
			fmt.Fprintf(stderr, "epoch %d/%d  step %d  train loss %.4f  top-1 %.2f%%  top-5 %.2f%%\n",
				e.Epoch, s.Epochs, e.Step, e.TrainLoss, 100*e.EMATop1, 100*e.EMATop5)
		}
	}
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return &exitError{code: 130, msg: fmt.Sprintf("Stopped watching; the run goes on. Its result:\n  temporal workflow result --workflow-id %s --address %s", id, o.client.Address)}
		case r := <-done:
			if r.err != nil {
				return fmt.Errorf("transfer %s failed: %w", id, r.err)
			}
			printEpochs(r.res.Epochs)
			if c := r.res.COCO; c != nil {
				fmt.Fprintf(stderr, "%s AP %.3f (AP50 %.3f, AP75 %.3f) at epoch %d\n", r.res.Dataset, c.AP, c.AP50, c.AP75, r.res.BestEpoch)
			} else {
				fmt.Fprintf(stderr, "%s top-1 %.2f%% (top-5 %.2f%%) at epoch %d\n", r.res.Dataset, 100*r.res.Top1, 100*r.res.Top5, r.res.BestEpoch)
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(r.res)
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
