package flops_test

import (
	"math/rand/v2"
	"testing"

	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/space"
)

// The counter keeps its own copy of the network description (so the space
// package may import flops for its prompt); it must agree with the space's.
func TestAgreesWithSpace(t *testing.T) {
	st := flops.StageTable()
	for i, s := range space.ImageNetStages() {
		if st[i].In != s.In || st[i].Out != s.Out || st[i].Stride != s.Stride {
			t.Errorf("stage %d: flops %+v, space %+v", i+1, st[i], s)
		}
	}
	ops := flops.OpTable()
	for op := 0; op < flops.Ops; op++ {
		k, e, ok := space.ImageNetOp(op)
		if ok != (op > 0) || ops[op].Kernel != k || ops[op].Expand != e {
			t.Errorf("op %d: flops %+v, space (%d, %d, %v)", op, ops[op], k, e, ok)
		}
	}
	// Architectures the space deems equal (same canonical key) cost the same,
	// and whatever the space accepts the counter accepts.
	sp, err := space.New(space.ImageNetName)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n < 200; n++ {
		a := sp.Sample(r)
		c1, err := flops.MobileNetV2(a, flops.Options{})
		if err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		canon, err := sp.Decode(sp.Canonical(a))
		if err != nil {
			t.Fatal(err)
		}
		if c2, _ := flops.MobileNetV2(canon, flops.Options{}); c1 != c2 {
			t.Errorf("%v and its canonical form %v differ: %v %v", a, canon, c1, c2)
		}
	}
}
