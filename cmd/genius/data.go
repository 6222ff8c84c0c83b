package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/bench"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Download and check the benchmark tables; write synthetic datasets",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDataFetchCmd(), newDataVerifyCmd(), newDataCIFARCmd())
	return cmd
}

func newDataFetchCmd() *cobra.Command {
	var dataDir, baseURL string
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
			err := bench.Fetch(cmd.Context(), bench.FetchOptions{Dir: dataDir, BaseURL: baseURL, Log: cmd.OutOrStdout()})
			if err != nil {
				return fmt.Errorf("data fetch: %w", err)
			}
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	cmd.Flags().StringVar(&baseURL, "base-url", envOr("GENIUS_DATA_BASE_URL", bench.DefaultBaseURL),
		"where raw repository files are served, as <base>/<owner>/<repo>/<commit>/<path> (env GENIUS_DATA_BASE_URL; for mirrors)")
	return cmd
}

func newDataVerifyCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every benchmark table is present with its expected size and sha256",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var errs []error
			for _, f := range bench.Files() {
				if err := f.Check(dataDir); err != nil {
					fmt.Fprintf(out, "BAD  %s\n", f.Path)
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(out, "ok   %s\n", f.Path)
			}
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("data verify: %w", err)
			}
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	return cmd
}
