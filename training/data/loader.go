package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/genius-nas/genius/training/tensor"
)

// Batch is a prepared batch: inputs (3 x N x S x S, channel-major) and
// labels.
type Batch struct {
	X      *tensor.Tensor
	Labels []int
}

// Loader prepares batches of a dataset in background goroutines.
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
	out    chan result
	free   chan *Batch
	cancel context.CancelFunc
	last   *Batch
	wg     sync.WaitGroup
}

type result struct {
	b   *Batch
	err error
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
	ctx, cancel := context.WithCancel(ctx)
	e := &Epoch{out: make(chan result, prefetch), free: make(chan *Batch, prefetch+2), cancel: cancel}
	for i := 0; i < prefetch+2; i++ {
		e.free <- &Batch{X: tensor.New(3, l.Batch, l.Transform.Size, l.Transform.Size), Labels: make([]int, l.Batch)}
	}
	n := l.Data.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if l.Shuffle {
		rand.New(rand.NewPCG(l.Seed, uint64(epoch))).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(e.out)
		for bi := skip; bi < l.Batches(); bi++ {
			idx := order[bi*l.Batch : min((bi+1)*l.Batch, n)]
			var b *Batch
			select {
			case b = <-e.free:
			case <-ctx.Done():
				return
			}
			b.X = tensor.Ensure(b.X, 3, len(idx), l.Transform.Size, l.Transform.Size)
			b.Labels = b.Labels[:len(idx)]
			err := l.fill(b, idx, epoch, workers)
			select {
			case e.out <- result{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return e
}

func (l *Loader) fill(b *Batch, idx []int, epoch, workers int) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One generator per worker, reseeded per sample (a Rand holds
			// no state of its own beyond its source).
			src := rand.NewPCG(0, 0)
			r := rand.New(src)
			// Contiguous ranges: samples are interleaved in memory (batch
			// innermost), so neighbours share cache lines.
			for j := len(idx) * w / workers; j < len(idx)*(w+1)/workers; j++ {
				img, err := l.Data.Image(idx[j])
				if err != nil {
					errs[w] = err
					return
				}
				src.Seed(l.Seed^uint64(epoch)<<32, uint64(idx[j]))
				l.Transform.Apply(img, r, b.X, j)
				b.Labels[j] = l.Data.Label(idx[j])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("data: preparing a batch: %w", err)
		}
	}
	return nil
}

// Next returns the next batch, or nil at the end of the epoch. The batch
// stays valid until the following call to Next or Close.
func (e *Epoch) Next() (*Batch, error) {
	if e.last != nil {
		e.free <- e.last
		e.last = nil
	}
	r, ok := <-e.out
	if !ok {
		return nil, nil
	}
	e.last = r.b
	return r.b, r.err
}

// Close stops the background work and waits for it.
func (e *Epoch) Close() {
	e.cancel()
	for range e.out {
	}
	e.wg.Wait()
}
