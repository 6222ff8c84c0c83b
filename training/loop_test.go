package training

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// loopClassifier is a Classifier of smallConfig on 96 quadrant images:
// 3 steps of 32 (in micro-batches of 16) per epoch, 7 steps in all, so
// the third epoch is cut short by the schedule.
func loopClassifier(t *testing.T, ds data.Dataset) *Classifier {
	t.Helper()
	cfg := smallConfig()
	cfg.MicroBatch, cfg.Steps, cfg.Epochs = 16, 7, 3
	loader := NewLoader(cfg, ds, 1)
	run, err := NewRun(tensor.NewCPU(tensor.CPUOptions{Workers: 1}), cfg, ds.Classes(), loader.Batches())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	return &Classifier{Run: run, Loader: loader}
}

// recorder is a Loop whose hooks log what they see; it saves everywhere.
func recorder(until int, log *[]string) *Loop {
	pos := func(p Position) string { return fmt.Sprintf("%d/%d+%d", p.Step, p.Epoch, p.StepInEpoch) }
	return &Loop{Until: until,
		Progress: func(p Progress) { *log = append(*log, fmt.Sprintf("step %d/%d", p.Step, p.TotalSteps)) },
		SaveNow: func(p Position, epochEnd bool) bool {
			*log = append(*log, fmt.Sprintf("save? %s %v", pos(p), epochEnd))
			return true
		},
		Save: func(_ context.Context, c *checkpoint.Checkpoint) error {
			h := c.Header
			*log = append(*log, "save "+pos(Position{h.Step, h.Epoch, h.StepInEpoch}))
			return nil
		},
		EpochEnd: func(_ context.Context, e EpochSummary) error {
			if e.TrainLoss <= 0 || e.ImagesPerS <= 0 {
				return fmt.Errorf("epoch %d summary %+v", e.Epoch, e)
			}
			*log = append(*log, fmt.Sprintf("epoch %d partial %v", e.Epoch, e.Partial))
			return nil
		},
	}
}

// A loop stopped mid-epoch (the end of a chunk) and run on carries on with
// the same batches: it ends with the weights of one uninterrupted loop.
// The hooks come in order: progress, then the save policy after a step;
// at an epoch's end (and the schedule's mid-epoch end) the save policy
// again, then the epoch's summary.
func TestLoopChunksMatchOneLoop(t *testing.T) {
	ctx := context.Background()
	ds := quadrants{n: 96, seed: 1}
	whole := loopClassifier(t, ds)
	if _, err := (&Loop{}).Run(ctx, whole); err != nil {
		t.Fatal(err)
	}

	var first, rest []string
	c := loopClassifier(t, ds)
	done, err := recorder(5, &first).Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Position(); p != (Position{5, 1, 2}) || done.Images != 5*32 {
		t.Fatalf("first chunk stopped at %+v after %d images, want step 5 (epoch 1 + 2) and 160 images", p, done.Images)
	}
	want := []string{
		"step 1/7", "save? 1/0+1 false", "save 1/0+1",
		"step 2/7", "save? 2/0+2 false", "save 2/0+2",
		"step 3/7", "save? 3/0+3 false", "save 3/0+3",
		"save? 3/1+0 true", "save 3/1+0", "epoch 1 partial false",
		"step 4/7", "save? 4/1+1 false", "save 4/1+1",
		"step 5/7", "save? 5/1+2 false", "save 5/1+2",
	}
	if !slices.Equal(first, want) {
		t.Errorf("first chunk:\n got %q\nwant %q", first, want)
	}
	done, err = recorder(0, &rest).Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"step 6/7", "save? 6/1+3 false", "save 6/1+3",
		"save? 6/2+0 true", "save 6/2+0", "epoch 2 partial false",
		"step 7/7", "save? 7/2+1 false", "save 7/2+1",
		"save? 7/2+1 true", "save 7/2+1", "epoch 3 partial true",
	}
	if !slices.Equal(rest, want) {
		t.Errorf("rest:\n got %q\nwant %q", rest, want)
	}
	if done.Images != 2*32 || done.ImagesPerS() <= 0 {
		t.Errorf("rest trained %d images (%v/s), want 64", done.Images, done.ImagesPerS())
	}
	for i, p := range whole.Run.Net.Params() {
		if !slices.Equal(p.W, c.Run.Net.Params()[i].W) {
			t.Fatalf("%s differs between one loop and a loop stopped at step 5 and run on", p.Name)
		}
	}
	if c.MeanLoss() != whole.MeanLoss() || c.Position() != whole.Position() {
		t.Errorf("chunked %+v loss %v, whole %+v loss %v", c.Position(), c.MeanLoss(), whole.Position(), whole.MeanLoss())
	}
}

// mislabelled has one label outside its classes.
type mislabelled struct{ quadrants }

func (m mislabelled) Label(i int) int {
	if i == 40 {
		return 9
	}
	return m.quadrants.Label(i)
}

// A step that fails on its data is a *StepError that says why; the
// context ends a loop between steps with its own error, and a failed save
// ends it too.
func TestLoopErrors(t *testing.T) {
	ctx := context.Background()
	var ends int
	onEnd := func(context.Context, EpochSummary) error { ends++; return nil }
	_, err := (&Loop{EpochEnd: onEnd}).Run(ctx, loopClassifier(t, mislabelled{quadrants{n: 96, seed: 1}}))
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "label 9 outside") {
		t.Errorf("mislabelled data: %v (%T), want a StepError naming the label", err, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := loopClassifier(t, quadrants{n: 96, seed: 1})
	_, err = (&Loop{EpochEnd: onEnd, Progress: func(p Progress) {
		if p.Step == 2 {
			cancel()
		}
	}}).Run(cctx, c)
	if !errors.Is(err, context.Canceled) || errors.As(err, &se) || c.Position().Step != 2 {
		t.Errorf("cancelled at step 2: %v at %+v", err, c.Position())
	}

	full := errors.New("disk full")
	c = loopClassifier(t, quadrants{n: 96, seed: 1})
	_, err = (&Loop{EpochEnd: onEnd, SaveNow: func(p Position, _ bool) bool { return p.Step == 4 },
		Save: func(context.Context, *checkpoint.Checkpoint) error { return full }}).Run(ctx, c)
	if !errors.Is(err, full) || c.Position().Step != 4 {
		t.Errorf("failed save at step 4: %v at %+v", err, c.Position())
	}
	if ends != 1 {
		t.Errorf("%d epoch ends, want 1 (the run whose save failed in its second epoch)", ends)
	}
}
