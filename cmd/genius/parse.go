package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/space"
)

// parseOutput is what `genius parse` prints for a readable reply.
type parseOutput struct {
	Space     string `json:"space"`
	Arch      []int  `json:"arch"`
	Key       string `json:"key"`       // benchmark table key
	Canonical string `json:"canonical"` // shared by layouts that build the same network
	Text      string `json:"text"`      // the architecture as prompts show it
	// GiveUp is set when the reply also says the model cannot improve.
	GiveUp bool `json:"give_up,omitempty"`
}

// parseOptions are `genius parse`'s flags; stdin is where the reply comes
// from without --file.
type parseOptions struct {
	space, file string
	stdin       io.Reader
}

func newParseCmd() *cobra.Command {
	var opts parseOptions
	cmd := &cobra.Command{
		Use:   "parse",
		Short: "Read an architecture from an LLM reply (stdin) and print it as JSON",
		Long: `Read an architecture from an LLM reply, the way a search does, and print it
as JSON: {"space", "arch", "key", "canonical", "text"}.

The reply may be a bare list, a list in prose or in a code fence (the last
list of the right length wins, one inside a code fence before any outside),
the five "Stage k (Layer a to Layer b): [..]" lines of mobilenetv2-imagenet,
channel numbers for the channel-bench spaces, or op names and cell strings for
nas-bench-201. When the reply cannot be read or is out of range, the command
exits with status 1 and writes the correction a search would send back to the
model on stderr.`,
		Example: `  echo 'I suggest [2, 2, 2, 1, 2, 2, 2, 0].' | genius parse --space nas-bench-macro
  genius parse --space mobilenetv2-imagenet --file reply.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdin = cmd.InOrStdin()
			return runParse(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("space")
	return cmd
}

// AddFlags registers the options' flags on fs.
func (f *parseOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.space, "space", "", "search space of the reply: "+strings.Join(space.Names(), ", "))
	fs.StringVar(&f.file, "file", "", "read the reply from this file instead of stdin (\"-\" is stdin)")
}

func runParse(_ context.Context, f parseOptions, stdout, _ io.Writer) error {
	sp, err := space.New(f.space)
	if err != nil {
		return fmt.Errorf("--space: %w", err)
	}
	in := f.stdin
	if f.file != "" && f.file != "-" {
		file, err := os.Open(f.file)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		defer file.Close()
		in = file
	}
	// Replies are a few kilobytes; 4 MiB is far beyond any real one.
	raw, err := io.ReadAll(io.LimitReader(in, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the reply: %w", err)
	}
	reply := string(raw)
	a, err := sp.Parse(reply)
	if err != nil {
		var c space.Corrector
		if errors.As(err, &c) {
			return &exitError{code: 1, msg: c.Correction()}
		}
		return err
	}
	return writeJSON(stdout, parseOutput{
		Space: sp.Name(), Arch: a, Key: sp.Key(a), Canonical: sp.Canonical(a),
		Text: sp.Format(a), GiveUp: space.IsGiveUp(reply),
	})
}
