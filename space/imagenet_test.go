package space

import "testing"

func TestImageNetMetadata(t *testing.T) {
	st := ImageNetStages()
	if len(st) != ImageNetStageCount {
		t.Fatalf("%d stages", len(st))
	}
	want := [][3]int{{16, 24, 2}, {24, 40, 2}, {40, 80, 2}, {80, 96, 1}, {96, 192, 2}}
	for i, s := range st {
		if [3]int{s.In, s.Out, s.Stride} != want[i] || s.Index != i+1 || s.FirstPosition() != 6*i {
			t.Errorf("stage %d = %+v", i+1, s)
		}
		if i > 0 && s.In != st[i-1].Out {
			t.Errorf("stage %d input %d does not follow stage %d output %d", i+1, s.In, i, st[i-1].Out)
		}
	}
	ops := map[int][2]int{1: {3, 4}, 2: {5, 4}, 3: {7, 4}, 4: {3, 6}, 5: {5, 6}, 6: {7, 6}}
	for op := -1; op <= 7; op++ {
		k, e, ok := ImageNetOp(op)
		w, isIR := ops[op]
		if ok != isIR || (ok && [2]int{k, e} != w) {
			t.Errorf("ImageNetOp(%d) = %d, %d, %v", op, k, e, ok)
		}
	}
}

func TestImageNetLayers(t *testing.T) {
	layers, err := ImageNetLayers(genius329)
	if err != nil {
		t.Fatal(err)
	}
	// Non-zero slots 1..5 plus five slot-0 layers: 1+3+2+3+3 + 5.
	if len(layers) != 17 {
		t.Fatalf("%d layers, want 17", len(layers))
	}
	first := layers[0]
	if first != (Layer{Stage: 1, Slot: 0, In: 16, Out: 24, Stride: 2, Op: 1, Kernel: 3, Expansion: 4}) {
		t.Errorf("first layer = %+v", first)
	}
	if l := layers[1]; l != (Layer{Stage: 1, Slot: 4, In: 24, Out: 24, Stride: 1, Op: 1, Kernel: 3, Expansion: 4}) {
		t.Errorf("second layer = %+v", l)
	}
	proj := make(Arch, 30) // all zero: five projections only
	layers, err = ImageNetLayers(proj)
	if err != nil || len(layers) != 5 || layers[3].Kernel != 0 || layers[3].Stride != 1 || layers[4].In != 96 {
		t.Errorf("all-zero layers = %+v, %v", layers, err)
	}
	if _, err := ImageNetLayers(Arch{1}); err == nil {
		t.Errorf("ImageNetLayers accepted a short arch")
	}
}
