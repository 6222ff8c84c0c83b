package gpucheck

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/tensor"
)

// Meta is written beside the checkpoint, in its path + ".json": the data
// to rebuild and what the device measured, for the CPU to compare with.
type Meta struct {
	Device string    `json:"device"`
	DType  string    `json:"dtype"`
	Data   Synthetic `json:"data"`
	// EvalLoss and EvalTop1 are the device's, on the test images.
	EvalLoss float64 `json:"eval_loss"`
	EvalTop1 float64 `json:"eval_top1"`
	// FinalLoss is the device's mean training loss over its last steps.
	FinalLoss float64 `json:"final_loss"`
}

// MetaPath is where the Meta of the checkpoint at path is.
func MetaPath(path string) string { return path + ".json" }

// writeCheckpoint writes r's checkpoint to path and m beside it, each
// through a temporary file, so a failure leaves no half-written file.
func writeCheckpoint(path string, r *training.Run, m Meta) error {
	c, err := r.Checkpoint()
	if err != nil {
		return fmt.Errorf("gpucheck: checkpoint of the device run: %w", err)
	}
	if err := writeFile(path, func(w io.Writer) error { return checkpoint.Write(w, c) }); err != nil {
		return err
	}
	return writeFile(MetaPath(path), func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(m)
	})
}

func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("gpucheck: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("gpucheck: %w", err)
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("gpucheck: writing %s: %w", path, err)
	}
	return nil
}

// ResumeOptions are Resume's settings.
type ResumeOptions struct {
	// CPUWorkers for the CPU engine (0: every core).
	CPUWorkers int
}

// ResumeReport is what the CPU made of a device's checkpoint.
type ResumeReport struct {
	Meta Meta
	// Step is where the checkpoint was taken, Total the schedule's end,
	// which the CPU trains to.
	Step, Total int
	// EvalLoss and EvalTop1 are the CPU's on the test images, with the
	// restored weights, to set against Meta's.
	EvalLoss, EvalTop1 float64
	// EvalTolerance is how far EvalLoss may be from Meta.EvalLoss.
	EvalTolerance float64
	// Losses are the training losses of the steps after the resume.
	Losses []float64
	// Matches: the restored network evaluates as it did on the device.
	// Continues: every step after the resume ran, with a mean loss closer
	// to the device's final loss than to an untrained network's ln(classes).
	Matches, Continues bool
}

// OK reports whether the CPU resumed the run.
func (r *ResumeReport) OK() bool { return r.Matches && r.Continues }

// evalTolerance is how far the CPU's test loss with a device's weights may
// be from the device's own: bf16 activations round to 3 significant
// digits, float32 only differ in the order of sums.
func evalTolerance(dtype string, loss float64) float64 {
	if dtype == "f32" {
		return 1e-3*math.Abs(loss) + 1e-4
	}
	return 0.05*math.Abs(loss) + 0.02
}

// Resume continues on the CPU the run whose checkpoint Run wrote to path
// (and its Meta beside it): it evaluates the restored weights on the
// synthetic test images against the device's figures, then trains the
// rest of the schedule through training.Train, as a resumed run does.
func Resume(ctx context.Context, path string, o ResumeOptions, out io.Writer) (*ResumeReport, error) {
	c, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	var rep ResumeReport
	mb, err := os.ReadFile(MetaPath(path))
	if err != nil {
		return nil, fmt.Errorf("gpucheck: the checkpoint's description: %w (it is written beside the checkpoint)", err)
	}
	if err := json.Unmarshal(mb, &rep.Meta); err != nil {
		return nil, fmt.Errorf("gpucheck: %s: %w", MetaPath(path), err)
	}
	var cfg training.Config
	if err := json.Unmarshal(c.Header.Config, &cfg); err != nil {
		return nil, fmt.Errorf("gpucheck: %s: training configuration: %w", path, err)
	}
	ds, err := rep.Meta.Data.open()
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	classes := ds.train.Classes()
	cpu := tensor.NewCPU(tensor.CPUOptions{Workers: o.CPUWorkers})
	rep.Step, rep.Total = c.Header.Step, cfg.Steps

	r, err := training.NewRun(cpu, cfg, classes, training.NewLoader(cfg, ds.train, 0).Batches())
	if err != nil {
		return nil, fmt.Errorf("gpucheck: resuming on the CPU: %w", err)
	}
	if err := r.Restore(c, true); err != nil {
		return nil, fmt.Errorf("gpucheck: resuming on the CPU: %w", err)
	}
	m, err := r.Evaluate(ctx, evalLoader(cfg, ds.test))
	if err != nil {
		return nil, fmt.Errorf("gpucheck: evaluating the resumed run: %w", err)
	}
	rep.EvalLoss, rep.EvalTop1 = m.Loss, m.Top1
	rep.EvalTolerance = evalTolerance(rep.Meta.DType, rep.Meta.EvalLoss)
	rep.Matches = math.Abs(rep.EvalLoss-rep.Meta.EvalLoss) <= rep.EvalTolerance
	fmt.Fprintf(out, "resumed on the CPU: %s (from %s, %s) at step %d of %d\n", path, rep.Meta.Device, rep.Meta.DType, rep.Step, rep.Total)
	fmt.Fprintf(out, "  test images with the restored weights: loss %.4f top-1 %.3f; on the device %.4f top-1 %.3f: %s (tolerance %.4f)\n",
		rep.EvalLoss, rep.EvalTop1, rep.Meta.EvalLoss, rep.Meta.EvalTop1, verdict(rep.Matches), rep.EvalTolerance)

	_, err = training.Train(ctx, cfg, ds.train, nil, training.Options{Backend: cpu, Resume: c,
		Progress: func(p training.Progress) { rep.Losses = append(rep.Losses, p.Loss) }})
	if err != nil {
		return &rep, fmt.Errorf("gpucheck: training on after the resume: %w", err)
	}
	fresh := math.Log(float64(classes))
	var mean float64
	finite := true
	for _, l := range rep.Losses {
		mean += l / float64(len(rep.Losses))
		finite = finite && !math.IsNaN(l) && !math.IsInf(l, 0)
	}
	rep.Continues = finite && len(rep.Losses) == rep.Total-rep.Step && len(rep.Losses) > 0 &&
		math.Abs(mean-rep.Meta.FinalLoss) < math.Abs(mean-fresh)
	fmt.Fprintf(out, "  %d more steps on the CPU: mean loss %.4f (the device's last %.4f, an untrained network's %.4f): %s\n",
		len(rep.Losses), mean, rep.Meta.FinalLoss, fresh, verdict(rep.Continues))
	return &rep, nil
}

func readCheckpoint(path string) (*checkpoint.Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gpucheck: %w", err)
	}
	defer f.Close()
	c, err := checkpoint.Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("gpucheck: %s: %w", path, err)
	}
	return c, nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}
