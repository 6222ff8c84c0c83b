package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/bench"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Download and check the benchmark tables; write synthetic datasets",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDataFetchCmd(), newDataVerifyCmd(), newDataCocoCmd(), newDataCIFARCmd())
	return cmd
}

// dataFetchOptions are `genius data fetch`'s flags.
type dataFetchOptions struct {
	dataDir, baseURL string
}

func newDataFetchCmd() *cobra.Command {
	var opts dataFetchOptions
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download the benchmark tables from their public sources and check their sha256",
		Long: `Download the six benchmark table files (NAS-Bench-Macro, Channel-Bench-Macro
ResNet and MobileNet, NAS-Bench-201 CIFAR-10/CIFAR-100/ImageNet16-120) from
their GitHub repositories at pinned commits into the data directory. Files
already present with the right sha256 are skipped; a download is renamed
into place only after its sha256 matches.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataFetch(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *dataFetchOptions) AddFlags(fs *pflag.FlagSet) {
	addDataDirFlag(fs, &f.dataDir)
	fs.StringVar(&f.baseURL, "base-url", envOr("GENIUS_DATA_BASE_URL", bench.DefaultBaseURL),
		"where raw repository files are served, as <base>/<owner>/<repo>/<commit>/<path> (env GENIUS_DATA_BASE_URL; for mirrors)")
}

func runDataFetch(ctx context.Context, f dataFetchOptions, stdout, _ io.Writer) error {
	if err := bench.Fetch(ctx, bench.FetchOptions{Dir: f.dataDir, BaseURL: f.baseURL, Log: stdout}); err != nil {
		return fmt.Errorf("data fetch: %w", err)
	}
	return nil
}

// dataVerifyOptions are `genius data verify`'s flags.
type dataVerifyOptions struct {
	dataDir string
}

func newDataVerifyCmd() *cobra.Command {
	var opts dataVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every benchmark table is present with its expected size and sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataVerify(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *dataVerifyOptions) AddFlags(fs *pflag.FlagSet) {
	addDataDirFlag(fs, &f.dataDir)
}

func runDataVerify(_ context.Context, f dataVerifyOptions, stdout, _ io.Writer) error {
	var errs []error
	for _, file := range bench.Files() {
		if err := file.Check(f.dataDir); err != nil {
			fmt.Fprintf(stdout, "BAD  %s\n", file.Path)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s\n", file.Path)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("data verify: %w", err)
	}
	return nil
}
