package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/space"
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

func newTableCmd() *cobra.Command {
	var (
		dataDir, benchmark, dataset, arch, key string
		stats, asJSON                          bool
		samples                                int
	)
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
			given := 0
			for _, b := range []bool{arch != "", key != "", stats} {
				if b {
					given++
				}
			}
			if given != 1 {
				return fmt.Errorf("give exactly one of --arch, --key or --stats")
			}
			if benchmark == "" {
				return fmt.Errorf("no --benchmark: use one of %s", strings.Join(bench.Benchmarks(), ", "))
			}
			tab, err := bench.Open(dataDir, benchmark, dataset)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if stats {
				s := tab.Stats()
				if samples != s.Samples {
					if samples < 1 {
						return fmt.Errorf("--samples %d: give a positive number of samples", samples)
					}
					s.Samples = samples
					s.RandomBaseline, s.RandomBaselineRank = tab.RandomBaseline(samples)
				}
				res := statsOutput{Benchmark: tab.Benchmark(), Dataset: tab.Dataset(), Stats: s}
				if asJSON {
					return writeJSONLine(out, res)
				}
				fmt.Fprintf(out, "%s (%s), %d keys\n", res.Benchmark, res.Dataset, s.Of)
				fmt.Fprintf(out, "optimum:         %.4f (%s)\n", s.Optimum, s.OptimumKey)
				fmt.Fprintf(out, "random baseline: %.4f, expected rank %.1f (best of %d uniform samples, exact)\n",
					s.RandomBaseline, s.RandomBaselineRank, s.Samples)
				return nil
			}
			res := tableOutput{Benchmark: tab.Benchmark(), Dataset: tab.Dataset()}
			if arch != "" {
				sp, err := space.New(benchmark)
				if err != nil {
					return err
				}
				a, err := space.ParseList(arch)
				if err != nil {
					return fmt.Errorf("--arch: %w", err)
				}
				if err := sp.Validate(a); err != nil {
					return fmt.Errorf("--arch: %w", err)
				}
				res.Arch, key = a, sp.Key(a)
			}
			r, err := tab.Lookup(key)
			if err != nil {
				return err
			}
			res.Result = r
			if asJSON {
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
		},
	}
	f := cmd.Flags()
	addDataDirFlag(f, &dataDir)
	f.StringVar(&benchmark, "benchmark", "", "benchmark: "+strings.Join(bench.Benchmarks(), ", "))
	f.StringVar(&dataset, "dataset", "", "dataset (nas-bench-201: cifar10, cifar100 or imagenet16-120; default cifar10)")
	f.StringVar(&arch, "arch", "", "architecture as the search space's comma-separated choices")
	f.StringVar(&key, "key", "", "raw table key, for example 10100100")
	f.BoolVar(&stats, "stats", false, "print the optimum and the exact random baseline")
	f.IntVar(&samples, "samples", bench.DefaultSamples, "samples per random-baseline draw (with --stats)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
