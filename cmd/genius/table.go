package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/bench"
)

// tableOutput is what `genius table --json` prints for one look-up.
type tableOutput struct {
	Benchmark string `json:"benchmark"`
	Dataset   string `json:"dataset"`
	Arch      []int  `json:"arch,omitempty"`
	bench.Result
}

// statsOutput is what `genius table --stats --json` prints.
type statsOutput struct {
	Benchmark string `json:"benchmark"`
	Dataset   string `json:"dataset"`
	bench.Stats
}

// tableOptions are `genius table`'s flags.
type tableOptions struct {
	dataDir, benchmark, dataset, arch, key string
	stats, json                            bool
	samples                                int
}

func newTableCmd() *cobra.Command {
	var opts tableOptions
	cmd := &cobra.Command{
		Use:   "table",
		Short: "Look up an architecture in a benchmark table, or print the table's optimum and random baseline",
		Long: `Look up an architecture in a benchmark table (accuracy, competition rank,
percentile), or print the table's optimum and the paper's random baseline
(best of 10 uniform samples, exact expectation) with --stats.

--arch takes the search space's choice list (for the channel benchmarks the
width multiple minus one per layer; for nas-bench-201 one op index 0..4 per
edge); --key takes a raw table key. On nas-bench-201 the accuracy shown to
the model is the validation accuracy; ranks are by test accuracy.`,
		Example: `  genius table --benchmark nas-bench-macro --arch 1,0,1,0,0,1,0,0 --json
  genius table --benchmark nas-bench-201 --dataset cifar100 --arch 3,3,3,1,3,3
  genius table --benchmark channel-bench-resnet --key 4344424
  genius table --benchmark nas-bench-macro --stats --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTable(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *tableOptions) AddFlags(fs *pflag.FlagSet) {
	addDataDirFlag(fs, &f.dataDir)
	fs.StringVar(&f.benchmark, "benchmark", "", "benchmark: "+strings.Join(bench.Benchmarks(), ", "))
	fs.StringVar(&f.dataset, "dataset", "", "dataset (nas-bench-201: cifar10, cifar100 or imagenet16-120; default cifar10)")
	fs.StringVar(&f.arch, "arch", "", "architecture as the search space's comma-separated choices")
	fs.StringVar(&f.key, "key", "", "raw table key, for example 10100100")
	fs.BoolVar(&f.stats, "stats", false, "print the optimum and the exact random baseline")
	fs.IntVar(&f.samples, "samples", bench.DefaultSamples, "samples per random-baseline draw (with --stats)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
}

func runTable(_ context.Context, f tableOptions, out, _ io.Writer) error {
	given := 0
	for _, b := range []bool{f.arch != "", f.key != "", f.stats} {
		if b {
			given++
		}
	}
	if given != 1 {
		return fmt.Errorf("give exactly one of --arch, --key or --stats")
	}
	if f.benchmark == "" {
		return fmt.Errorf("no --benchmark: use one of %s", strings.Join(bench.Benchmarks(), ", "))
	}
	tab, err := bench.Open(f.dataDir, f.benchmark, f.dataset)
	if err != nil {
		return err
	}
	if f.stats {
		s := tab.Stats()
		if f.samples != s.Samples {
			if f.samples < 1 {
				return fmt.Errorf("--samples %d: give a positive number of samples", f.samples)
			}
			s.Samples = f.samples
			s.RandomBaseline, s.RandomBaselineRank = tab.RandomBaseline(f.samples)
		}
		res := statsOutput{Benchmark: tab.Benchmark(), Dataset: tab.Dataset(), Stats: s}
		if f.json {
			return writeJSONLine(out, res)
		}
		fmt.Fprintf(out, "%s (%s), %d keys\n", res.Benchmark, res.Dataset, s.Of)
		fmt.Fprintf(out, "optimum:         %.4f (%s)\n", s.Optimum, s.OptimumKey)
		fmt.Fprintf(out, "random baseline: %.4f, expected rank %.1f (best of %d uniform samples, exact)\n",
			s.RandomBaseline, s.RandomBaselineRank, s.Samples)
		return nil
	}
	res := tableOutput{Benchmark: tab.Benchmark(), Dataset: tab.Dataset()}
	key := f.key
	if f.arch != "" {
		sp, a, err := parseArchFlagIn(f.benchmark, f.arch)
		if err != nil {
			return err
		}
		res.Arch, key = a, sp.Key(a)
	}
	r, err := tab.Lookup(key)
	if err != nil {
		return err
	}
	res.Result = r
	if f.json {
		return writeJSONLine(out, res)
	}
	fmt.Fprintf(out, "%s (%s) %s\n", res.Benchmark, res.Dataset, r.Key)
	if r.TestAccuracy != 0 {
		fmt.Fprintf(out, "validation accuracy %.2f, test accuracy %.2f\n", r.ValAccuracy, r.TestAccuracy)
	} else {
		fmt.Fprintf(out, "accuracy %.2f\n", r.Accuracy)
	}
	fmt.Fprintf(out, "rank %d of %d (percentile %.2f)\n", r.Rank, r.Of, r.Percentile)
	return nil
}
