package trainact

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/storage"
)

// A chunk whose loss blows up fails without retries (a retry from the same
// checkpoint would blow up the same way), saying what to change.
func TestRetrainChunkDivergesWithoutRetry(t *testing.T) {
	s := tinyRetrainSpec(t)
	s.LR = 1e12
	st, _ := storage.NewDir(t.TempDir())
	a := &RetrainActivities{Store: st}
	_, err := a.RetrainChunk(context.Background(), activities.RetrainChunkInput{Spec: s, CheckpointRun: "diverges", UntilEpoch: 1})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrRetrainDiverged || !ae.NonRetryable() || !strings.Contains(err.Error(), "lower the learning rate") {
		t.Fatalf("err = %v (%T), want a non-retryable %s naming the learning rate", err, err, activities.ErrRetrainDiverged)
	}
}
