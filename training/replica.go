package training

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// Data-parallel training on CPU cores: each replica is a copy of the
// network (own activations and gradients, weights shared with the leader)
// running serially on its slice of the batch on its own core; batch norm
// sums its statistics across replicas (synchronised batch norm), and the
// replicas' gradients are summed before the optimiser step. Measured on 2
// cores this beats splitting every operation across cores, which hands
// each buffer between the cores' caches and was slower than one core.

// group is the rendezvous of R replicas for AllReduce.
type group struct {
	n int
	// solo makes AllReduce a no-op while the leader runs alone (a batch
	// too small to split). Set only between steps.
	solo bool
	// arrived[r] counts replica r's AllReduce calls; padded so replicas do
	// not share a cache line.
	arrived []paddedCounter
	// buf[parity][r] holds replica r's values of its last two calls.
	buf [2][][]float64
}

type paddedCounter struct {
	atomic.Uint64
	// sleeping is set while the replica is parked on wake.
	sleeping atomic.Bool
	wake     chan struct{}
	_        [40]byte
}

// spinFor is how long a replica busy-waits for the others before parking:
// long enough to cover the usual imbalance within a layer, short enough
// not to burn a core when another process has taken the partner's.
const spinFor = 50 * time.Microsecond

func newGroup(n int) *group {
	g := &group{n: n, arrived: make([]paddedCounter, n)}
	for i := range g.arrived {
		g.arrived[i].wake = make(chan struct{}, 1)
	}
	g.buf[0] = make([][]float64, n)
	g.buf[1] = make([][]float64, n)
	return g
}

// reducer is replica id's view of a group.
type reducer struct {
	g  *group
	id int
}

// AllReduce implements nn.Reducer. Two buffers alternate: a replica can
// only start call c+2 after every replica has arrived at call c+1, that is
// finished reading call c's buffers.
func (r reducer) AllReduce(vals []float64) {
	g := r.g
	if g.solo {
		return
	}
	c := g.arrived[r.id].Load()
	p := c & 1
	if cap(g.buf[p][r.id]) < len(vals) {
		g.buf[p][r.id] = make([]float64, len(vals))
	}
	g.buf[p][r.id] = g.buf[p][r.id][:len(vals)]
	copy(g.buf[p][r.id], vals)
	g.arrived[r.id].Store(c + 1)
	for o := range g.arrived {
		if o != r.id && g.arrived[o].sleeping.Load() {
			select {
			case g.arrived[o].wake <- struct{}{}:
			default:
			}
		}
	}
	g.wait(r.id, c+1)
	// Sum in replica order so every replica gets bit-identical results.
	clear(vals)
	for o := 0; o < g.n; o++ {
		for i, v := range g.buf[p][o][:len(vals)] {
			vals[i] += v
		}
	}
}

// wait returns once every replica has made `calls` calls: busy-waiting
// first, then parked until an arriving replica wakes it.
func (g *group) wait(id int, calls uint64) {
	all := func() bool {
		for o := range g.arrived {
			if g.arrived[o].Load() < calls {
				return false
			}
		}
		return true
	}
	var start time.Time
	for spins := 0; !all(); spins++ {
		if spins&63 != 63 {
			continue
		}
		if start.IsZero() {
			start = time.Now()
			continue
		}
		if time.Since(start) < spinFor {
			continue
		}
		// Park. Announce it first, then look again: an arrival either
		// sees the announcement and wakes us, or happened before it and
		// the look sees it.
		me := &g.arrived[id]
		me.sleeping.Store(true)
		if all() {
			me.sleeping.Store(false)
			return
		}
		<-me.wake
		me.sleeping.Store(false)
	}
}

// replicas are the networks of a data-parallel run; [0] is the leader.
type replicas struct {
	group  *group
	nets   []*networks.Network
	xs     []*tensor.Tensor
	dlog   []*tensor.Tensor
	losses []float64
	be     tensor.Backend // multi-worker, for the gradient sum
	offs   []int          // prefix sums of parameter sizes
}

// newReplicas builds n copies of the network on serial backends and ties
// them to the leader: shared weights and running statistics, synchronised
// batch norm.
func newReplicas(be *tensor.CPU, n int, build func(be tensor.Backend) (*networks.Network, error)) (*replicas, error) {
	rs := &replicas{be: be, xs: make([]*tensor.Tensor, n), dlog: make([]*tensor.Tensor, n), losses: make([]float64, n)}
	g := newGroup(n)
	rs.group = g
	for i := 0; i < n; i++ {
		net, err := build(be.Serial())
		if err != nil {
			return nil, err
		}
		for _, b := range net.BatchNorms() {
			b.Sync = reducer{g: g, id: i}
			b.Follower = i > 0
		}
		rs.nets = append(rs.nets, net)
	}
	rs.tie()
	rs.offs = make([]int, len(rs.nets[0].Params())+1)
	for i, p := range rs.nets[0].Params() {
		rs.offs[i+1] = rs.offs[i] + len(p.W)
	}
	return rs, nil
}

// tie points the followers' weights and running statistics at the
// leader's current slices (again after an EMA swap).
func (rs *replicas) tie() {
	lead := rs.nets[0]
	for _, net := range rs.nets[1:] {
		for j, p := range net.Params() {
			p.W = lead.Params()[j].W
		}
		for j, b := range net.Buffers() {
			b.Data = lead.Buffers()[j].Data
		}
	}
}

// split copies replica r's share of the batch (samples r*n/R..) into its
// own tensor.
func (rs *replicas) split(x *tensor.Tensor, r int) *tensor.Tensor {
	R := len(rs.nets)
	lo, hi := x.N*r/R, x.N*(r+1)/R
	rs.xs[r] = tensor.Ensure(rs.xs[r], x.C, hi-lo, x.H, x.W)
	dst := rs.xs[r]
	rows := x.C * x.H * x.W
	for i := 0; i < rows; i++ {
		copy(dst.Data[i*dst.N:(i+1)*dst.N], x.Data[i*x.N+lo:i*x.N+hi])
	}
	return dst
}

// step runs forward and backward on every replica's share of the batch
// and leaves the summed gradients, scaled by scale, in the leader's
// parameters; it returns the batch's mean loss. Labels must already be
// checked.
func (rs *replicas) step(x *tensor.Tensor, labels []int, smoothing float64, scale float32) float64 {
	R := len(rs.nets)
	// Followers' dropout draws from a generator seeded by the leader's, so
	// the leader's state (saved in checkpoints) determines them all.
	lead := rand.New(rs.nets[0].Source)
	for r := 1; r < R; r++ {
		rs.nets[r].Source.Seed(lead.Uint64(), lead.Uint64())
	}
	var wg sync.WaitGroup
	run := func(r int) {
		lo, hi := x.N*r/R, x.N*(r+1)/R
		net := rs.nets[r]
		logits := net.Forward(rs.split(x, r), true)
		rs.dlog[r] = tensor.Ensure(rs.dlog[r], logits.C, logits.N, 1, 1)
		loss, _ := nn.SoftmaxCrossEntropy(logits, labels[lo:hi], smoothing, rs.dlog[r])
		// Each replica's loss is a mean over its share; the batch mean
		// weights them by their sizes.
		w := float64(hi-lo) / float64(x.N)
		gw := float32(w) * scale
		for i := range rs.dlog[r].Data {
			rs.dlog[r].Data[i] *= gw
		}
		rs.losses[r] = loss * w
		net.Backward(rs.dlog[r])
	}
	for r := 1; r < R; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(r)
		}()
	}
	run(0)
	wg.Wait()
	// Sum the followers' gradients into the leader's.
	params := make([][]*nn.Param, R)
	for r := range rs.nets {
		params[r] = rs.nets[r].Params()
	}
	rs.be.For(rs.offs[len(rs.offs)-1], 1<<16, func(lo, hi int) {
		for i := 0; i < len(params[0]) && rs.offs[i] < hi; i++ {
			a, b := max(lo-rs.offs[i], 0), min(hi-rs.offs[i], len(params[0][i].G))
			if a >= b {
				continue
			}
			dst := params[0][i].G[a:b]
			for r := 1; r < R; r++ {
				for j, v := range params[r][i].G[a:b] {
					dst[j] += v
				}
			}
		}
	})
	var loss float64
	for _, l := range rs.losses {
		loss += l
	}
	return loss
}

// forward runs evaluation-mode forward passes of every replica on its
// share of the batch and returns the logits per replica.
func (rs *replicas) forward(x *tensor.Tensor) []*tensor.Tensor {
	R := len(rs.nets)
	out := make([]*tensor.Tensor, R)
	var wg sync.WaitGroup
	for r := 1; r < R; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[r] = rs.nets[r].Forward(rs.split(x, r), false)
		}()
	}
	out[0] = rs.nets[0].Forward(rs.split(x, 0), false)
	wg.Wait()
	return out
}
