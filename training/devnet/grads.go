package devnet

import "github.com/genius-nas/genius/training/cuda/kernels"

// Gradient buffers are planned at compile time: a forward output stays
// until the backward pass has read it, but a gradient is dead once the
// layer before has turned it into its own, so a handful of buffers serve
// the whole backward pass (a dozen layers' worth at most, where the CPU
// engine keeps one per layer).

// Buffer references in a plan.
const (
	external = -1 // the logits' gradient, not the plan's to reuse
	noGrad   = -2 // no input gradient (the network's first convolution)
)

// gradPlan hands out gradient buffers as the backward pass would use
// them, reference counted, reusing dead ones.
type gradPlan struct {
	bufs []gradBuf
	// naive is what a buffer per layer would take: values per sample.
	naive int
}

type gradBuf struct {
	size int // values per sample: the largest use
	refs int
	fix  []*kernels.Ptr // node fields that get the buffer's address
}

// get returns a buffer of size values per sample, not in use, whose
// address will go to *fix.
func (p *gradPlan) get(size int, fix *kernels.Ptr) int {
	p.naive += size
	best := -1
	for i, b := range p.bufs {
		if b.refs > 0 {
			continue
		}
		// The smallest that fits, else the largest (it grows).
		switch {
		case best < 0:
			best = i
		case b.size >= size && (p.bufs[best].size < size || b.size < p.bufs[best].size):
			best = i
		case p.bufs[best].size < size && b.size > p.bufs[best].size:
			best = i
		}
	}
	if best < 0 {
		p.bufs = append(p.bufs, gradBuf{})
		best = len(p.bufs) - 1
	}
	b := &p.bufs[best]
	b.size = max(b.size, size)
	b.refs = 1
	b.fix = append(b.fix, fix)
	return best
}

// elementwise is the input gradient of a layer whose kernels read dy[i]
// before writing dx[i]: dy's own buffer when nothing else holds it.
func (p *gradPlan) elementwise(dy, size int, fix *kernels.Ptr) int {
	if dy >= 0 && p.bufs[dy].refs == 1 && p.bufs[dy].size >= size {
		p.naive += size
		p.bufs[dy].fix = append(p.bufs[dy].fix, fix)
		return dy
	}
	dx := p.get(size, fix)
	p.put(dy)
	return dx
}

func (p *gradPlan) retain(id int) {
	if id >= 0 {
		p.bufs[id].refs++
	}
}

func (p *gradPlan) put(id int) {
	if id >= 0 {
		if p.bufs[id].refs <= 0 {
			panic("devnet: gradient buffer released twice")
		}
		p.bufs[id].refs--
	}
}

// size is the values per sample of all the plan's buffers.
func (p *gradPlan) size() int {
	s := 0
	for _, b := range p.bufs {
		s += b.size
	}
	return s
}

// allocate gives every buffer its memory and the nodes their addresses.
func (p *gradPlan) allocate(n *Net) error {
	for _, b := range p.bufs {
		ptr, err := n.act(shape{b.size, 1, 1})
		if err != nil {
			return err
		}
		for _, f := range b.fix {
			*f = ptr
		}
	}
	return nil
}
