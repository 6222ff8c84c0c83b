package devnet

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training/cuda/kernels"
	"github.com/genius-nas/genius/training/networks"
	"github.com/genius-nas/genius/training/tensor"
)

// DetectorCase is a small RetinaNet CheckDetector compares: an
// ImageNet-space backbone, the detector's settings and the square input
// size.
type DetectorCase struct {
	Arch   []int
	Config networks.RetinaNetConfig
	Size   int
}

func (c DetectorCase) String() string {
	return fmt.Sprintf("retinanet frozen=%d relu7=%v stacked=%d %dpx", c.Config.FrozenStages, c.Config.ReLUBeforeP7, c.Config.StackedConvs, c.Size)
}

// DetectorCases are the smallest detectors the networks package builds,
// on a backbone with depthwise, squeeze-excitation and residual blocks:
// mmdet's frozen stem and stage 1 at a size whose levels halve exactly,
// and everything trained with P7 on a ReLU at a size whose odd levels the
// pyramid's upsampling rounds (9, 5, 3).
var DetectorCases = []DetectorCase{
	{Arch: Cases[3].Arch, Size: 64, Config: networks.RetinaNetConfig{Classes: 2, Channels: 4, StackedConvs: 1, Anchors: 2,
		FrozenStages: 1, PriorProb: 0.01, Seed: 1}},
	{Arch: Cases[3].Arch, Size: 72, Config: networks.RetinaNetConfig{Classes: 3, Channels: 4, StackedConvs: 2, Anchors: 1,
		FrozenStages: -1, ReLUBeforeP7: true, PriorProb: 0.01, Seed: 2}},
}

// The batch CheckDetector runs, on a detector compiled for one more.
const detBatch = 2

// checkDetector is a case built on the serial CPU engine and compiled
// for a device, with an input batch on both sides.
type checkDetector struct {
	host *networks.RetinaNet
	det  *Detector
	x    *tensor.Tensor
	px   kernels.Ptr
}

func newCheckDetector(dev kernels.Device, dt kernels.DType, c DetectorCase) (*checkDetector, error) {
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	net, err := networks.Build(cpu, space.ImageNetName, c.Arch, networks.Options{Classes: 10, Dropout: -1})
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(11, 11))
	scrambleBatchNorms(net, r)
	host, err := networks.NewRetinaNet(cpu, net, c.Config)
	if err != nil {
		return nil, err
	}
	// The subnets' weights start at N(0, 0.01^2), which leaves the class
	// logits at their bias: widen them so the outputs depend on the input.
	for _, p := range host.Head.Params() {
		for i := range p.W {
			p.W[i] *= 20
		}
	}
	cd := &checkDetector{host: host}
	if cd.det, err = CompileDetector(dev, dt, host, detBatch+1, 3, c.Size, c.Size); err != nil {
		return nil, err
	}
	if err := cd.input(r, c.Size); err != nil {
		cd.det.Close()
		return nil, err
	}
	return cd, nil
}

// input draws a batch of size x size images for both sides.
func (cd *checkDetector) input(r *rand.Rand, size int) error {
	dt := cd.det.DType
	cd.x = tensor.New(3, detBatch, size, size)
	for i := range cd.x.Data {
		cd.x.Data[i] = float32(r.NormFloat64())
		if dt == kernels.BF16 {
			cd.x.Data[i] = kernels.RoundBF16(cd.x.Data[i])
		}
	}
	var err error
	if cd.px, err = cd.det.alloc(dt.Size() * len(cd.x.Data)); err != nil {
		return err
	}
	return cd.det.Dev.Write(cd.px, kernels.Encode(dt, cd.x.Data))
}

func (cd *checkDetector) download(p kernels.Ptr, n int) ([]float32, error) {
	if err := cd.det.Dev.Sync(); err != nil {
		return nil, err
	}
	return kernels.Download(cd.det.Dev, kernels.F32, p, n)
}

// CheckDetector compiles c for dev with storage dt and compares it with
// the CPU engine: every level's class logits and box deltas, and in
// float32 every trained parameter's gradient after Backward of random
// output gradients. Errors are Check's.
func CheckDetector(dev kernels.Device, dt kernels.DType, c DetectorCase) (results []kernels.Result, err error) {
	cd, err := newCheckDetector(dev, dt, c)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cd.det.Close()) }()
	shape := fmt.Sprintf("N=%d %dx%d", detBatch, c.Size, c.Size)
	r, err := cd.outputs(c, shape)
	if err != nil {
		return nil, err
	}
	results = append(results, r)
	if dt != kernels.F32 {
		return results, nil
	}
	r, err = cd.gradients(c, shape)
	return append(results, r), err
}

// outputs runs both sides forward and compares every level's outputs.
func (cd *checkDetector) outputs(c DetectorCase, shape string) (kernels.Result, error) {
	d, dt := cd.det, cd.det.DType
	cls, box, err := d.Forward(cd.px, detBatch)
	if err != nil {
		return kernels.Result{}, err
	}
	levels := cd.host.Forward(cd.x)
	var rs []kernels.Result
	for l, lv := range d.Levels {
		for _, o := range []struct {
			name string
			p    kernels.Ptr
			n    int
			want *tensor.Tensor
		}{{"cls", cls[l], lv.ClsLen(detBatch), levels[l].Cls}, {"box", box[l], lv.BoxLen(detBatch), levels[l].Box}} {
			got, err := cd.download(o.p, o.n)
			if err != nil {
				return kernels.Result{}, err
			}
			what := fmt.Sprintf("P%d %s", l+3, o.name)
			if o.want.H != lv.H || o.want.W != lv.W || len(o.want.Data) != o.n {
				return kernels.Result{}, fmt.Errorf("%s: the device's level is %dx%d (%d values), the CPU's %s", what, lv.H, lv.W, o.n, o.want)
			}
			if dt == kernels.F32 {
				rs = append(rs, result(what, dt, shape, got, o.want.Data, relTol, absTol, maxAbs(o.want.Data)))
				continue
			}
			r := result(what, dt, shape, got, o.want.Data, 0, bf16Abs, maxAbs(o.want.Data))
			r.Ratio = math.Max(r.Ratio, relRMS(got, o.want.Data)/bf16RMS)
			rs = append(rs, r)
		}
	}
	s := summary(fmt.Sprintf("%v outputs", c), shape, rs)
	s.DType = dt
	return s, nil
}

// gradients runs both sides backward from the same random output
// gradients and compares the trained parameters' gradients.
func (cd *checkDetector) gradients(c DetectorCase, shape string) (kernels.Result, error) {
	d := cd.det
	r := rand.New(rand.NewPCG(5, 5))
	var dcls, dbox []*tensor.Tensor
	var pcls, pbox []kernels.Ptr
	for _, lv := range d.Levels {
		for _, o := range []struct {
			ts *[]*tensor.Tensor
			ps *[]kernels.Ptr
			ch int
		}{{&dcls, &pcls, lv.ClsChannels}, {&dbox, &pbox, lv.BoxChannels}} {
			t := tensor.New(o.ch, detBatch, lv.H, lv.W)
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64())
			}
			p, err := d.alloc(4 * len(t.Data))
			if err != nil {
				return kernels.Result{}, err
			}
			if err := d.Dev.Write(p, kernels.Encode(kernels.F32, t.Data)); err != nil {
				return kernels.Result{}, err
			}
			*o.ts, *o.ps = append(*o.ts, t), append(*o.ps, p)
		}
	}
	// Garbage in G first: Backward must overwrite every trained gradient.
	junk := make([]float32, d.Params.Len)
	for i := range junk {
		junk[i] = 1e3
	}
	if err := d.Dev.Write(d.G, kernels.Encode(kernels.F32, junk)); err != nil {
		return kernels.Result{}, err
	}
	if err := d.Backward(pcls, pbox); err != nil {
		return kernels.Result{}, err
	}
	cd.host.Backward(dcls, dbox)
	g, err := cd.download(d.G, d.Params.Len)
	if err != nil {
		return kernels.Result{}, err
	}
	// As checkTraining: below a thousandth of the largest gradient, sums
	// of cancelling terms differ between float32 and float64.
	var largest float64
	for _, p := range cd.host.Params() {
		largest = max(largest, maxAbs(p.G))
	}
	var rs []kernels.Result
	for i, p := range cd.host.Params() {
		s := d.Params.Slots[i]
		rs = append(rs, result(p.Name, kernels.F32, shape, g[s.Off:s.Off+s.Len], p.G, relTol, absTol, max(maxAbs(p.G), largest/1000)))
	}
	return summary(fmt.Sprintf("%v gradients", c), shape, rs), nil
}
