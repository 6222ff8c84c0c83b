package main

import (
	"encoding/json"
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

// addStoreFlag registers --store, defaulting to $GENIUS_CHECKPOINT_STORE or ./checkpoints.
func addStoreFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "store", envOr("GENIUS_CHECKPOINT_STORE", defaultCheckpointStore),
		"checkpoint store: file:///path or s3://bucket/prefix (env GENIUS_CHECKPOINT_STORE; S3 settings from GENIUS_S3_ENDPOINT, GENIUS_S3_REGION, GENIUS_S3_PATH_STYLE, credentials from the AWS chain)")
}

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

func newCheckpointsLsCmd(storeURL *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List checkpoints whose keys start with PREFIX, sorted by key",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := storage.Open(cmd.Context(), *storeURL, storage.S3Options{})
			if err != nil {
				return err
			}
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			objs, err := st.List(cmd.Context(), prefix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if objs == nil {
					objs = []storage.Object{}
				}
				return writeCheckpointsJSON(out, objs)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tSIZE\tMODIFIED")
			for _, o := range objs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Key, checkpointSize(o.Size), o.ModTime.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {key, size, mod_time, sha256}")
	return cmd
}

func newCheckpointsShowCmd(storeURL *string) *cobra.Command {
	var asJSON, verify bool
	cmd := &cobra.Command{
		Use:   "show KEY",
		Short: "Show a checkpoint's size, time and SHA-256; --verify reads it and checks the checksum",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := storage.Open(ctx, *storeURL, storage.S3Options{})
			if err != nil {
				return err
			}
			o, err := st.Stat(ctx, args[0])
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no checkpoint %q in %s: list them with `genius checkpoints ls`", args[0], st)
			}
			if err != nil {
				return err
			}
			verified := false
			if verify {
				rc, err := st.Get(ctx, args[0])
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
			out := cmd.OutOrStdout()
			if asJSON {
				return writeCheckpointsJSON(out, struct {
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
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&verify, "verify", false, "read the whole checkpoint and check its SHA-256")
	return cmd
}

func newCheckpointsRmCmd(storeURL *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm KEY...",
		Short: "Remove checkpoints",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := storage.Open(ctx, *storeURL, storage.S3Options{})
			if err != nil {
				return err
			}
			for _, key := range args {
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
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", key)
			}
			return nil
		},
	}
	return cmd
}

func writeCheckpointsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
