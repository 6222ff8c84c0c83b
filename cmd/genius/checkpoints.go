package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/storage"
)

func newCheckpointsCmd() *cobra.Command {
	var storeURL string
	cmd := &cobra.Command{
		Use:   "checkpoints",
		Short: "List, inspect and remove checkpoints in the checkpoint store",
		Long: `List, inspect and remove checkpoints in the checkpoint store (a local directory
or an S3 bucket). Every checkpoint carries the SHA-256 of its content; show
--verify reads it back and checks it.`,
		Example: `  genius checkpoints ls retrain/
  GENIUS_S3_ENDPOINT=http://127.0.0.1:7070 genius checkpoints ls --store s3://ckpt/genius
  genius checkpoints show --verify retrain/run1/step-00001000.ckpt
  genius checkpoints rm retrain/run1/step-00001000.ckpt`,
	}
	addStoreFlag(cmd.PersistentFlags(), &storeURL)
	cmd.AddCommand(newCheckpointsLsCmd(&storeURL), newCheckpointsShowCmd(&storeURL), newCheckpointsRmCmd(&storeURL))
	return cmd
}

// checkpointsLsOptions are `genius checkpoints ls`'s flags and argument.
type checkpointsLsOptions struct {
	store  string // --store, a persistent flag of `genius checkpoints`
	prefix string
	json   bool
}

func newCheckpointsLsCmd(storeURL *string) *cobra.Command {
	var opts checkpointsLsOptions
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List checkpoints whose keys start with PREFIX, sorted by key",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.store = *storeURL
			if len(args) == 1 {
				opts.prefix = args[0]
			}
			return runCheckpointsLs(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *checkpointsLsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print a JSON array of {key, size, mod_time, sha256}")
}

func runCheckpointsLs(ctx context.Context, f checkpointsLsOptions, out, _ io.Writer) error {
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	objs, err := st.List(ctx, f.prefix)
	if err != nil {
		return err
	}
	if f.json {
		if objs == nil {
			objs = []storage.Object{}
		}
		return writeJSON(out, objs)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tMODIFIED")
	for _, o := range objs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Key, checkpointSize(o.Size), o.ModTime.Format(time.RFC3339))
	}
	return tw.Flush()
}

// checkpointsShowOptions are `genius checkpoints show`'s flags and
// argument.
type checkpointsShowOptions struct {
	store, key   string
	json, verify bool
}

func newCheckpointsShowCmd(storeURL *string) *cobra.Command {
	var opts checkpointsShowOptions
	cmd := &cobra.Command{
		Use:   "show KEY",
		Short: "Show a checkpoint's size, time and SHA-256; --verify reads it and checks the checksum",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.store, opts.key = *storeURL, args[0]
			return runCheckpointsShow(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *checkpointsShowOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.BoolVar(&f.verify, "verify", false, "read the whole checkpoint and check its SHA-256")
}

func runCheckpointsShow(ctx context.Context, f checkpointsShowOptions, out, _ io.Writer) error {
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	o, err := st.Stat(ctx, f.key)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no checkpoint %q in %s: list them with `genius checkpoints ls`", f.key, st)
	}
	if err != nil {
		return err
	}
	verified := false
	if f.verify {
		rc, err := st.Get(ctx, f.key)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
		verified = true
	}
	if f.json {
		return writeJSON(out, struct {
			storage.Object
			Store    string `json:"store"`
			Verified bool   `json:"verified"`
		}{o, st.String(), verified})
	}
	fmt.Fprintf(out, "key:      %s\nstore:    %s\nsize:     %d (%s)\nmodified: %s\nsha256:   %s\n",
		o.Key, st, o.Size, checkpointSize(o.Size), o.ModTime.Format(time.RFC3339), o.SHA256)
	if verified {
		fmt.Fprintln(out, "verified: content matches sha256")
	}
	return nil
}

// checkpointsRmOptions are `genius checkpoints rm`'s arguments.
type checkpointsRmOptions struct {
	store string
	keys  []string
}

func newCheckpointsRmCmd(storeURL *string) *cobra.Command {
	var opts checkpointsRmOptions
	cmd := &cobra.Command{
		Use:   "rm KEY...",
		Short: "Remove checkpoints",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.store, opts.keys = *storeURL, args
			return runCheckpointsRm(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// AddFlags registers the options' flags on fs (none beyond --store).
func (f *checkpointsRmOptions) AddFlags(*pflag.FlagSet) {}

func runCheckpointsRm(ctx context.Context, f checkpointsRmOptions, out, _ io.Writer) error {
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	for _, key := range f.keys {
		// Stat first: Delete of a missing key succeeds, a typo should not.
		if _, err := st.Stat(ctx, key); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no checkpoint %q in %s: list them with `genius checkpoints ls`", key, st)
			}
			return err
		}
		if err := st.Delete(ctx, key); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", key)
	}
	return nil
}

// openStore opens the store --store names.
func openStore(ctx context.Context, url string) (storage.Store, error) {
	st, err := storage.Open(ctx, url, storage.S3Options{})
	if err != nil {
		return nil, fmt.Errorf("--store: %w (env GENIUS_CHECKPOINT_STORE)", err)
	}
	return st, nil
}

// checkpointSize prints a size with a binary unit.
func checkpointSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
