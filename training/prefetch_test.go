package training

import (
	"context"
	"testing"
	"time"

	"github.com/genius-nas/genius/training/data"
)

// counting is a dataset that reports every image it decodes.
type counting struct {
	data.Random
	decoded chan int
}

func (c *counting) Image(i int) (data.Image, error) {
	c.decoded <- i
	return c.Random.Image(i)
}

// While a run trains on one micro-batch, the loader has the next two
// decoded: the host never waits for decoding between device steps.
func TestLoaderDecodesAhead(t *testing.T) {
	cfg := smallConfig()
	cfg.Batch, cfg.MicroBatch = 16, 4
	ds := &counting{Random: data.Random{N: 64, NumClasses: 4, Size: 8, Seed: 1}, decoded: make(chan int, 64)}
	ep := NewLoader(cfg, ds, 2).Start(context.Background(), 0, 0)
	defer ep.Close()
	b, err := ep.Next()
	if err != nil || b == nil {
		t.Fatalf("first micro-batch: %v, %v", b, err)
	}
	// The batch in hand and two more, without another Next.
	want := 3 * cfg.MicroBatch
	timeout := time.After(30 * time.Second)
	for n := 0; n < want; n++ {
		select {
		case <-ds.decoded:
		case <-timeout:
			t.Fatalf("%d images decoded while the first micro-batch is held, want %d (it and the next two)", n, want)
		}
	}
}
