package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/training/data"
)

// dataCIFAROptions are genius data cifar's flags.
type dataCIFAROptions struct {
	synthetic string
	format    string
	train     int
	test      int
	seed      uint64
}

// AddFlags registers the options on fs.
func (o *dataCIFAROptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.synthetic, "synthetic", "", "write a synthetic dataset in the CIFAR binary format into this folder, required")
	fs.StringVar(&o.format, "format", "cifar10", "cifar10 (10 classes) or cifar100 (100 classes)")
	fs.IntVar(&o.train, "train", 2000, "training images")
	fs.IntVar(&o.test, "test", 500, "test images")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the images")
}

func newDataCIFARCmd() *cobra.Command {
	var o dataCIFAROptions
	cmd := &cobra.Command{
		Use:   "cifar --synthetic DIR",
		Short: "Write a synthetic CIFAR-10/100 binary dataset (coloured shapes) for transfer demos and tests",
		Long: `Write made-up images in the CIFAR binary format (data_batch_1..5.bin and
test_batch.bin for cifar10; train.bin and test.bin for cifar100): each class is
a shape in its own colour on a noisy textured background, so fine-tuning beats
chance within minutes on a CPU. Point a transfer spec's data.dir (or genius
transfer --data) at DIR. For the real datasets, download the binary versions
from https://www.cs.toronto.edu/~kriz/cifar.html instead.`,
		Example: `  genius data cifar --synthetic /tmp/cifar
  genius data cifar --synthetic /tmp/cifar100 --format cifar100 --train 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataCIFAR(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("synthetic")
	return cmd
}

func runDataCIFAR(_ context.Context, o dataCIFAROptions, stdout, _ io.Writer) error {
	if o.format != "cifar10" && o.format != "cifar100" {
		return fmt.Errorf("--format %q: use cifar10 or cifar100", o.format)
	}
	if o.train < 1 || o.test < 1 {
		return fmt.Errorf("--train %d / --test %d: give at least one image each", o.train, o.test)
	}
	paths, err := data.SyntheticCIFAR{Format: o.format, Train: o.train, Test: o.test, Seed: o.seed}.Write(o.synthetic)
	if err != nil {
		return fmt.Errorf("data cifar --synthetic %s: %w", o.synthetic, err)
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stdout, "%d training and %d test images (%s) in %s\n", o.train, o.test, o.format, o.synthetic)
	return nil
}
