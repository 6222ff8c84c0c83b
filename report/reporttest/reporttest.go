// Package reporttest finds the paper's per-iteration CSV for report tests
// (third-party data, not committed).
package reporttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

// PaperCSV returns the paper's per-iteration CSV: in $GENIUS_PAPER_CSV_DIR,
// else ../shared/data/genius beside the repository root. Missing, the test
// skips (fails under CI=true).
func PaperCSV(t testing.TB) string {
	t.Helper()
	const name = "DERIVED_paper_v1_per_iteration_results.csv"
	dir := os.Getenv("GENIUS_PAPER_CSV_DIR")
	if dir == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "data", "genius")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "%s", "paper CSV not found ("+err.Error()+"): set GENIUS_PAPER_CSV_DIR to the folder holding "+name)
	}
	return p
}
