package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/genius-nas/genius/accel"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/training"
	"github.com/genius-nas/genius/training/checkpoint"
	"github.com/genius-nas/genius/training/data"
)

// trainOutput is what `genius train --json` prints.
type trainOutput struct {
	Top1       float64 `json:"top1"` // fraction
	Top5       float64 `json:"top5"`
	Loss       float64 `json:"loss"`
	ImagesPerS float64 `json:"images_per_s"`
	ParamsM    float64 `json:"params_m"`
	Steps      int     `json:"steps"`
	PeakMemMiB float64 `json:"peak_memory_mib"`
	// PeakDeviceMiB is the GPU memory at most in use (absent on the CPU).
	PeakDeviceMiB float64 `json:"peak_device_memory_mib,omitempty"`
	Backend       string  `json:"backend"`
}

// trainOptions are `genius train`'s flags.
type trainOptions struct {
	cfg                  training.Config
	space, arch, dataDir string
	format, checkpoint   string
	valFraction          float64
	json                 bool
	backend              backendOptions
	// env holds environment defaults that did not parse.
	env envDefaults
}

func newTrainCmd() *cobra.Command {
	var opts trainOptions
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train one network of a search space on the CPU or a GPU and report accuracy and throughput",
		Long: `Train one network, built from an architecture of a search space, with the
genius training engine, then evaluate it: on the dataset's evaluation split
(the CIFAR test file, or an image folder's val/ sub-folder) when it has one,
otherwise on --val-fraction of the training images held out with --seed.
Without --data it trains on random images for --steps steps (throughput).
--backend cuda trains on an NVIDIA GPU, with a genius built with CUDA.`,
		Example: `  genius train --space nas-bench-macro --arch 1,0,1,0,0,1,0,0 --data ./cifar-10-batches-bin --format cifar10 --epochs 1
  genius train --space mobilenetv2-imagenet --arch 1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0 \
      --classes 10 --input 32 --batch 64 --steps 20 --json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.env.check(cmd.Flags()); err != nil {
				return err
			}
			return runTrain(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("space")
	_ = cmd.MarkFlagRequired("arch")
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *trainOptions) AddFlags(fs *pflag.FlagSet) {
	cfg := &f.cfg
	fs.StringVar(&f.space, "space", "", "search space: "+space.ImageNetName+", "+space.NASBenchMacroName+", "+space.ChannelResNetName+", "+space.ChannelMobileNetName+" or "+space.NB201Name)
	fs.StringVar(&f.arch, "arch", "", "architecture: comma-separated choice indices")
	fs.StringVar(&f.dataDir, "data", "", "dataset folder (empty: random images, needs --steps)")
	fs.StringVar(&f.format, "format", "cifar10", "dataset format: cifar10, cifar100 or imagefolder")
	fs.IntVar(&cfg.Input, "input", 32, "input resolution in pixels")
	fs.IntVar(&cfg.Classes, "classes", 0, "classifier outputs (0: the dataset's classes; 10 for random data)")
	addRecipeFlags(fs, &cfg.Recipe)
	fs.Float64Var(&f.valFraction, "val-fraction", 0.01, "share of training images held out when the data has no evaluation split")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "write the final checkpoint to this file")
	f.backend.AddFlags(fs, &f.env, string(accel.CPU), "")
	fs.BoolVar(&f.json, "json", false, `print {"top1","top5","loss","images_per_s","params_m",...} as JSON`)
}

func runTrain(ctx context.Context, f trainOptions, stdout, stderr io.Writer) error {
	a, err := parseArchFlag(f.arch)
	if err != nil {
		return err
	}
	cfg := f.cfg
	cfg.Space, cfg.Arch = f.space, a
	if cfg.Input <= 64 && cfg.CropFraction == 0 {
		cfg.CropFraction = 1 // small inputs are used whole
	}
	acc, err := openBackend(f.backend, accel.CPU, "genius train")
	if err != nil {
		return err
	}
	defer acc.Close()
	train, val, err := trainData(f.dataDir, f.format, cfg, f.valFraction)
	if err != nil {
		return err
	}
	if acc.Device != nil {
		fmt.Fprintf(stderr, "training on %s\n", acc.Name())
	}
	opts := training.Options{Progress: progressPrinter(stderr, cfg, train), Device: acc.Device}
	if f.checkpoint != "" {
		opts.Save = func(_ context.Context, c *checkpoint.Checkpoint) error { return saveCheckpoint(f.checkpoint, c) }
	}
	res, err := training.Train(ctx, cfg, train, val, opts)
	switch {
	case errors.Is(err, training.ErrDeviceUnsupported):
		return fmt.Errorf("on %s: %w: train it with --backend cpu", acc.Name(), err)
	case accel.OutOfMemory(err):
		return fmt.Errorf("%w: pass a smaller --micro-batch (a divisor of --batch %d; the step stays that of the whole batch)", err, cfg.Batch)
	case err != nil:
		return training.NameSetting(err, trainFlags)
	}
	o := trainOutput{Top1: res.Top1, Top5: res.Top5, Loss: res.Loss, ImagesPerS: res.ImagesPerS, ParamsM: res.ParamsM,
		Steps: res.Steps, PeakMemMiB: float64(res.PeakMemoryB) / (1 << 20), PeakDeviceMiB: float64(res.DevicePeakB) / (1 << 20),
		Backend: res.Backend}
	if f.json {
		return writeJSONLine(stdout, o)
	}
	device := ""
	if o.PeakDeviceMiB > 0 {
		device = fmt.Sprintf(", device %.0f MiB", o.PeakDeviceMiB)
	}
	fmt.Fprintf(stdout, "top-1 %.4f  top-5 %.4f  loss %.4f  %.1f images/s  %.2f M params  %d steps  peak %.0f MiB%s  (%s)\n",
		o.Top1, o.Top5, o.Loss, o.ImagesPerS, o.ParamsM, o.Steps, o.PeakMemMiB, device, o.Backend)
	return nil
}

// trainFlags name the flag of each training setting: the recipe's are
// their JSON names with dashes.
var trainFlags = recipeFlagNames(map[string]string{"Arch": "--arch", "Classes": "--classes", "Input": "--input"})

// trainData opens the training data and the data to evaluate on.
func trainData(dir, format string, cfg training.Config, valFraction float64) (train, val data.Dataset, err error) {
	if dir == "" {
		if cfg.Steps <= 0 {
			return nil, nil, fmt.Errorf("without --data, give --steps N to train on random images")
		}
		classes := cfg.Classes
		if classes <= 0 {
			classes = 10
		}
		return &data.Random{N: cfg.Steps * cfg.Batch, NumClasses: classes, Size: cfg.Input, Seed: cfg.Seed},
			&data.Random{N: cfg.Batch, NumClasses: classes, Size: cfg.Input, Seed: cfg.Seed + 1}, nil
	}
	switch format {
	case "cifar10", "cifar100":
		tr, err := data.OpenCIFAR(dir, format, true)
		if err != nil {
			return nil, nil, err
		}
		te, err := data.OpenCIFAR(dir, format, false)
		if err != nil {
			return nil, nil, err
		}
		return tr, te, nil
	case "imagefolder":
		trDir, valDir := dir, filepath.Join(dir, "val")
		if st, err := os.Stat(filepath.Join(dir, "train")); err == nil && st.IsDir() {
			trDir = filepath.Join(dir, "train")
		}
		tr, err := data.OpenImageFolder(trDir)
		if err != nil {
			return nil, nil, err
		}
		if st, err := os.Stat(valDir); err == nil && st.IsDir() {
			va, err := data.OpenImageFolder(valDir)
			return tr, va, err
		}
		t, v, err := data.Split(tr, valFraction, cfg.Seed)
		return t, v, err
	}
	return nil, nil, fmt.Errorf("--format %q is not known: use cifar10, cifar100 or imagefolder", format)
}

// progressPrinter draws a progress bar on a terminal and prints a plain
// line every few seconds otherwise.
func progressPrinter(w io.Writer, cfg training.Config, train data.Dataset) func(training.Progress) {
	total := cfg.Steps
	if total <= 0 {
		total = cfg.Epochs * (train.Len() / cfg.Batch)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("training"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
		return func(p training.Progress) {
			bar.Describe(fmt.Sprintf("epoch %d  loss %.3f  %.0f img/s", p.Epoch+1, p.Loss, p.ImagesPerS))
			_ = bar.Set(p.Step)
			if p.Step >= p.TotalSteps {
				_ = bar.Finish()
			}
		}
	}
	var last time.Time
	return func(p training.Progress) {
		if time.Since(last) < 5*time.Second && p.Step < p.TotalSteps && p.Step > 1 {
			return
		}
		last = time.Now()
		eta := time.Duration(0)
		if p.Step > 0 {
			eta = time.Duration(float64(p.Elapsed) / float64(p.Step) * float64(p.TotalSteps-p.Step)).Round(time.Second)
		}
		device := ""
		if p.DevicePeakB > 0 {
			device = fmt.Sprintf(" (device %.0f MiB)", float64(p.DevicePeakB)/(1<<20))
		}
		fmt.Fprintf(w, "step %d/%d  epoch %d  loss %.4f  %.1f images/s  peak memory %.0f MiB%s  eta %s\n", p.Step, p.TotalSteps, p.Epoch+1, p.Loss,
			p.ImagesPerS, float64(p.PeakMemoryB)/(1<<20), device, eta)
	}
}

func saveCheckpoint(path string, c *checkpoint.Checkpoint) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("--checkpoint: %w", err)
	}
	if err := checkpoint.Write(f, c); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
