package kernels

import "fmt"

// asyncWrites checks a Device's AsyncWriter ordering: rounds of copies
// alternate between two buffers, each followed by kernels that read its
// buffer many times. The first read must see its round's data (kernels
// wait for the copy) and so must the last (the copy two rounds on waits
// for them). On the emulator, where copies are synchronous, it only checks
// the bookkeeping.
func (k *checker) asyncWrites() error {
	aw, ok := k.d.(AsyncWriter)
	if !ok {
		return nil
	}
	const rounds, passes = 6, 40
	n := 1 << 22 // 16 MiB a copy: long enough to race the kernels
	if _, emulated := k.d.(GridLimiter); emulated {
		n = 1 << 10
	}
	var slots [2]Ptr
	for i := range slots {
		p, err := k.zeros(F32, n)
		if err != nil {
			return err
		}
		slots[i] = p
	}
	first, last := make([]Ptr, rounds), make([]Ptr, rounds)
	want := make([][]float32, rounds)
	for r := range rounds {
		var err error
		if first[r], err = k.zeros(F32, n); err != nil {
			return err
		}
		if last[r], err = k.zeros(F32, n); err != nil {
			return err
		}
		want[r] = make([]float32, n)
		for i := range want[r] {
			want[r][i] = float32(r*4096 + i%4093)
		}
	}
	for r := range rounds {
		src := slots[r%2]
		if err := aw.WriteAsync(src, Encode(F32, want[r])); err != nil {
			return err
		}
		if err := ActForward(k.d, F32, ActNone, n, src, first[r], 1, 0); err != nil {
			return err
		}
		for range passes {
			if err := ActForward(k.d, F32, ActNone, n, src, last[r], 1, 0); err != nil {
				return err
			}
		}
	}
	shape := fmt.Sprintf("%d rounds x %d floats", rounds, n)
	for r := range rounds {
		for _, c := range []struct {
			what string
			p    Ptr
		}{{"first read", first[r]}, {"last read", last[r]}} {
			got, err := k.down(F32, c.p, n)
			if err != nil {
				return err
			}
			k.compare(fmt.Sprintf("async write %d: %s", r, c.what), F32, shape, got, want[r])
		}
	}
	return nil
}
