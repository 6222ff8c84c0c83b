package pricing

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCost(t *testing.T) {
	p := Price{PromptUSDPerMTok: 30, CompletionUSDPerMTok: 60}
	// 1,000 prompt tokens at $30/M and 500 completion tokens at $60/M.
	if got := p.Cost(1000, 500); math.Abs(got-0.06) > 1e-12 {
		t.Errorf("cost %v, want 0.06", got)
	}
	if got := p.Cost(0, 0); got != 0 {
		t.Errorf("cost of nothing %v", got)
	}
}

func TestLookup(t *testing.T) {
	tbl := Default()
	for _, tc := range []struct {
		model string
		want  float64 // prompt price; -1: unknown
	}{
		{"gpt-4", 30},
		{"gpt-4-0613", 30},         // snapshot of gpt-4
		{"gpt-4o-2024-08-06", 2.5}, // snapshot of gpt-4o
		{"gpt-4o-mini", 0.15},      // its own entry, not gpt-4o's
		{"gpt-4o-mini-2024-07-18", 0.15},
		{"gpt-4o-audio-preview", -1}, // not a snapshot: unknown, not gpt-4o's price
		{"llama-3-70b", -1},
		{"", -1},
	} {
		p, ok := tbl.Lookup(tc.model)
		switch {
		case tc.want < 0 && ok:
			t.Errorf("%q priced %+v, want unknown", tc.model, p)
		case tc.want >= 0 && (!ok || p.PromptUSDPerMTok != tc.want):
			t.Errorf("%q: %+v %v, want prompt price %v", tc.model, p, ok, tc.want)
		}
	}
	var nilTable *Table
	if _, ok := nilTable.Lookup("gpt-4"); ok {
		t.Error("a nil table priced a model")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"models":{"local-llama":{"prompt_usd_per_mtok":0.2,"completion_usd_per_mtok":0.4}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tbl.Lookup("local-llama"); !ok || p.CompletionUSDPerMTok != 0.4 {
		t.Errorf("local-llama: %+v %v", p, ok)
	}
	for name, body := range map[string]string{
		"negative": `{"models":{"m":{"prompt_usd_per_mtok":-1,"completion_usd_per_mtok":1}}}`,
		"unknown":  `{"models":{"m":{"input":1}}}`,
		"empty":    `{"models":{}}`,
	} {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestDefaultsDated(t *testing.T) {
	d := Default()
	if d.Read == "" || d.Source == "" {
		t.Errorf("built-in prices lack the date they were read or their source: %+v", d)
	}
}
