package training

import (
	"fmt"
	"slices"
	"strings"

	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/optim"
)

// headSuffixes name the classifier's tensors (nn.Linear); the network's
// last linear layer is its head.
var headSuffixes = []string{".linear.weight", ".linear.bias"}

// headNames are the names of the network's last linear layer's weight and
// bias (params are named by position, "101.linear.bias").
func (r *Run) headNames() map[string]bool {
	last := map[string]string{}
	for _, p := range r.Net.Params() {
		for _, s := range headSuffixes {
			if strings.HasSuffix(p.Name, s) {
				last[s] = p.Name
			}
		}
	}
	names := map[string]bool{}
	for _, n := range last {
		names[n] = true
	}
	return names
}

// LoadBackbone starts transfer learning: it loads every weight and
// batch-norm statistic of a checkpoint of the same architecture (its EMA
// weights when it has them, as the paper transfers the averaged network)
// except the classifier head, which keeps its fresh initialisation for this
// run's classes. The checkpoint may have any class count and input size.
// The optimiser and position are untouched and the EMA restarts from the
// loaded weights. It returns the number of tensors loaded.
func (r *Run) LoadBackbone(c *checkpoint.Checkpoint) (int, error) {
	h := c.Header
	if h.Space != r.Net.Space || !slices.Equal(h.Arch, r.Net.Arch) {
		return 0, fmt.Errorf("training: checkpoint holds %s %v, not %s %v: transfer from a checkpoint of the same architecture",
			h.Space, h.Arch, r.Net.Space, r.Net.Arch)
	}
	if r.dev != nil {
		// The head keeps the device's weights; the optimiser state too.
		if err := r.dev.pull(r); err != nil {
			return 0, err
		}
	}
	head := r.headNames()
	prefix := ""
	if len(r.Net.Params()) > 0 {
		if _, ok := c.Lookup("ema/" + r.Net.Params()[0].Name); ok {
			prefix = "ema/"
		}
	}
	loaded := 0
	load := func(name string, dst []float32) error {
		if head[name] {
			return nil
		}
		if err := c.CopyTo(prefix+name, dst); err != nil {
			return fmt.Errorf("training: %w", err)
		}
		loaded++
		return nil
	}
	for _, p := range r.Net.Params() {
		if err := load(p.Name, p.W); err != nil {
			return loaded, err
		}
	}
	for _, b := range r.Net.Buffers() {
		if err := load(b.Name, b.Data); err != nil {
			return loaded, err
		}
	}
	if r.reps != nil {
		r.reps.tie()
	}
	if r.EMA != nil {
		r.EMA = optim.NewEMA(r.Net.Params(), r.Net.Buffers(), r.EMA.Decay, r.EMA.Interval)
	}
	return loaded, r.pushed()
}
