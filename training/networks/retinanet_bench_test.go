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
// GENIUS-329 for a batch of 2 images of 256x256, and reports it as a
// multiple of the same backbone's classifier step on the same batch,
// measured first in the same process.
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
	classifierStep := func() { cls.Backward(cls.Forward(x, true)) }
	classifierStep() // allocate buffers
	const baselineSteps = 3
	start := time.Now()
	for i := 0; i < baselineSteps; i++ {
		classifierStep()
	}
	baseline := time.Since(start) / baselineSteps

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
	d.Backward(dcls, dbox)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Forward(x)
		d.Backward(dcls, dbox)
	}
	b.StopTimer()
	step := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(batch)/step.Seconds(), "images/s")
	b.ReportMetric(float64(step)/float64(baseline), "x-classifier-step")
}
