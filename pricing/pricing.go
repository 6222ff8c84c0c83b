package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
)

// EnvTable names the environment variable that points workers at a JSON
// price table instead of the built-in list prices.
const EnvTable = "GENIUS_LLM_PRICES"

// Price is what one model charges, in US dollars per million tokens.
type Price struct {
	PromptUSDPerMTok     float64 `json:"prompt_usd_per_mtok"`
	CompletionUSDPerMTok float64 `json:"completion_usd_per_mtok"`
}

// Cost is the price of promptTokens in and completionTokens out, in US
// dollars.
func (p Price) Cost(promptTokens, completionTokens int) float64 {
	return (float64(promptTokens)*p.PromptUSDPerMTok + float64(completionTokens)*p.CompletionUSDPerMTok) / 1e6
}

// Validate reports a negative or non-finite figure.
func (p Price) Validate() error {
	for _, v := range []float64{p.PromptUSDPerMTok, p.CompletionUSDPerMTok} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("price %g/%g USD per million tokens: prices must be finite and not negative", p.PromptUSDPerMTok, p.CompletionUSDPerMTok)
		}
	}
	return nil
}

// Table maps model names to prices. Read says when the prices were read
// and Source where, so a reader can judge how stale they are.
type Table struct {
	Read   string           `json:"read,omitempty"`
	Source string           `json:"source,omitempty"`
	Models map[string]Price `json:"models"`
}

//go:embed defaults.json
var defaultsJSON []byte

// Default returns the built-in list prices (defaults.json).
func Default() *Table {
	t, err := Parse(defaultsJSON)
	if err != nil {
		panic("pricing: built-in defaults.json: " + err.Error())
	}
	return t
}

// Parse decodes a table strictly (unknown fields are errors) and checks its
// prices.
func Parse(data []byte) (*Table, error) {
	var t Table
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("price table: %w (want {\"models\": {\"MODEL\": {\"prompt_usd_per_mtok\": N, \"completion_usd_per_mtok\": N}}})", err)
	}
	if len(t.Models) == 0 {
		return nil, errors.New("price table has no models: give at least one under \"models\"")
	}
	for name, p := range t.Models {
		if strings.TrimSpace(name) == "" {
			return nil, errors.New("price table has an empty model name")
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("price table, model %q: %w", name, err)
		}
	}
	return &t, nil
}

// Load reads a table from a JSON file.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read price table: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// snapshot matches the date or version suffix of a model snapshot:
// "gpt-4-0613", "gpt-4o-2024-08-06".
var snapshot = regexp.MustCompile(`^-(\d{4}|\d{4}-\d{2}-\d{2})$`)

// Lookup returns the price of a model: its own entry, else that of the
// model it is a dated snapshot of ("gpt-4o-2024-08-06" → "gpt-4o").
func (t *Table) Lookup(model string) (Price, bool) {
	if t == nil {
		return Price{}, false
	}
	if p, ok := t.Models[model]; ok {
		return p, true
	}
	best := ""
	for name := range t.Models {
		if len(name) > len(best) && strings.HasPrefix(model, name) && snapshot.MatchString(model[len(name):]) {
			best = name
		}
	}
	if best == "" {
		return Price{}, false
	}
	return t.Models[best], true
}

// Names lists the table's models, sorted.
func (t *Table) Names() []string {
	names := make([]string, 0, len(t.Models))
	for n := range t.Models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
