package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The floor: the least a workflow can spend per iteration on this server
// when each iteration is one regular activity, as a search's LLM call is.
// BenchmarkSearchOverhead runs it beside each search so that the machine's
// load cancels out of their ratio.

const floorWorkflowName = "BenchFloor"

func floorActivity(context.Context, int) (int, error) { return 0, nil }

func floorWorkflow(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for i := range n {
		if err := workflow.ExecuteActivity(ctx, floorActivity, i).Get(ctx, nil); err != nil {
			return i, err
		}
	}
	return n, nil
}

// startFloorWorker runs a worker for floorWorkflow on a queue of its own.
func startFloorWorker(b *testing.B, c client.Client) string {
	q := queue(b) + "-floor"
	w := worker.New(c, q, worker.Options{})
	w.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: floorWorkflowName})
	w.RegisterActivity(floorActivity)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	return q
}

// runFloor runs one floor workflow of n activities and returns its time.
func runFloor(b *testing.B, c client.Client, q string, n int) time.Duration {
	t0 := time.Now()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: fmt.Sprintf("floor-%s-%d", q, benchRuns.Add(1)), TaskQueue: q,
	}, floorWorkflowName, n)
	if err != nil {
		b.Fatal(err)
	}
	var got int
	if err := run.Get(context.Background(), &got); err != nil || got != n {
		b.Fatalf("floor workflow: %d activities, %v", got, err)
	}
	return time.Since(t0)
}
