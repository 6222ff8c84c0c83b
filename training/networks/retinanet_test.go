package networks

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

func randomTensor(r *rand.Rand, c, n, h, w int) *tensor.Tensor {
	t := tensor.New(c, n, h, w)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

func newDetector(t *testing.T, be tensor.Backend, arch []int, cfg RetinaNetConfig) *RetinaNet {
	t.Helper()
	net, err := Build(be, space.ImageNetName, arch, Options{Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewRetinaNet(be, net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// convParams is the size of a k x k convolution in -> out with bias.
func convParams(in, out, k int) int64 { return int64(in*out*k*k + out) }

func TestRetinaNetReferenceShapes(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	cfg := ReferenceRetinaNet(80)
	d := newDetector(t, be, genius329, cfg)
	if d.Backbone.Channels != [3]int{40, 96, 192} {
		t.Errorf("C3-C5 channels %v, want the outputs of stages 2, 4, 5: [40 96 192]", d.Backbone.Channels)
	}

	// The pyramid and subnets, counted from mmdet's layer list.
	const ch = 256
	var want int64
	for _, in := range d.Backbone.Channels {
		want += convParams(in, ch, 1) + convParams(ch, ch, 3)
	}
	want += convParams(192, ch, 3) + convParams(ch, ch, 3)                               // P6 on C5, P7
	want += 2*4*convParams(ch, ch, 3) + convParams(ch, 9*80, 3) + convParams(ch, 9*4, 3) // subnets
	var backbone int64
	for _, p := range d.Backbone.Params() {
		backbone += int64(len(p.W))
	}
	if got := d.NumParams() - backbone; got != want {
		t.Errorf("pyramid and subnets have %d parameters, want %d", got, want)
	}

	// Checkpoints key weights by name.
	seen := map[string]bool{}
	for _, name := range append(paramNames(d.Params()), bufferNames(d.Buffers())...) {
		if seen[name] {
			t.Errorf("two tensors named %s", name)
		}
		seen[name] = true
	}

	before := snapshot(d.Buffers())
	const n, size = 2, 128
	x := randomTensor(rand.New(rand.NewPCG(1, 2)), 3, n, size, size)
	levels := d.Forward(x)
	if len(levels) != 5 {
		t.Fatalf("%d levels, want P3-P7", len(levels))
	}
	var dcls, dbox []*tensor.Tensor
	for i, l := range levels {
		side := size / PyramidStrides[i]
		if l.Stride != PyramidStrides[i] || l.Cls.C != 9*80 || l.Box.C != 9*4 ||
			l.Cls.N != n || l.Cls.H != side || l.Cls.W != side || !l.Cls.SameShape(&tensor.Tensor{C: l.Cls.C, N: n, H: l.Box.H, W: l.Box.W}) {
			t.Errorf("P%d: stride %d, cls %s, box %s; want stride %d, %dx%d cells, 720 logits and 36 deltas",
				i+3, l.Stride, l.Cls, l.Box, PyramidStrides[i], side, side)
		}
		dcls = append(dcls, tensor.New(l.Cls.C, n, l.Cls.H, l.Cls.W))
		dbox = append(dbox, tensor.New(l.Box.C, n, l.Box.H, l.Box.W))
		dcls[i].Data[i] = 1
		dbox[i].Data[i] = 1
	}
	// Every logit starts at the prior.
	if got, want := levels[0].Cls.Data[17], -math.Log(99); math.Abs(float64(got)-want) > 0.05 {
		t.Errorf("initial logit %v, want about log(0.01/0.99) = %v", got, want)
	}
	d.Backward(dcls, dbox)
	for _, p := range d.Params() {
		if !slices.ContainsFunc(p.G, func(v float32) bool { return v != 0 }) && !strings.HasPrefix(p.Name, "backbone.") {
			t.Errorf("%s: no gradient", p.Name)
		}
	}
	if after := snapshot(d.Buffers()); !slices.Equal(before, after) {
		t.Error("a training step changed the backbone's frozen state (BN statistics, scales or frozen weights)")
	}
}

func snapshot(bs []*nn.Buffer) []float32 {
	var s []float32
	for _, b := range bs {
		s = append(s, b.Data...)
	}
	return s
}

func TestBackboneFreezesBatchNormAndStages(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	for _, frozen := range []int{-1, 0, 1, 2} {
		net, err := Build(be, space.ImageNetName, genius329, Options{Classes: 10})
		if err != nil {
			t.Fatal(err)
		}
		all := net.Params()
		var bnParams []*nn.Param
		for _, bn := range net.BatchNorms() {
			bnParams = append(bnParams, bn.Gamma, bn.Beta)
		}
		stem := net.Body.Layers[0].Params()[0]
		stage1 := net.Body.Layers[2].Params()[0]
		stage2 := net.Body.Layers[imageNetStageEnds(genius329)[0]].Params()[0]
		head := all[len(all)-1] // the classifier
		bb, err := NewBackbone(be, net, frozen)
		if err != nil {
			t.Fatal(err)
		}
		trained := bb.Params()
		for _, p := range bnParams[:len(bnParams)-2] { // the last BN is the classifier head's
			if slices.Contains(trained, p) {
				t.Fatalf("frozen %d: batch-norm parameter %s is trained", frozen, p.Name)
			}
		}
		if slices.Contains(trained, head) {
			t.Errorf("frozen %d: the classifier head is part of the backbone", frozen)
		}
		for _, c := range []struct {
			p      *nn.Param
			frozen bool
		}{{stem, frozen >= 0}, {stage1, frozen >= 1}, {stage2, frozen >= 2}} {
			if slices.Contains(trained, c.p) == c.frozen {
				t.Errorf("frozen %d: %s trained = %v", frozen, c.p.Name, !c.frozen)
			}
		}
		// Backward stops where training stops: frozen layers' gradients
		// keep a sentinel.
		for _, p := range []*nn.Param{stem, stage1, stage2} {
			p.G[0] = 42
		}
		x := randomTensor(rand.New(rand.NewPCG(3, 4)), 3, 1, 64, 64)
		before := snapshot(bb.Buffers())
		c := bb.Forward(x)
		for i, want := range [3]int{8, 4, 2} {
			if c[i].H != want || c[i].W != want || c[i].C != bb.Channels[i] {
				t.Fatalf("C%d is %s, want %d channels of %dx%d", i+3, c[i], bb.Channels[i], want, want)
			}
		}
		bb.Backward([3]*tensor.Tensor{
			randomTensor(rand.New(rand.NewPCG(5, 1)), c[0].C, 1, 8, 8),
			randomTensor(rand.New(rand.NewPCG(5, 2)), c[1].C, 1, 4, 4),
			randomTensor(rand.New(rand.NewPCG(5, 3)), c[2].C, 1, 2, 2)})
		for _, c := range []struct {
			p      *nn.Param
			frozen bool
		}{{stem, frozen >= 0}, {stage1, frozen >= 1}, {stage2, frozen >= 2}} {
			if (c.p.G[0] == 42) != c.frozen {
				t.Errorf("frozen %d: %s gradient written = %v", frozen, c.p.Name, c.p.G[0] != 42)
			}
		}
		if !slices.Equal(before, snapshot(bb.Buffers())) {
			t.Errorf("frozen %d: the forward pass changed batch-norm statistics", frozen)
		}
	}
	net, _ := Build(be, space.NB201Name, []int{0, 0, 0, 0, 0, 0}, Options{})
	if _, err := NewBackbone(be, net, 1); err == nil {
		t.Error("a NAS-Bench-201 network accepted as a detector backbone")
	}
}

func TestRetinaNetInitialisation(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	d := newDetector(t, be, genius329, ReferenceRetinaNet(80))
	for _, p := range append(d.Neck.Params(), d.Head.Params()...) {
		var s, ss float64
		for _, v := range p.W {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		n := float64(len(p.W))
		mean, std := s/n, math.Sqrt(ss/n-(s/n)*(s/n))
		switch {
		case p.Name == "bbox_head.retina_cls.bias":
			if want := -math.Log((1 - 0.01) / 0.01); math.Abs(mean-want) > 1e-6 || std > 1e-6 {
				t.Errorf("%s: mean %v std %v, want every bias %v", p.Name, mean, std, want)
			}
		case strings.HasSuffix(p.Name, ".bias"):
			if ss != 0 {
				t.Errorf("%s: not zero", p.Name)
			}
		case strings.HasPrefix(p.Name, "bbox_head."):
			if math.Abs(std-0.01) > 0.0005 || math.Abs(mean) > 0.0005 {
				t.Errorf("%s: mean %v std %v, want N(0, 0.01^2)", p.Name, mean, std)
			}
		case strings.HasPrefix(p.Name, "neck."):
			// Xavier uniform: U(-a, a), a = sqrt(6/(fan_in+fan_out)),
			// whose std is a/sqrt(3).
			k := p.Shape[2] * p.Shape[3]
			a := math.Sqrt(6 / float64((p.Shape[0]+p.Shape[1])*k))
			if math.Abs(std-a/math.Sqrt(3)) > 0.03*a || slices.ContainsFunc(p.W, func(v float32) bool { return math.Abs(float64(v)) > a }) {
				t.Errorf("%s: std %v, want Xavier-uniform within ±%v", p.Name, std, a)
			}
		default:
			t.Errorf("unexpected parameter %s", p.Name)
		}
		if !p.Decay {
			t.Errorf("%s: no weight decay (mmdet decays every parameter)", p.Name)
		}
	}
	bad := ReferenceRetinaNet(80)
	bad.PriorProb = 1
	net, _ := Build(be, space.ImageNetName, genius329, Options{})
	if _, err := NewRetinaNet(be, net, bad); err == nil || !strings.Contains(err.Error(), "prior") {
		t.Errorf("prior probability 1 accepted: %v", err)
	}
}

// scaleForCheck redraws weights at unit gain so that a central difference
// sees O(1) signals: at the reference initialisation (std 0.01) every
// gradient is too small to tell a wrong one from a right one.
func scaleForCheck(r *rand.Rand, ps []*nn.Param) {
	for _, p := range ps {
		fanIn := 1
		for _, s := range p.Shape[1:] {
			fanIn *= s
		}
		std := 1 / math.Sqrt(float64(fanIn))
		if len(p.Shape) == 1 {
			std = 0.3
		}
		for i := range p.W {
			p.W[i] = float32(r.NormFloat64() * std)
		}
	}
}

// The whole pyramid and both subnets against central differences, on a
// tiny configuration with odd level sizes (5x5, 3x3, 2x2, so the top-down
// path resizes 2 -> 3 -> 5).
func TestPyramidAndHeadGradients(t *testing.T) {
	for _, relu := range []bool{false, true} {
		be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
		r := rand.New(rand.NewPCG(11, 12))
		in := [3]int{3, 4, 5}
		fpn := NewFPN(be, r, in, 4, relu)
		head := NewRetinaHead(be, r, 5, 4, 4, 2, 2, 3, 0.01)
		params := append(fpn.Params(), head.Params()...)
		scaleForCheck(r, params)
		c := [3]*tensor.Tensor{randomTensor(r, in[0], 1, 5, 5), randomTensor(r, in[1], 1, 3, 3), randomTensor(r, in[2], 1, 2, 2)}
		forward := func() ([]*tensor.Tensor, []*tensor.Tensor) {
			p := fpn.Forward(c)
			return head.Forward(p[:])
		}
		cls, box := forward()
		var pc, pb []*tensor.Tensor
		for l := range cls {
			pc = append(pc, randomTensor(r, cls[l].C, cls[l].N, cls[l].H, cls[l].W))
			pb = append(pb, randomTensor(r, box[l].C, box[l].N, box[l].H, box[l].W))
		}
		objective := func() float64 {
			cls, box := forward()
			var s float64
			for l := range cls {
				for i, v := range cls[l].Data {
					s += float64(v) * float64(pc[l].Data[i])
				}
				for i, v := range box[l].Data {
					s += float64(v) * float64(pb[l].Data[i])
				}
			}
			return s
		}
		// Two steps, as training takes them: the second's gradients must
		// not include the first's.
		fpn.Backward([5]*tensor.Tensor(head.Backward(pc, pb)))
		forward()
		dc := fpn.Backward([5]*tensor.Tensor(head.Backward(pc, pb)))
		check := func(what string, vals, analytic []float32) {
			analytic = slices.Clone(analytic)
			for _, i := range r.Perm(len(vals))[:min(len(vals), 6)] {
				old := vals[i]
				num, ok := derivative(objective, func(step float32) { vals[i] = old + step })
				vals[i] = old
				a := float64(analytic[i])
				if !ok || math.Abs(num-a) > 1e-2+1e-2*math.Max(math.Abs(num), math.Abs(a)) {
					t.Errorf("relu before P7 %v: d/d%s[%d] analytic %.5f numeric %.5f (found a smooth step: %v)", relu, what, i, a, num, ok)
				}
			}
		}
		for i := range c {
			check("C"+string(rune('3'+i)), c[i].Data, dc[i].Data)
		}
		for _, p := range params {
			check(p.Name, p.W, p.G)
		}
	}
}

// Directional derivatives of a whole detector, backbone included, on a
// 32x32 image: each group of parameters moved along a random direction.
func TestRetinaNetDirectionalGradient(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	cfg := RetinaNetConfig{Classes: 3, Channels: 8, StackedConvs: 1, Anchors: 2, FrozenStages: 1, PriorProb: 0.01, ReLUBeforeP7: true}
	d := newDetector(t, be, genius329, cfg)
	r := rand.New(rand.NewPCG(21, 22))
	scaleForCheck(r, append(d.Neck.Params(), d.Head.Params()...))
	x := randomTensor(r, 3, 1, 32, 32)
	levels := d.Forward(x)
	var pc, pb []*tensor.Tensor
	for _, l := range levels {
		pc = append(pc, randomTensor(r, l.Cls.C, l.Cls.N, l.Cls.H, l.Cls.W))
		pb = append(pb, randomTensor(r, l.Box.C, l.Box.N, l.Box.H, l.Box.W))
	}
	objective := func() float64 {
		var s float64
		for l, lv := range d.Forward(x) {
			for i, v := range lv.Cls.Data {
				s += float64(v) * float64(pc[l].Data[i])
			}
			for i, v := range lv.Box.Data {
				s += float64(v) * float64(pb[l].Data[i])
			}
		}
		return s
	}
	d.Backward(pc, pb)
	for _, group := range []struct {
		name   string
		params []*nn.Param
	}{{"backbone", d.Backbone.Params()}, {"pyramid", d.Neck.Params()}, {"subnets", d.Head.Params()}} {
		var analytic float64
		dirs := make([][]float32, len(group.params))
		for i, p := range group.params {
			dirs[i] = make([]float32, len(p.W))
			for j := range dirs[i] {
				v := float32(r.NormFloat64())
				dirs[i][j] = v
				analytic += float64(v) * float64(p.G[j])
			}
		}
		saved := make([][]float32, len(group.params))
		for i, p := range group.params {
			saved[i] = slices.Clone(p.W)
		}
		at := func(step float32) {
			for i, p := range group.params {
				for j := range p.W {
					p.W[j] = saved[i][j] + step*dirs[i][j]
				}
			}
		}
		if analytic == 0 {
			t.Errorf("%s: no gradient", group.name)
			continue
		}
		// Scaled so the derivative is ±1 and the tolerances mean the same
		// for every group.
		scaled := func() float64 { return objective() / math.Abs(analytic) }
		num, ok := derivative(scaled, at)
		at(0)
		if want := analytic / math.Abs(analytic); !ok || math.Abs(num-want) > 0.01 {
			t.Errorf("%s: directional derivative analytic %.6g numeric %.6g (found a smooth step: %v)", group.name, analytic, num*math.Abs(analytic), ok)
		}
	}
}

// derivative estimates the derivative of f at step 0 of at (which sets the
// inputs to a point step along a direction) by central differences. ReLU
// makes f piecewise smooth: a kink within the step skews the difference by
// an amount that changes with the step, so the step shrinks until two
// successive differences agree. It reports false when none did.
func derivative(f func() float64, at func(step float32)) (float64, bool) {
	central := func(eps float32) float64 {
		at(eps)
		fp := f()
		at(-eps)
		fm := f()
		at(0)
		return (fp - fm) / (2 * float64(eps))
	}
	prev := central(1e-2)
	for _, eps := range []float32{3e-3, 1e-3, 3e-4, 1e-4} {
		d := central(eps)
		if math.Abs(d-prev) <= 2e-3+5e-3*math.Max(math.Abs(d), math.Abs(prev)) {
			return d, true
		}
		prev = d
	}
	return prev, false
}

func TestGatherScatterAnchorOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const perCell, classes, batch = 2, 3, 2
	sizes := [][2]int{{3, 4}, {2, 2}}
	var levels []Level
	for i, s := range sizes {
		levels = append(levels, Level{Stride: PyramidStrides[i],
			Cls: randomTensor(r, perCell*classes, batch, s[0], s[1]),
			Box: randomTensor(r, perCell*4, batch, s[0], s[1])})
	}
	anchors := ImageAnchors(levels)
	if anchors != (12+4)*perCell {
		t.Fatalf("%d anchors, want 32", anchors)
	}
	cls, box := make([]float32, anchors*classes), make([]float32, anchors*4)
	if err := Gather(levels, 1, cls, box); err != nil {
		t.Fatal(err)
	}
	// Level 1 (after level 0's 12 cells x 2 anchors), cell (1, 0) = 2,
	// anchor 1: anchor index 24 + 2*2 + 1 = 29.
	for k := 0; k < classes; k++ {
		if got, want := cls[29*classes+k], levels[1].Cls.At(1, 1*classes+k, 1, 0); got != want {
			t.Errorf("logit of anchor 29 class %d = %v, want the tensor's %v", k, got, want)
		}
	}
	for j := 0; j < 4; j++ {
		// Level 0, cell (2, 3) = 11, anchor 0: anchor 22.
		if got, want := box[22*4+j], levels[0].Box.At(1, j, 2, 3); got != want {
			t.Errorf("delta %d of anchor 22 = %v, want %v", j, got, want)
		}
	}
	// Scatter is Gather's adjoint: <Gather(x), g> = <x, Scatter(g)>.
	gc, gb := make([]float32, len(cls)), make([]float32, len(box))
	for i := range gc {
		gc[i] = float32(r.NormFloat64())
	}
	for i := range gb {
		gb[i] = float32(r.NormFloat64())
	}
	var dcls, dbox []*tensor.Tensor
	for _, l := range levels {
		dcls = append(dcls, tensor.New(l.Cls.C, l.Cls.N, l.Cls.H, l.Cls.W))
		dbox = append(dbox, tensor.New(l.Box.C, l.Box.N, l.Box.H, l.Box.W))
	}
	if err := Scatter(levels, 1, gc, gb, dcls, dbox); err != nil {
		t.Fatal(err)
	}
	var lhs, rhs float64
	for i := range gc {
		lhs += float64(gc[i]) * float64(cls[i])
	}
	for i := range gb {
		lhs += float64(gb[i]) * float64(box[i])
	}
	for i, l := range levels {
		for j := range l.Cls.Data {
			rhs += float64(l.Cls.Data[j]) * float64(dcls[i].Data[j])
		}
		for j := range l.Box.Data {
			rhs += float64(l.Box.Data[j]) * float64(dbox[i].Data[j])
		}
		for j := 0; j < l.Cls.Len(); j += batch { // image 0 untouched
			if dcls[i].Data[j] != 0 {
				t.Fatalf("level %d: scatter wrote image 0", i)
			}
		}
	}
	if math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs) {
		t.Errorf("<gather(x), g> = %v but <x, scatter(g)> = %v", lhs, rhs)
	}
	if err := Gather(levels, 2, cls, box); err == nil {
		t.Error("image 2 of a batch of 2 accepted")
	}
	if err := Gather(levels, 0, cls[1:], box); err == nil {
		t.Error("short logits accepted")
	}
}

// Any input size works: every level is its predecessor halved, rounding
// up, as the anchors assume (C3 = ceil(H/8)).
func TestRetinaNetOddInputSize(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{})
	cfg := RetinaNetConfig{Classes: 2, Channels: 8, StackedConvs: 1, Anchors: 9, FrozenStages: 1, PriorProb: 0.01}
	d := newDetector(t, be, genius329, cfg)
	h, w := 100, 70
	h, w = (h+7)/8, (w+7)/8
	for i, l := range d.Forward(randomTensor(rand.New(rand.NewPCG(1, 1)), 3, 1, 100, 70)) {
		if l.Cls.H != h || l.Cls.W != w || l.Box.H != h || l.Box.W != w {
			t.Errorf("P%d: %s, want %dx%d cells", i+3, l.Cls, h, w)
		}
		h, w = (h+1)/2, (w+1)/2
	}
}

func paramNames(ps []*nn.Param) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return s
}

func bufferNames(bs []*nn.Buffer) []string {
	var s []string
	for _, b := range bs {
		s = append(s, b.Name)
	}
	return s
}
