package flops

// Counter counts many architectures at one set of options: it precomputes
// every slot's cost once, so a count is 30 table look-ups. Use it in loops
// (the search's constraint check, sampling under a budget); it is
// immutable and safe for concurrent use.
type Counter struct {
	opts        Options
	fixed       Count
	first, rest [Stages][Ops]Count
}

// NewCounter precomputes the slot costs at opts (zero fields take their
// defaults, see Options).
func NewCounter(opts Options) *Counter {
	c := newCounter(opts)
	return &c
}

// newCounter is NewCounter by value, so Slots keeps it off the heap.
func newCounter(opts Options) Counter {
	o := opts.normalized()
	c := Counter{opts: o}
	var a acc
	size := stem(&a, o.Input)
	fixed := a.take()
	for st := 0; st < Stages; st++ {
		stride := StageTable()[st].Stride
		for op := 0; op < Ops; op++ {
			slot(&a, st, 0, op, size)
			c.first[st][op] = a.take()
			slot(&a, st, 1, op, convOut(size, 1, stride))
			c.rest[st][op] = a.take()
		}
		size = convOut(size, 1, stride)
	}
	head(&a, size, o.Classes)
	h := a.take()
	c.fixed = Count{MACs: fixed.MACs + h.MACs, Params: fixed.Params + h.Params}
	return c
}

// Options returns the options the counter was built for, defaults filled.
func (c *Counter) Options() Options { return c.opts }

// Count returns the MACs and parameters of arch; it equals MobileNetV2(arch,
// opts) exactly.
func (c *Counter) Count(arch []int) (Count, error) {
	if err := Validate(arch); err != nil {
		return Count{}, err
	}
	macs, params := c.fixed.MACs, c.fixed.Params
	for i, op := range arch {
		s := &c.rest[i/SlotsPerStage][op]
		if i%SlotsPerStage == 0 {
			s = &c.first[i/SlotsPerStage][op]
		}
		macs += s.MACs
		params += s.Params
	}
	return Count{MACs: macs, Params: params}, nil
}
