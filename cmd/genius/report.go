package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/report"
)

// reportOptions are the flags of genius report.
type reportOptions struct {
	client         clientFlags
	workflowID     string
	runID          string
	out            string
	dataDir        string
	compare        string
	compareSetting string
	files          []string
	// dataDirSet tells an explicit --data-dir (an error when unusable, as is
	// GENIUS_DATA_DIR) from the default (a note when unusable).
	dataDirSet bool
}

func (o *reportOptions) AddFlags(fs *pflag.FlagSet) {
	addClientFlags(fs, &o.client)
	fs.StringVar(&o.workflowID, "workflow-id", "", "read this search, experiment or retraining from the server")
	fs.StringVar(&o.runID, "run-id", "", "with --workflow-id: the last run to read (default the latest)")
	fs.StringVarP(&o.out, "out", "o", "", "folder to write the report into (created if missing; default report-<workflow ID>)")
	addDataDirFlag(fs, &o.dataDir)
	fs.StringVar(&o.compare, "compare", "", "CSV of the paper's per-iteration results to overlay (columns benchmark,setting,trial,metric,T0..T9)")
	fs.StringVar(&o.compareSetting, "compare-setting", "", "with --compare: only rows whose setting contains this text, e.g. temperature=0")
}

func newReportCmd() *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report [FILE...] | --workflow-id ID",
		Short: "Write plots (PNG, SVG), report.md and a self-contained report.html for a search, experiment or retraining",
		Long: `Read a GeniusSearch, GeniusExperiment or GeniusRetrain history and write a
folder with:

  accuracy.png/.svg        accuracy per iteration: each trial thin, mean ± std as a band
  rank.png/.svg            the same for the table rank (look-up benchmarks)
  best-so-far.png/.svg     best so far against the exact random baseline
                           (expected best of t uniform samples, t = 1..T)
  flops-accuracy.png/.svg  FLOPs against accuracy with the FLOPs window (ImageNet space)
  retrain-loss.png/.svg, retrain-ema-top1.png/.svg   loss and top-1 per epoch (retraining)
  report.md, report.html   tables in the paper's style: per trial and iteration the
                           architecture, accuracy and rank; best per trial; mean ± std;
                           the baseline. report.html has the plots inline and needs no network.
  report.json              the numbers behind every plot and table

From the server with --workflow-id (all runs, following Continue-As-New),
or from files written by
  temporal workflow show --workflow-id ID --output json > FILE
(several files: the runs of one workflow, oldest first). A running
experiment is reported with its finished trials, a running retraining with
its finished epochs. The baseline curve reads the benchmark tables
(--data-dir). --compare overlays per-iteration results from a CSV, such as
a transcription of the paper's tables.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = args
			o.dataDirSet = cmd.Flags().Changed("data-dir")
			return runReport(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runReport(ctx context.Context, o reportOptions, stdout, stderr io.Writer) error {
	c, runs, err := readRuns(ctx, o.client, o.workflowID, o.runID, o.files,
		"give --workflow-id ID, or history files written by `temporal workflow show --workflow-id ID --output json > FILE`")
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
	}
	trail, err := history.Build(runs...)
	if err != nil {
		return err
	}
	if trail.WorkflowID == "" {
		trail.WorkflowID = o.workflowID
	}
	r, err := report.FromTrail(trail)
	if err != nil {
		return err
	}
	if c != nil && r.Retrain == nil && r.RetrainWorkflowID != "" {
		rt, err := handedOffRetrain(ctx, c, r.RetrainWorkflowID)
		if err != nil {
			// The search's report stands without it; its notes say how to get it.
			fmt.Fprintf(stderr, "genius report: the search's retraining %s: %v\n", r.RetrainWorkflowID, err)
		}
		r.Retrain = rt
	}
	if r.Benchmark != "" && len(r.Trials) > 0 {
		tab, err := bench.Open(o.dataDir, r.Benchmark, r.Dataset)
		switch {
		case err == nil:
			r.AddBaseline(tab)
		case o.dataDirSet:
			return fmt.Errorf("--data-dir: %w", err)
		case os.Getenv("GENIUS_DATA_DIR") != "":
			return fmt.Errorf("GENIUS_DATA_DIR: %w", err)
		default:
			note := fmt.Sprintf("No random-baseline curve: the %s table is not at hand (%v). Get it with `genius data fetch` and point --data-dir (env GENIUS_DATA_DIR) at it.", r.Benchmark, err)
			r.Notes = append(r.Notes, note)
			fmt.Fprintln(stderr, "genius report:", note)
		}
	}
	if o.compare != "" {
		if err := addCompare(r, o.compare, o.compareSetting); err != nil {
			return err
		}
	}

	out := o.out
	if out == "" {
		out = "report-" + safeName(r.WorkflowID)
	}
	files, err := report.Write(out, r, report.WriteOptions{
		CompareFile: filepath.Base(o.compare),
		Progress:    func(p string) { fmt.Fprintln(stderr, "wrote", p) },
	})
	if err != nil {
		return fmt.Errorf("write the report into --out %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "Report of %s %s in %s (%d files); open %s\n", r.WorkflowType, r.WorkflowID, out, len(files), filepath.Join(out, report.HTMLFile))
	return nil
}

// handedOffRetrain reads the retraining a search started (spec retrain
// without wait) from the server.
func handedOffRetrain(ctx context.Context, c client.Client, id string) (*report.Retrain, error) {
	runs, err := fetchRuns(ctx, c, id, "")
	if err != nil {
		return nil, err
	}
	t, err := history.Build(runs...)
	if err != nil {
		return nil, err
	}
	rr, err := report.FromTrail(t)
	if err != nil {
		return nil, err
	}
	if rr.Retrain == nil {
		return nil, fmt.Errorf("%s is a %s, not a retraining", id, t.WorkflowType)
	}
	return rr.Retrain, nil
}

// addCompare reads the --compare CSV and keeps the rows of the report's
// benchmark.
func addCompare(r *report.Report, file, setting string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("--compare: %w", err)
	}
	defer f.Close()
	rows, err := report.ReadCompare(f)
	if err != nil {
		return fmt.Errorf("--compare %s: %w", file, err)
	}
	if r.Benchmark == "" {
		return fmt.Errorf("--compare: %s %s has no benchmark table to match the CSV's rows against; leave --compare out", r.WorkflowType, r.WorkflowID)
	}
	r.Paper = report.MatchCompare(rows, r.Benchmark, r.Dataset, setting)
	if len(r.Paper) == 0 {
		seen := map[string]bool{}
		var have []string
		for _, row := range rows {
			if s := row.Benchmark + " [" + row.Setting + "]"; !seen[s] {
				seen[s] = true
				have = append(have, s)
			}
		}
		sort.Strings(have)
		what := r.Benchmark
		if r.Dataset != "" {
			what += " " + r.Dataset
		}
		if setting != "" {
			what += " with setting containing " + setting
		}
		return fmt.Errorf("--compare %s has no rows for %s; it has: %s", file, what, strings.Join(have, "; "))
	}
	return nil
}

// safeName turns a workflow ID into a folder name.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, id)
}
