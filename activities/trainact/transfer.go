package trainact

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"go.temporal.io/sdk/activity"
)

// loadBackbone starts a transfer run (spec from_checkpoint) from the
// weights of the checkpoint at key, with the run's fresh classifier head.
// A key that is not in the store or holds another architecture is a spec
// error; a store that cannot be read is retried.
func (c *chunkRun) loadBackbone(ctx context.Context, key string) error {
	stop := c.keepAlive()
	ck, err := c.a.load(ctx, key)
	stop()
	if errors.Is(err, fs.ErrNotExist) {
		return badSpec(fmt.Errorf("from_checkpoint %q is not in the checkpoint store %s: give the key of a stored checkpoint (a GeniusRetrain result's best_checkpoint)", key, c.a.Store))
	}
	if err != nil {
		return fmt.Errorf("transfer: reading from_checkpoint %s: %w", key, err)
	}
	n, err := c.run.loadBackbone(ck)
	if err != nil {
		return badSpec(fmt.Errorf("from_checkpoint %s: %w", key, err))
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("transfer: loaded backbone", "checkpoint", key, "tensors", n)
	}
	return nil
}
