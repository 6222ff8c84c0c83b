package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/cocoeval"
)

// cocoEvalOptions are the flags of genius coco-eval.
type cocoEvalOptions struct {
	GT, DT  string
	JSON    bool
	Workers int
}

func (o *cocoEvalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.GT, "gt", "", "COCO instances file with the ground truth (e.g. annotations/instances_val2017.json), required")
	fs.StringVar(&o.DT, "dt", "", "COCO results file: a JSON array of {image_id, category_id, bbox, score}, required")
	fs.BoolVar(&o.JSON, "json", false, "print the 12 stats and per-category AP as one line of JSON")
	fs.IntVar(&o.Workers, "workers", 0, "evaluation goroutines; 0 uses every CPU (the result is the same for any number)")
}

func newCocoEvalCmd() *cobra.Command {
	var opts cocoEvalOptions
	cmd := &cobra.Command{
		Use:   "coco-eval --gt INSTANCES.json --dt RESULTS.json",
		Short: "Score bounding-box detections against COCO ground truth exactly as pycocotools' COCOeval does",
		Long: `Score a COCO results file from any detector against a COCO instances file,
with the semantics of pycocotools' COCOeval for bounding boxes and its
default parameters: AP over IoU .50:.05:.95 with 101-point interpolated
precision, AP50, AP75, AP and AR by area (small < 32², medium, large > 96²,
from the ground truth's area), AR at 1, 10 and 100 detections per image,
crowd regions ignored, -1 where there is nothing to average. The numbers
agree with the reference's to rounding noise.

Without --json it prints the reference's summary lines and a per-category
table; --json prints fractions:
{"AP":…,"AP50":…,…,"ARl":…,"per_category_AP":{"<category id>":…}}`,
		Example: `  genius coco-eval --gt annotations/instances_val2017.json --dt retinanet_results.json
  genius coco-eval --gt instances.json --dt results.json --json | jq .AP`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCocoEval(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runCocoEval(ctx context.Context, opts cocoEvalOptions, stdout, stderr io.Writer) error {
	if opts.GT == "" {
		return errors.New("--gt is required: give the COCO instances file with the ground truth, e.g. annotations/instances_val2017.json")
	}
	if opts.DT == "" {
		return errors.New("--dt is required: give the detector's COCO results file, a JSON array of {image_id, category_id, bbox, score}")
	}
	if opts.Workers < 0 {
		return fmt.Errorf("--workers %d: give a positive number, or 0 for every CPU", opts.Workers)
	}
	data, err := os.ReadFile(opts.GT)
	if err != nil {
		return fmt.Errorf("--gt: %w", err)
	}
	gt, err := cocoeval.ParseGroundTruth(data)
	if err != nil {
		return fmt.Errorf("--gt %s: %w", opts.GT, err)
	}
	data, err = os.ReadFile(opts.DT)
	if err != nil {
		return fmt.Errorf("--dt: %w", err)
	}
	dts, err := cocoeval.ParseDetections(data)
	if err != nil {
		return fmt.Errorf("--dt %s: %w", opts.DT, err)
	}
	res, err := cocoeval.Evaluate(ctx, gt, dts, cocoeval.Options{Workers: opts.Workers})
	if err != nil {
		var ee *cocoeval.EntryError
		if errors.As(err, &ee) && ee.List == "detections" {
			return fmt.Errorf("--dt %s: %w", opts.DT, err)
		}
		if errors.As(err, &ee) {
			return fmt.Errorf("--gt %s: %w", opts.GT, err)
		}
		return err
	}
	for i, a := range gt.Annotations {
		if a.ID == 0 {
			fmt.Fprintf(stderr, "warning: --gt %s: annotations[%d] has id 0, which pycocotools (and so this evaluation) never counts as found; number annotations from 1\n", opts.GT, i)
			break
		}
	}
	if opts.JSON {
		return writeJSONLine(stdout, cocoEvalOutput{Stats: res.Stats, PerCategoryAP: perCategoryAP(res.PerCategory)})
	}
	return printCocoSummary(stdout, res)
}

// cocoEvalOutput is what genius coco-eval --json prints.
type cocoEvalOutput struct {
	cocoeval.Stats
	PerCategoryAP perCategoryAP `json:"per_category_AP"`
}

// perCategoryAP marshals as an object keyed by category id, in id order
// (a Go map would sort "10" before "2").
type perCategoryAP []cocoeval.CategoryAP

func (p perCategoryAP) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(strconv.FormatInt(c.ID, 10)))
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(c.AP, 'g', -1, 64))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// printCocoSummary prints the reference's twelve summary lines, then AP
// per category.
func printCocoSummary(w io.Writer, res *cocoeval.Result) error {
	fmt.Fprintf(w, "%d images, %d ground-truth annotations, %d detections\n", res.Images, res.Annotations, res.Detections)
	rows := []struct {
		ap      bool
		iou     string
		area    string
		maxDets int
	}{
		{true, "0.50:0.95", "all", 100}, {true, "0.50", "all", 100}, {true, "0.75", "all", 100},
		{true, "0.50:0.95", "small", 100}, {true, "0.50:0.95", "medium", 100}, {true, "0.50:0.95", "large", 100},
		{false, "0.50:0.95", "all", 1}, {false, "0.50:0.95", "all", 10}, {false, "0.50:0.95", "all", 100},
		{false, "0.50:0.95", "small", 100}, {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100},
	}
	for i, v := range res.Stats.Slice() {
		r := rows[i]
		title, kind := "Average Precision", "(AP)"
		if !r.ap {
			title, kind = "Average Recall", "(AR)"
		}
		fmt.Fprintf(w, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n", title, kind, r.iou, r.area, r.maxDets, v)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tNAME\tAP")
	for _, c := range res.PerCategory {
		ap := fmt.Sprintf("%.3f", c.AP)
		if c.AP == -1 {
			ap = "-1 (no ground truth)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", c.ID, c.Name, ap)
	}
	return tw.Flush()
}
