//go:build cgo

package hostemu

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/cuda/kernels"
)

// queued runs the emulator's launches only when something waits for them,
// and breaks one of the AsyncWriter rules on purpose.
type queued struct {
	*Device
	queue []func() error
	// late: a copy lands only when the device is next waited on, after
	// the kernels meant to read it. Otherwise it lands at once, before
	// the kernels launched earlier have read the buffer.
	late    bool
	pending []func() error
}

func (q *queued) Launch(name string, grid, block int, args ...any) error {
	q.queue = append(q.queue, func() error { return q.Device.Launch(name, grid, block, args...) })
	return nil
}

func (q *queued) WriteAsync(dst kernels.Ptr, src []byte) error {
	b := append([]byte(nil), src...)
	if q.late {
		q.pending = append(q.pending, func() error { return q.Device.Write(dst, b) })
		return nil
	}
	return q.Device.Write(dst, b)
}

func (q *queued) drain() error {
	for _, f := range append(q.queue, q.pending...) {
		if err := f(); err != nil {
			return err
		}
	}
	q.queue, q.pending = nil, nil
	return nil
}

func (q *queued) Sync() error { return q.drain() }

func (q *queued) Read(dst []byte, src kernels.Ptr) error {
	if err := q.drain(); err != nil {
		return err
	}
	return q.Device.Read(dst, src)
}

func (q *queued) Write(dst kernels.Ptr, src []byte) error {
	if err := q.drain(); err != nil {
		return err
	}
	return q.Device.Write(dst, src)
}

// kernels.Check's asynchronous-write rounds catch a device whose kernels
// do not wait for the copy, and one whose copy does not wait for the
// kernels before it.
func TestCheckCatchesUnorderedAsyncWrites(t *testing.T) {
	for _, c := range []struct {
		late bool
		want string
	}{{true, "first read"}, {false, "last read"}} {
		d := New()
		results, err := kernels.Check(&queued{Device: d, late: c.late}, 1)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		caught := false
		for _, r := range results {
			caught = caught || strings.HasPrefix(r.Op, "async write ") && strings.HasSuffix(r.Op, c.want) && !r.OK()
		}
		if !caught {
			t.Errorf("late=%v: no %q result failed", c.late, c.want)
		}
	}
}
