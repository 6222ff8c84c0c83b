package data

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/genius-nas/genius/training/tensor"
)

// Batch is a prepared batch: inputs (3 x N x S x S, channel-major) and
// labels.
type Batch struct {
	X      *tensor.Tensor
	Labels []int
}

// Allocator provides the host memory batches are prepared in. A device
// backend supplies page-locked (pinned) memory here, so that copying a
// batch to the device runs asynchronously while the previous one computes.
type Allocator interface {
	Alloc(n int) ([]float32, error)
	Free(buf []float32)
}

// heapAllocator is the default Allocator: Go memory.
type heapAllocator struct{}

func (heapAllocator) Alloc(n int) ([]float32, error) { return make([]float32, n), nil }
func (heapAllocator) Free([]float32)                 {}

// Loader prepares batches of a dataset in background goroutines: a pool of
// workers decodes and augments samples into a bounded set of reusable
// batch buffers, up to Prefetch batches ahead of the consumer.
type Loader struct {
	Data      Dataset
	Batch     int
	Transform Transform
	// Shuffle reorders the samples every epoch (training).
	Shuffle bool
	// DropLast skips a final partial batch (training keeps shapes fixed).
	DropLast bool
	// Seed fixes the order and the augmentation: sample i of epoch e is
	// transformed with the same randomness however the work is scheduled.
	Seed uint64
	// Workers decoding in parallel. Default 2.
	Workers int
	// Prefetch is the number of batches prepared ahead. Default 2.
	Prefetch int
	// Alloc provides the batch buffers. Default: Go memory.
	Alloc Allocator
}

// Batches is the number of batches in one epoch.
func (l *Loader) Batches() int {
	n := l.Data.Len() / l.Batch
	if !l.DropLast && l.Data.Len()%l.Batch != 0 {
		n++
	}
	return n
}

// Epoch is one pass of a Loader; read it with Next and Close it.
type Epoch struct {
	ctx    context.Context
	cancel context.CancelFunc
	alloc  Allocator
	bufs   []*Batch    // every buffer, freed by Close
	ready  chan *job   // jobs in batch order, for Next
	free   chan *Batch // buffers Next has handed back
	last   *Batch
	err    error // a setup error, returned by Next
	wg     sync.WaitGroup
	closed bool
}

// job is one batch being prepared: its buffer, sample indices and the
// chunks of samples still to do.
type job struct {
	b       *Batch
	idx     []int
	pending atomic.Int32
	done    chan struct{}
	mu      sync.Mutex
	errAt   int // sample position of err, so the first failure is reported
	err     error
}

// task is a chunk of a job's samples for one worker.
type task struct {
	j      *job
	lo, hi int
}

// chunkFor is how many consecutive samples of a batch a worker takes at
// once: up to 16, a cache line of float32 in the batch-innermost layout,
// so workers do not share lines; fewer when the batch is small, so every
// worker gets some.
func chunkFor(batch, workers int) int {
	return max(1, min(16, (batch+workers-1)/workers))
}

// Start begins preparing the batches of epoch (0-based), skipping the
// first skip batches (resuming mid-epoch).
func (l *Loader) Start(ctx context.Context, epoch, skip int) *Epoch {
	workers, prefetch := l.Workers, l.Prefetch
	if workers <= 0 {
		workers = 2
	}
	if prefetch <= 0 {
		prefetch = 2
	}
	alloc := l.Alloc
	if alloc == nil {
		alloc = heapAllocator{}
	}
	ctx, cancel := context.WithCancel(ctx)
	nbuf := prefetch + 1 // one more for the batch the consumer holds
	e := &Epoch{ctx: ctx, cancel: cancel, alloc: alloc, ready: make(chan *job, nbuf), free: make(chan *Batch, nbuf)}
	s := l.Transform.Size
	for i := 0; i < nbuf; i++ {
		data, err := alloc.Alloc(3 * l.Batch * s * s)
		if err != nil {
			e.err = fmt.Errorf("data: allocating batch buffers (%d of %d x 3x%dx%d floats): %w", nbuf, l.Batch, s, s, err)
			close(e.ready)
			return e
		}
		b := &Batch{X: &tensor.Tensor{C: 3, N: l.Batch, H: s, W: s, Data: data[:3*l.Batch*s*s]}, Labels: make([]int, l.Batch)}
		e.bufs = append(e.bufs, b)
		e.free <- b
	}
	n := l.Data.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if l.Shuffle {
		rand.New(rand.NewPCG(l.Seed, uint64(epoch))).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	chunk := chunkFor(l.Batch, workers)
	tasks := make(chan task, nbuf*((l.Batch+chunk-1)/chunk))
	tr := l.Transform.withDefaults()
	e.wg.Add(1 + workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer e.wg.Done()
			l.work(ctx, tr, epoch, chunk, tasks)
		}()
	}
	go func() {
		defer e.wg.Done()
		defer close(e.ready)
		defer close(tasks)
		for bi := skip; bi < l.Batches(); bi++ {
			var b *Batch
			select {
			case b = <-e.free:
			case <-ctx.Done():
				return
			}
			idx := order[bi*l.Batch : min((bi+1)*l.Batch, n)]
			b.X = tensor.Ensure(b.X, 3, len(idx), s, s)
			b.Labels = b.Labels[:len(idx)]
			j := &job{b: b, idx: idx, done: make(chan struct{}), errAt: len(idx)}
			nt := (len(idx) + chunk - 1) / chunk
			j.pending.Store(int32(nt))
			e.ready <- j // never blocks: at most nbuf jobs exist
			for lo := 0; lo < len(idx); lo += chunk {
				tasks <- task{j, lo, min(lo+chunk, len(idx))} // never blocks, as above
			}
		}
	}()
	return e
}

// work prepares chunks of samples until tasks closes or ctx ends. Each
// sample goes into a staging tensor of its own (contiguous writes), then
// the chunk is interleaved into the batch a cache line at a time.
func (l *Loader) work(ctx context.Context, tr Transform, epoch, chunk int, tasks <-chan task) {
	src := rand.NewPCG(0, 0)
	r := rand.New(src)
	var sc Scratch
	aug := newAugImage(tr.Size, tr.Size, [3]uint8{})
	stage := make([]*tensor.Tensor, chunk)
	for k := range stage {
		stage[k] = tensor.New(3, 1, tr.Size, tr.Size)
	}
	for {
		var t task
		var ok bool
		select {
		case t, ok = <-tasks:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		j := t.j
		failed := false
		for k := t.lo; k < t.hi && !failed; k++ {
			i := j.idx[k]
			// One generator per worker, reseeded per sample (a Rand holds no
			// state of its own beyond its source).
			src.Seed(l.Seed^uint64(epoch)<<32, uint64(i))
			var c cropBox
			img, v, err := imageRegion(l.Data, i, func(w, h int) Region {
				c = tr.crop(w, h, r)
				return tr.region(c, w, h)
			}, &sc)
			if err != nil {
				j.fail(k, err)
				failed = true
				break
			}
			tr.render(img, v, c, r, stage[k-t.lo], 0, aug)
			j.b.Labels[k] = l.Data.Label(i)
		}
		if !failed {
			interleave(j.b.X, stage[:t.hi-t.lo], t.lo)
		}
		if j.pending.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// interleave copies single-sample tensors into out as samples lo, lo+1,
// ... a tile of positions at a time: each sample's part is read in order
// while the tile's output lines stay in cache until they are full.
func interleave(out *tensor.Tensor, stage []*tensor.Tensor, lo int) {
	const tile = 256
	n, size := out.N, len(stage[0].Data)
	for p0 := 0; p0 < size; p0 += tile {
		p1 := min(p0+tile, size)
		for k, st := range stage {
			dst := out.Data[p0*n+lo+k:]
			for q, v := range st.Data[p0:p1] {
				dst[q*n] = v
			}
		}
	}
}

// fail records err for sample position k, keeping the earliest.
func (j *job) fail(k int, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if k < j.errAt {
		j.errAt, j.err = k, err
	}
}

// Next returns the next batch, or nil at the end of the epoch. The batch
// stays valid until the following call to Next or Close: a device backend
// starts copying it, then calls Next for the one to compute on next.
func (e *Epoch) Next() (*Batch, error) {
	if e.closed {
		return nil, errors.New("data: Next on a closed epoch")
	}
	if e.err != nil {
		return nil, e.err
	}
	if e.last != nil {
		e.free <- e.last
		e.last = nil
	}
	var j *job
	var ok bool
	select {
	case j, ok = <-e.ready:
		if !ok {
			return nil, e.ctx.Err()
		}
	case <-e.ctx.Done():
		return nil, e.ctx.Err()
	}
	select {
	case <-j.done:
	case <-e.ctx.Done():
		return nil, e.ctx.Err()
	}
	if j.err != nil {
		e.err = fmt.Errorf("data: preparing a batch: %w", j.err)
		e.cancel()
		return nil, e.err
	}
	e.last = j.b
	return j.b, nil
}

// Close stops the background work, waits for it and frees the buffers.
func (e *Epoch) Close() {
	if e.closed {
		return
	}
	e.closed = true
	e.cancel()
	e.wg.Wait()
	for _, b := range e.bufs {
		e.alloc.Free(b.X.Data[:cap(b.X.Data)])
	}
	e.bufs, e.last = nil, nil
}
