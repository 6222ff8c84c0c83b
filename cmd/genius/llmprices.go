package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/genius-nas/genius/pricing"
)

// llmPricesFromEnv returns the price table named by $GENIUS_LLM_PRICES, or
// the built-in list prices when it is unset.
func llmPricesFromEnv() (*pricing.Table, error) {
	path := os.Getenv(pricing.EnvTable)
	if path == "" {
		return pricing.Default(), nil
	}
	t, err := pricing.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix the file or unset the variable for the built-in prices)", pricing.EnvTable, err)
	}
	return t, nil
}

type llmPricesOptions struct {
	model string
}

func (o *llmPricesOptions) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.model, "model", "", "print only the price of this model (dated snapshots such as gpt-4o-2024-08-06 take their model's price)")
}

func newLLMPricesCmd() *cobra.Command {
	var o llmPricesOptions
	cmd := &cobra.Command{
		Use:   "llm-prices",
		Short: "Print the LLM price table workers use to cost searches (JSON, US dollars per million tokens)",
		Long: `Print the price table the workers in this environment use: the file named by
GENIUS_LLM_PRICES, else the built-in list prices (with the date they were
read). Save the output, edit it, and point GENIUS_LLM_PRICES at it on the
workers to change prices; a spec's proposer.price overrides both for one
search.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLLMPrices(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd)
	return cmd
}

func runLLMPrices(_ context.Context, o llmPricesOptions, stdout, _ io.Writer) error {
	t, err := llmPricesFromEnv()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if o.model == "" {
		return enc.Encode(t)
	}
	p, ok := t.Lookup(o.model)
	if !ok {
		return fmt.Errorf("--model %q has no price in this table; known models: %v (add it to a table named by %s, or set proposer.price in the spec)", o.model, t.Names(), pricing.EnvTable)
	}
	return enc.Encode(p)
}
