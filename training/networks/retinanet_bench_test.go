package networks

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/tensor"
)

// BenchmarkRetinaNetStep times a forward and backward pass of the
// reference RetinaNet (80 classes, 256-channel pyramid and subnets) on
// GENIUS-329 for a batch of 2 images of 256x256 against the same
// backbone's classifier step on the same batch. The two alternate, so
// other load on the machine weighs on both alike; the ratio is the figure
// to read.
func BenchmarkRetinaNetStep(b *testing.B) {
	const batch, size = 2, 256
	be := tensor.NewCPU(tensor.CPUOptions{})
	x := tensor.New(3, batch, size, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	cls, err := Build(be, space.ImageNetName, genius329, Options{Classes: 80})
	if err != nil {
		b.Fatal(err)
	}
	net, err := Build(be, space.ImageNetName, genius329, Options{Classes: 80})
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewRetinaNet(be, net, ReferenceRetinaNet(80))
	if err != nil {
		b.Fatal(err)
	}
	levels := d.Forward(x)
	var dcls, dbox []*tensor.Tensor
	for _, l := range levels {
		dcls = append(dcls, tensor.New(l.Cls.C, l.Cls.N, l.Cls.H, l.Cls.W))
		dbox = append(dbox, tensor.New(l.Box.C, l.Box.N, l.Box.H, l.Box.W))
	}
	classifierStep := func() { cls.Backward(cls.Forward(x, true)) }
	detectorStep := func() {
		d.Forward(x)
		d.Backward(dcls, dbox)
	}
	classifierStep() // allocate every buffer before timing
	detectorStep()
	var tc, td time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		classifierStep()
		t1 := time.Now()
		detectorStep()
		tc, td = tc+t1.Sub(t0), td+time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(batch*b.N)/td.Seconds(), "detector-images/s")
	b.ReportMetric(float64(td)/float64(tc), "x-classifier-step")
}
