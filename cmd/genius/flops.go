package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/space"
)

// flopsOutput is what `genius flops --json` prints for one architecture.
type flopsOutput struct {
	FLOPsM  float64 `json:"flops_m"`  // two decimals, as budgets are stated
	ParamsM float64 `json:"params_m"` // two decimals
	FLOPs   int64   `json:"flops"`    // exact multiply-accumulates
	Params  int64   `json:"params"`
	Input   int     `json:"input"`
	Classes int     `json:"classes"`
	Arch    []int   `json:"arch"`
}

// flopsOptions are `genius flops`'s flags.
type flopsOptions struct {
	space, arch    string
	input, classes int
	json, table    bool
}

func newFlopsCmd() *cobra.Command {
	var opts flopsOptions
	cmd := &cobra.Command{
		Use:   "flops",
		Short: "Count FLOPs (multiply-accumulates, as thop counts them) and parameters of an ImageNet architecture",
		Long: `Count the FLOPs (multiply-accumulates, the way the thop profiler counts them)
and parameters of a mobilenetv2-imagenet architecture, or print the per-slot
FLOPs table that goes into the ImageNet prompt (--table).`,
		Example: `  genius flops --arch 1,0,0,0,1,0,1,0,1,1,1,0,4,0,4,3,0,0,4,3,0,4,4,0,5,0,5,5,5,0 --json
  genius flops --table --input 196`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFlops(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *flopsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.space, "space", space.ImageNetName, "search space (only "+space.ImageNetName+" has a FLOPs counter)")
	fs.StringVar(&f.arch, "arch", "", "architecture: 30 comma-separated ops 0..6, stage by stage")
	fs.IntVar(&f.input, "input", 224, "input resolution in pixels (the paper's budgets are at 224)")
	fs.IntVar(&f.classes, "classes", 1000, "number of classes")
	fs.BoolVar(&f.table, "table", false, "print the per-slot FLOPs table (M) of the ImageNet prompt instead")
	fs.BoolVar(&f.json, "json", false, "print JSON")
}

func runFlops(_ context.Context, f flopsOptions, out, _ io.Writer) error {
	if f.space != space.ImageNetName {
		return fmt.Errorf("--space %q: FLOPs are counted for %s only (the table benchmarks are looked up with `genius table`)",
			f.space, space.ImageNetName)
	}
	if f.input <= 0 {
		return fmt.Errorf("--input %d: give a positive input resolution in pixels, for example 224", f.input)
	}
	if f.classes <= 0 {
		return fmt.Errorf("--classes %d: give a positive number of classes, for example 1000", f.classes)
	}
	opts := flops.Options{Input: f.input, Classes: f.classes}
	if f.table {
		if f.arch != "" {
			return fmt.Errorf("give either --arch or --table, not both")
		}
		return printSlotTable(out, flops.Slots(opts).Round(4), f.json)
	}
	if f.arch == "" {
		return fmt.Errorf("no architecture: give --arch with %d comma-separated ops (0..%d), or --table", flops.Positions, flops.Ops-1)
	}
	_, a, err := parseArchFlagIn(f.space, f.arch)
	if err != nil {
		return err
	}
	c, err := flops.MobileNetV2(a, opts)
	if err != nil {
		return fmt.Errorf("--arch: %w", err)
	}
	res := flopsOutput{
		FLOPsM: roundTo(c.FLOPsM(), 2), ParamsM: roundTo(c.ParamsM(), 2),
		FLOPs: int64(c.MACs), Params: c.Params, Input: f.input, Classes: f.classes, Arch: a,
	}
	if f.json {
		return writeJSONLine(out, res)
	}
	fmt.Fprintf(out, "%s %s at %dx%d, %d classes\n", f.space, a, f.input, f.input, f.classes)
	fmt.Fprintf(out, "FLOPs:  %.3f M (%d multiply-accumulates)\n", c.FLOPsM(), res.FLOPs)
	fmt.Fprintf(out, "params: %.3f M (%d)\n", c.ParamsM(), c.Params)
	return nil
}

func printSlotTable(out io.Writer, t flops.SlotTable, asJSON bool) error {
	if asJSON {
		return writeJSONLine(out, t)
	}
	fmt.Fprintf(out, "FLOPs (M) per slot at %dx%d; ops 0..6; first = slot 0 of a stage, rest = slots 1..5\n", t.Input, t.Input)
	for s := range t.First {
		fmt.Fprintf(out, "stage%d_first = %s\n", s+1, floatList(t.First[s][:]))
		fmt.Fprintf(out, "stage%d_rest  = %s\n", s+1, floatList(t.Rest[s][:]))
	}
	fmt.Fprintf(out, "fixed layers (M, %d classes):\n", t.Classes)
	for _, f := range t.Fixed {
		fmt.Fprintf(out, "  %-34s %9.4f", f.Name, f.MFLOPs)
		if f.Paper != 0 {
			fmt.Fprintf(out, "  (paper lists %g)", f.Paper)
		}
		fmt.Fprintln(out)
	}
	return nil
}

func floatList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// roundTo rounds v to the given number of decimals.
func roundTo(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}
