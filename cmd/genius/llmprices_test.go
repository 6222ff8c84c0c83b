package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/pricing"
)

func TestLLMPrices(t *testing.T) {
	t.Setenv(pricing.EnvTable, "")
	var out bytes.Buffer
	if err := runLLMPrices(context.Background(), llmPricesOptions{}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"read": "`) || !strings.Contains(s, `"gpt-4"`) {
		t.Errorf("built-in table lacks its date or gpt-4:\n%s", s)
	}
	out.Reset()
	if err := runLLMPrices(context.Background(), llmPricesOptions{model: "gpt-4o-2024-08-06"}, &out, &out); err != nil || !strings.Contains(out.String(), `"prompt_usd_per_mtok": 2.5`) {
		t.Errorf("gpt-4o snapshot: %v\n%s", err, out.String())
	}
	if err := runLLMPrices(context.Background(), llmPricesOptions{model: "my-model"}, &out, &out); err == nil || !strings.Contains(err.Error(), "proposer.price") {
		t.Errorf("unknown model: %v", err)
	}

	dir := t.TempDir()
	own := filepath.Join(dir, "prices.json")
	if err := os.WriteFile(own, []byte(`{"models":{"my-model":{"prompt_usd_per_mtok":1,"completion_usd_per_mtok":2}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(pricing.EnvTable, own)
	out.Reset()
	if err := runLLMPrices(context.Background(), llmPricesOptions{model: "my-model"}, &out, &out); err != nil || !strings.Contains(out.String(), `"completion_usd_per_mtok": 2`) {
		t.Errorf("own table: %v\n%s", err, out.String())
	}
	t.Setenv(pricing.EnvTable, filepath.Join(dir, "missing.json"))
	if _, err := llmPricesFromEnv(); err == nil || !strings.Contains(err.Error(), pricing.EnvTable) {
		t.Errorf("a missing table: %v, want an error naming %s", err, pricing.EnvTable)
	}
}
