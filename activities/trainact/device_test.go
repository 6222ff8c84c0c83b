package trainact

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/training"
)

// What the device path cannot run fails for good, saying to use a CPU
// worker; other errors are left to the callers' own handling.
func TestDeviceFailure(t *testing.T) {
	err := deviceFailure("retrain on cuda:0", fmt.Errorf("layer x: %w", training.ErrDeviceUnsupported), "micro_batch")
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != activities.ErrDeviceUnsupported {
		t.Fatalf("unsupported: %#v, want a non-retryable %s", err, activities.ErrDeviceUnsupported)
	}
	for _, part := range []string{"retrain on cuda:0", "layer x", "--backend cpu"} {
		if !strings.Contains(ae.Error(), part) {
			t.Errorf("%q lacks %q", ae.Error(), part)
		}
	}
	for _, e := range []error{nil, errors.New("disk full"), &training.SettingError{Setting: "Batch", Err: errors.New("too big")}} {
		if got := deviceFailure("x", e, "micro_batch"); got != nil {
			t.Errorf("deviceFailure(%v) = %v, want nil", e, got)
		}
	}
}

func TestDivisorUpTo(t *testing.T) {
	for _, tc := range []struct{ batch, micro, want int }{
		{1024, 256, 256}, {2048, 256, 256}, {16, 6, 4}, {16, 16, 0}, {16, 64, 0}, {7, 3, 1}, {1, 4, 0}, {12, 5, 4},
	} {
		if got := divisorUpTo(tc.batch, tc.micro); got != tc.want {
			t.Errorf("divisorUpTo(%d, %d) = %d, want %d", tc.batch, tc.micro, got, tc.want)
		}
	}
}

// A worker's micro-batch applies to candidates whose input sets none, and
// names their checkpoints apart from whole-batch ones; an input's own
// micro-batch wins.
func TestProxyTrainWorkerMicroBatch(t *testing.T) {
	dataDir := t.TempDir()
	writeCIFAR(t, dataDir, 24)
	st := dirStore(t)
	acts := &TrainingActivities{Store: st, MicroBatch: 6}
	in := proxyInput(dataDir) // batch 16: micro-batches of 4
	in.Steps = 1
	_, res, err := proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	want := proxyDefaults(in)
	want.MicroBatch = 4
	if !strings.HasPrefix(res.Checkpoint, checkpointPrefix(want)) {
		t.Errorf("checkpoint %s, want it under %s (micro-batch 4)", res.Checkpoint, checkpointPrefix(want))
	}
	if ck := mustLoad(t, st, res.Checkpoint); !strings.Contains(string(ck.Header.Config), `"micro_batch":4`) {
		t.Errorf("the run trained with %s, want micro_batch 4", ck.Header.Config)
	}
	if res.Backend == "" {
		t.Error("result does not name its backend")
	}
	in.MicroBatch = 8
	_, res, err = proxyRun(t, acts, in, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Checkpoint, checkpointPrefix(proxyDefaults(in))) {
		t.Errorf("checkpoint %s: the input's micro-batch 8 did not win", res.Checkpoint)
	}
}
