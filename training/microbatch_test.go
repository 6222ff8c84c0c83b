package training

import (
	"context"
	"errors"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/nn"
	"github.com/genius-nas/genius/training/tensor"
)

// evalMode runs a layer with evaluation behaviour (running statistics in
// batch norm) also in training, so a batch's gradient is the sum of its
// samples' and micro-batches must reproduce it.
type evalMode struct{ nn.Layer }

func (e evalMode) Forward(x *tensor.Tensor, _ bool) *tensor.Tensor { return e.Layer.Forward(x, false) }

// quadrantBatch is n images of the quadrants task as one tensor.
func quadrantBatch(n int, seed uint64) (*tensor.Tensor, []int) {
	ds := quadrants{n: n, seed: seed}
	x := tensor.New(3, n, 8, 8)
	labels := make([]int, n)
	tr := data.Transform{Size: 8, CropFraction: 1}
	for i := range labels {
		img, _ := ds.Image(i)
		tr.Apply(img, nil, x, i)
		labels[i] = ds.Label(i)
	}
	return x, labels
}

func closeWeights(t *testing.T, what string, a, b *Run, tol float64) {
	t.Helper()
	for i, p := range a.Net.Params() {
		q := b.Net.Params()[i]
		for j := range p.W {
			if d := math.Abs(float64(p.W[j] - q.W[j])); d > tol*(1+math.Abs(float64(p.W[j]))) {
				t.Fatalf("%s: %s[%d] is %v, want %v", what, p.Name, j, q.W[j], p.W[j])
			}
		}
	}
}

// With batch norm in evaluation mode the gradient of a batch is the sum of
// its micro-batches': accumulation gives the update of one big batch (same
// learning rate, momentum, weight decay, clipping and loss), with or
// without data-parallel replicas, through TrainStep or TrainMicro.
func TestMicroBatchesMatchOneBatch(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	x, labels := quadrantBatch(32, 5)
	newRun := func(micro, replicas int) *Run {
		cfg := smallConfig()
		cfg.Batch, cfg.MicroBatch, cfg.Replicas = 32, micro, replicas
		cfg.LabelSmoothing, cfg.ClipNorm, cfg.Nesterov, cfg.WeightDecay = 0.1, 5, true, 1e-3
		r, err := NewRun(be, cfg, 4, 10)
		if err != nil {
			t.Fatal(err)
		}
		nets := r.Net
		nets.Body = nn.NewSequential(evalMode{nets.Body})
		if r.reps != nil {
			for _, n := range r.reps.nets[1:] {
				n.Body = nn.NewSequential(evalMode{n.Body})
			}
		}
		return r
	}
	ref := newRun(0, 1)
	var refLoss []float64
	for s := 0; s < 3; s++ {
		l, err := ref.TrainStep(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		refLoss = append(refLoss, l)
	}
	for _, tc := range []struct {
		name            string
		micro, replicas int
		feed            bool // TrainMicro with slices instead of TrainStep
	}{
		{"micro 8", 8, 1, false},
		{"micro 16 replicas 2", 16, 2, false},
		{"micro 4 fed", 4, 1, true},
	} {
		r := newRun(tc.micro, tc.replicas)
		if (r.reps != nil) != (tc.replicas > 1) {
			t.Fatalf("%s: data parallel %v", tc.name, r.reps != nil)
		}
		for s := 0; s < 3; s++ {
			var loss float64
			if tc.feed {
				var xs *tensor.Tensor
				for lo := 0; lo < 32; lo += tc.micro {
					xs = sliceBatch(xs, x, lo, lo+tc.micro)
					stepped, l, err := r.TrainMicro(xs, labels[lo:lo+tc.micro])
					if err != nil {
						t.Fatal(err)
					}
					if stepped != (lo+tc.micro == 32) {
						t.Fatalf("%s: stepped %v after %d samples", tc.name, stepped, lo+tc.micro)
					}
					loss = l
				}
			} else {
				var err error
				if loss, err = r.TrainStep(x, labels); err != nil {
					t.Fatal(err)
				}
			}
			if math.Abs(loss-refLoss[s]) > 1e-5*(1+refLoss[s]) {
				t.Errorf("%s step %d: loss %v, one batch %v", tc.name, s, loss, refLoss[s])
			}
		}
		if r.Step != 3 || r.Sums.Samples != 96 {
			t.Errorf("%s: %d steps over %d samples, want 3 over 96", tc.name, r.Step, r.Sums.Samples)
		}
		closeWeights(t, tc.name, ref, r, 2e-5)
	}

	// A micro-batch that overfills the batch, and a checkpoint taken in
	// the middle of one, are refused.
	r := newRun(8, 1)
	xs := sliceBatch(nil, x, 0, 24)
	if _, _, err := r.TrainMicro(xs, labels[:24]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Checkpoint(); err == nil {
		t.Error("checkpoint in the middle of a batch accepted")
	}
	if _, _, err := r.TrainMicro(xs, labels[:24]); err == nil {
		t.Error("micro-batch overfilling the batch accepted")
	}
}

// In training mode batch norm normalises each micro-batch by its own
// statistics and updates its running statistics once per micro-batch, as
// PyTorch does when accumulating. On a batch of four copies of the same 8
// images the micro-batches' statistics are the batch's, so the weights
// match one batch while the running mean has moved 4 times: (1-0.9^4)/0.1
// as far.
func TestMicroBatchNormPerMicroBatch(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	x8, l8 := quadrantBatch(8, 6)
	x := tensor.New(3, 32, 8, 8)
	labels := make([]int, 32)
	for k := 0; k < 4; k++ {
		for row := 0; row < 3*8*8; row++ {
			copy(x.Data[row*32+k*8:row*32+k*8+8], x8.Data[row*8:row*8+8])
		}
		copy(labels[k*8:], l8)
	}
	runs := map[int]*Run{}
	for _, micro := range []int{0, 8} {
		cfg := smallConfig()
		cfg.Batch, cfg.MicroBatch = 32, micro
		r, err := NewRun(be, cfg, 4, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.TrainStep(x, labels); err != nil {
			t.Fatal(err)
		}
		runs[micro] = r
	}
	closeWeights(t, "copies in micro-batches", runs[0], runs[8], 2e-5)
	want := (1 - math.Pow(0.9, 4)) / 0.1
	checked := 0
	for i, b := range runs[0].Net.Buffers() {
		if !strings.HasSuffix(b.Name, "running_mean") {
			continue
		}
		for c, v := range b.Data {
			got := runs[8].Net.Buffers()[i].Data[c]
			if math.Abs(float64(v)) < 1e-3 {
				continue
			}
			checked++
			if r := float64(got / v); math.Abs(r-want) > 1e-3*want {
				t.Fatalf("%s[%d]: running mean %v after micro-batches, %v after one batch: ratio %v, want %v", b.Name, c, got, v, r, want)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d running means to compare", checked)
	}
}

// A real network trained in micro-batches learns the task, with one
// progress report per optimiser step.
func TestMicroBatchLearns(t *testing.T) {
	cfg := smallConfig()
	cfg.Batch, cfg.MicroBatch = 32, 8
	var progress []Progress
	res, err := Train(context.Background(), cfg, quadrants{n: 512, seed: 1}, quadrants{n: 256, seed: 2},
		Options{Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("top-1 %.4f loss %.4f after %d steps", res.Top1, res.Loss, res.Steps)
	if res.Top1 <= 0.95 {
		t.Errorf("top-1 %.3f on a separable task in micro-batches, want > 0.95", res.Top1)
	}
	if res.Steps != 64 || len(progress) != 64 || progress[63].Step != 64 || res.Samples != 256 {
		t.Errorf("steps %d, progress reports %d, evaluated %d", res.Steps, len(progress), res.Samples)
	}
	// Both report the process's peak; not compared with each other, since
	// another test of this package may reset the peak (ResetPeakRSS) between.
	if progress[0].PeakMemoryB <= 0 || res.PeakMemoryB <= 0 {
		t.Errorf("peak memory %d in progress, %d in the result", progress[0].PeakMemoryB, res.PeakMemoryB)
	}
	bad := cfg
	bad.MicroBatch = 12
	_, err = Train(context.Background(), bad, quadrants{n: 64, seed: 1}, nil, Options{})
	var se *SettingError
	if !errors.As(err, &se) || se.Setting != "MicroBatch" || !strings.Contains(err.Error(), "such as 8") {
		t.Errorf("micro-batch 12 of 32: %v", err)
	}
}

// A batch of 2048 in micro-batches of 64 never holds a 2048-sample working
// set: the peak resident memory of a training step grows with the
// micro-batch, not the batch.
func TestMicroBatchPeakMemory(t *testing.T) {
	if err := ResetPeakRSS(); err != nil || PeakRSS() == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no resettable peak RSS (/proc/self/clear_refs, VmHWM): %v", err)
		}
		t.Skipf("no resettable peak RSS here: %v", err)
	}
	cfg := smallConfig()
	cfg.Batch, cfg.Steps = 2048, 1
	ds := &data.Random{N: 2048, NumClasses: 4, Size: 8, Seed: 1}
	growth := func(micro int) int64 {
		c := cfg
		c.MicroBatch = micro
		if err := ResetPeakRSS(); err != nil {
			t.Fatal(err)
		}
		base := PeakRSS()
		if _, err := Train(context.Background(), c, ds, nil, Options{}); err != nil {
			t.Fatal(err)
		}
		return PeakRSS() - base
	}
	small, whole := growth(64), growth(0)
	t.Logf("peak RSS growth: %.1f MiB in micro-batches of 64, %.1f MiB for the batch of 2048 at once", float64(small)/(1<<20), float64(whole)/(1<<20))
	if small*4 > whole {
		t.Errorf("micro-batches of 64 grew the peak by %d bytes, the whole batch of 2048 by %d: want under a quarter", small, whole)
	}
}

// With a memory limit, a batch whose estimated need exceeds it fails
// before training with the batch and a micro-batch that fits; that
// micro-batch then passes the check, and so does the process's own limit
// (GOMEMLIMIT) when it is large enough.
func TestMemoryLimit(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 1})
	cfg := smallConfig()
	cfg.Batch = 2048
	est, err := EstimateMemory(be, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	if est.PerSampleB <= 0 || est.FixedB <= 0 {
		t.Fatalf("estimate %+v", est)
	}
	limit := est.For(256, 2048) + 128*est.PerSampleB // 256 fits, 512 does not
	if again, _ := EstimateMemory(be, cfg, 4); again != est {
		t.Errorf("estimates differ: %+v then %+v", est, again)
	}
	_, err = newRun(be, cfg, 4, 1, limit)
	var me *MemoryError
	var se *SettingError
	if !errors.As(err, &me) || !errors.As(err, &se) || se.Setting != "MicroBatch" {
		t.Fatalf("batch 2048 over the limit: %v", err)
	}
	if me.Batch != 2048 || me.Micro != 2048 || me.Fits != 256 || !strings.Contains(err.Error(), "batch of 2048") ||
		!strings.Contains(err.Error(), "micro-batch of 256 would fit") {
		t.Errorf("error %v (%+v)", err, me)
	}
	if named := NameSetting(err, map[string]string{"MicroBatch": "--micro-batch"}); !strings.HasSuffix(named.Error(), "change --micro-batch") {
		t.Errorf("named: %v", named)
	}
	cfg.MicroBatch = 256
	if _, err := newRun(be, cfg, 4, 1, limit); err != nil {
		t.Errorf("micro-batch 256 under the limit: %v", err)
	}
	cfg.MicroBatch = 1024
	if _, err := newRun(be, cfg, 4, 1, limit); !errors.As(err, &me) || me.Micro != 1024 || me.Fits != 256 {
		t.Errorf("micro-batch 1024: %v", err)
	}
	// The process's limit applies when no limit is given.
	old := debug.SetMemoryLimit(limit)
	_, err = NewRun(be, cfg, 4, 1)
	debug.SetMemoryLimit(old)
	if !errors.As(err, &me) || me.LimitB != limit {
		t.Errorf("GOMEMLIMIT %d: %v", limit, err)
	}
}
