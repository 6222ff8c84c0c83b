package training

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
	"github.com/genius-nas/genius/training/tensor"
)

// quadrants is a separable task: class k has its k-th quadrant bright,
// under pixel noise.
type quadrants struct {
	n    int
	seed uint64
}

func (q quadrants) Len() int        { return q.n }
func (q quadrants) Classes() int    { return 4 }
func (q quadrants) Label(i int) int { return i % 4 }
func (q quadrants) Image(i int) (data.Image, error) {
	r := rand.New(rand.NewPCG(q.seed, uint64(i)))
	k := i % 4
	img := data.Image{W: 8, H: 8, Pix: make([]uint8, 192)}
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			v := 60.0
			if (y/4)*2+x/4 == k {
				v = 180
			}
			v += r.NormFloat64() * 40
			for c := 0; c < 3; c++ {
				img.Pix[(y*8+x)*3+c] = uint8(min(max(v, 0), 255))
			}
		}
	}
	return img, nil
}

func smallConfig() Config {
	return Config{Space: space.NB201Name, Arch: []int{3, 1, 2, 0, 1, 4}, Input: 8, Recipe: recipe.Recipe{Batch: 32, LR: 0.1, Epochs: 4,
		WeightDecay: 1e-4, NoAugment: true, CropFraction: 1, Seed: 3}, NB201Cells: 1, NB201Channels: 8}
}

func TestLearnsSeparableTask(t *testing.T) {
	var progress []Progress
	res, err := Train(context.Background(), smallConfig(), quadrants{n: 512, seed: 1}, quadrants{n: 256, seed: 2},
		Options{Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("top-1 %.4f top-5 %.4f loss %.4f after %d steps", res.Top1, res.Top5, res.Loss, res.Steps)
	if res.Top1 <= 0.95 {
		t.Errorf("top-1 %.3f on a separable task, want > 0.95 (loss %.3f)", res.Top1, res.Loss)
	}
	if res.Steps != 64 || res.Epochs != 4 || len(progress) != 64 || progress[63].Step != 64 {
		t.Errorf("steps %d epochs %d progress reports %d", res.Steps, res.Epochs, len(progress))
	}
	if res.ImagesPerS <= 0 || res.ParamsM <= 0 || res.PeakMemoryB <= 0 || res.Top5 < res.Top1 {
		t.Errorf("result %+v", res)
	}
	if first, last := progress[0].Loss, res.TrainLoss; last >= first/2 {
		t.Errorf("training loss %.3f -> %.3f, expected it to fall", first, last)
	}
}

// A run stopped at a checkpoint and resumed ends with exactly the weights
// of an uninterrupted run: order, augmentation, momentum, EMA and position
// are all restored.
func TestResumeMatchesUninterrupted(t *testing.T) {
	cfg := smallConfig()
	cfg.Epochs, cfg.EMADecay, cfg.NoAugment, cfg.MinScale = 2, 0.9, false, 0.5
	ctx := context.Background()
	ds := quadrants{n: 96, seed: 1}
	be := tensor.NewCPU(tensor.CPUOptions{})

	var final, mid bytes.Buffer
	saveTo := func(buf *bytes.Buffer, atStep int) func(context.Context, *checkpoint.Checkpoint) error {
		return func(_ context.Context, c *checkpoint.Checkpoint) error {
			if atStep == 0 || c.Header.Step == atStep {
				buf.Reset()
				return checkpoint.Write(buf, c)
			}
			return nil
		}
	}
	if _, err := Train(ctx, cfg, ds, nil, Options{Backend: be, Save: saveTo(&final, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(ctx, cfg, ds, nil, Options{Backend: be, Save: saveTo(&mid, 4), CheckpointEvery: 1}); err != nil {
		t.Fatal(err)
	}
	resume, err := checkpoint.Read(&mid)
	if err != nil {
		t.Fatal(err)
	}
	if resume.Header.Step != 4 || resume.Header.Epoch != 1 || resume.Header.StepInEpoch != 1 {
		t.Fatalf("mid checkpoint at step %d epoch %d (+%d), want 4, 1, 1", resume.Header.Step, resume.Header.Epoch, resume.Header.StepInEpoch)
	}
	var resumed bytes.Buffer
	if _, err := Train(ctx, cfg, ds, nil, Options{Backend: be, Resume: resume, Save: saveTo(&resumed, 0)}); err != nil {
		t.Fatal(err)
	}
	a, _ := checkpoint.Read(&final)
	b, _ := checkpoint.Read(&resumed)
	if a.Header.Step != 6 || b.Header.Step != 6 {
		t.Fatalf("final steps %d and %d, want 6", a.Header.Step, b.Header.Step)
	}
	for i, info := range a.Header.Tensors {
		if !slices.Equal(a.Values[i], b.Values[i]) {
			t.Fatalf("tensor %s differs between the uninterrupted and the resumed run", info.Name)
		}
	}

	// The checkpoint of one architecture does not load into another.
	other := cfg
	other.Arch = []int{3, 3, 3, 3, 3, 3}
	run, err := NewRun(be, other, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Restore(a, false); err == nil || !strings.Contains(err.Error(), "architecture it was trained with") {
		t.Errorf("mismatched restore: %v", err)
	}
}

// Data-parallel replicas with synchronised batch norm compute the same
// step as one network on the whole batch (up to float rounding).
func TestReplicasMatchSingleNetwork(t *testing.T) {
	be := tensor.NewCPU(tensor.CPUOptions{Workers: 2})
	cfg := smallConfig()
	cfg.Batch = 32
	ds := quadrants{n: 64, seed: 4}
	x := tensor.New(3, 32, 8, 8)
	labels := make([]int, 32)
	tr := data.Transform{Size: 8, CropFraction: 1}
	for i := range labels {
		img, _ := ds.Image(i)
		tr.Apply(img, nil, x, i)
		labels[i] = ds.Label(i)
	}
	runs := map[int]*Run{}
	for _, reps := range []int{1, 2} {
		c := cfg
		c.Replicas = reps
		r, err := NewRun(be, c, 4, 10)
		if err != nil {
			t.Fatal(err)
		}
		if (r.reps != nil) != (reps > 1) {
			t.Fatalf("replicas %d: data parallel %v", reps, r.reps != nil)
		}
		for s := 0; s < 3; s++ {
			if _, err := r.TrainStep(x, labels); err != nil {
				t.Fatal(err)
			}
		}
		runs[reps] = r
	}
	a, b := runs[1].Net, runs[2].Net
	for i, p := range a.Params() {
		q := b.Params()[i]
		for j := range p.W {
			if d := math.Abs(float64(p.W[j] - q.W[j])); d > 1e-4*(1+math.Abs(float64(p.W[j]))) {
				t.Fatalf("%s[%d]: single %v, replicas %v", p.Name, j, p.W[j], q.W[j])
			}
		}
	}
	for i, buf := range a.Buffers() {
		for j, v := range buf.Data {
			if d := math.Abs(float64(v - b.Buffers()[i].Data[j])); d > 1e-4*(1+math.Abs(float64(v))) {
				t.Fatalf("%s[%d]: single %v, replicas %v", buf.Name, j, v, b.Buffers()[i].Data[j])
			}
		}
	}
	// A batch too small to split still trains (the leader alone).
	if _, err := runs[2].TrainStep(tensor.New(3, 1, 8, 8), []int{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := runs[2].TrainStep(x, append([]int{9}, labels[1:]...)); err == nil {
		t.Error("out-of-range label accepted")
	}
}
