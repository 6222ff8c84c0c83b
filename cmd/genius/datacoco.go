package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/training/coco"
)

// dataCocoOptions are the flags of genius data coco.
type dataCocoOptions struct {
	synthetic string
	check     string
	train     int
	val       int
	seed      uint64
	overwrite bool
}

func (o *dataCocoOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.synthetic, "synthetic", "", "write a synthetic COCO-format detection dataset into this folder")
	fs.StringVar(&o.check, "check", "", "read the instances files of a COCO folder and check that every image they list is there")
	fs.IntVar(&o.train, "train", 64, "with --synthetic: images in train2017")
	fs.IntVar(&o.val, "val", 16, "with --synthetic: images in val2017")
	fs.Uint64Var(&o.seed, "seed", 1, "with --synthetic: the same seed writes the same files")
	fs.BoolVar(&o.overwrite, "overwrite", false, "with --synthetic: replace a dataset already in the folder")
}

func newDataCocoCmd() *cobra.Command {
	var o dataCocoOptions
	cmd := &cobra.Command{
		Use:   "coco --synthetic DIR | --check DIR",
		Short: "Write a synthetic COCO-format detection dataset, or check a COCO folder",
		Long: `A COCO folder is laid out as COCO 2017's:

  DIR/annotations/instances_train2017.json   DIR/train2017/*.jpg
  DIR/annotations/instances_val2017.json     DIR/val2017/*.jpg

--synthetic writes one: JPEG images of rectangles, ellipses and triangles
(one category each) on textured backgrounds, every fourth image with a
crowd region (iscrowd 1) of many small shapes, with boxes, polygon or
run-length segmentations and areas. The same seed writes the same bytes.

--check reads a folder's instances files (the real COCO 2017 unpacked from
cocodataset.org, or a synthetic one) and checks that every listed image
exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataCoco(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runDataCoco(ctx context.Context, o dataCocoOptions, stdout, _ io.Writer) error {
	switch {
	case (o.synthetic == "") == (o.check == ""):
		return errors.New("data coco: give --synthetic DIR to write a synthetic dataset, or --check DIR to check one")
	case o.check != "":
		return checkCoco(ctx, o.check, stdout)
	case o.train < 1 || o.val < 1:
		return fmt.Errorf("data coco: --train %d and --val %d must be at least 1", o.train, o.val)
	}
	sums, err := coco.WriteSynthetic(o.synthetic, coco.SyntheticOptions{Train: o.train, Val: o.val, Seed: o.seed, Overwrite: o.overwrite})
	if err != nil {
		if errors.Is(err, coco.ErrExists) {
			return fmt.Errorf("data coco: %w (pass --overwrite to replace it, or choose another folder)", err)
		}
		return fmt.Errorf("data coco: %w", err)
	}
	for _, s := range sums {
		fmt.Fprintf(stdout, "%-9s %4d images  %4d objects  %3d crowd regions  %s\n", s.Split, s.Images, s.Objects, s.Crowd, s.Annotations)
	}
	return nil
}

// checkCoco reads each split's instances file and stats every image.
func checkCoco(ctx context.Context, dir string, stdout io.Writer) error {
	found := 0
	for _, split := range []string{coco.TrainSplit, coco.ValSplit} {
		ann := coco.AnnotationPath(dir, split)
		if _, err := os.Stat(ann); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "%-9s absent (%s)\n", split, ann)
			continue
		}
		found++
		ds, err := coco.Open(ann, coco.ImageDir(dir, split))
		if err != nil {
			return fmt.Errorf("data coco: %w", err)
		}
		objects, crowd := 0, 0
		for i, im := range ds.Instances.Images {
			if i%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if _, err := os.Stat(filepath.Join(ds.ImageDir, filepath.FromSlash(im.FileName))); err != nil {
				return fmt.Errorf("data coco: %s: images[%d] (id %d): %w", ann, i, im.ID, err)
			}
			o := ds.Objects(i)
			objects += len(o.Boxes)
			crowd += len(o.Crowd)
		}
		fmt.Fprintf(stdout, "%-9s %6d images  %7d objects  %5d crowd regions  %3d categories  ok\n", split, ds.Len(), objects, crowd, len(ds.Classes))
	}
	if found == 0 {
		return fmt.Errorf("data coco: no instances files under %s: want %s or %s", dir,
			coco.AnnotationPath(dir, coco.TrainSplit), coco.AnnotationPath(dir, coco.ValSplit))
	}
	return nil
}
