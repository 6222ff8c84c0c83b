// Package benchtest finds the benchmark tables for tests: the tables are
// third-party data that the repository does not hold.
package benchtest

import (
	"os"
	"path/filepath"
	"testing"
)

// DataDir returns $GENIUS_DATA_DIR, else shared/data/bench in the nearest
// folder above the working directory that has one. When neither exists the
// test is skipped, or fails under CI=true, where the tables must be present.
func DataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("GENIUS_DATA_DIR"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			c := filepath.Join(d, "shared", "data", "bench")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("benchmark tables not found: set GENIUS_DATA_DIR (`genius data fetch` downloads them)")
	}
	t.Skip("benchmark tables not found: set GENIUS_DATA_DIR (`genius data fetch` downloads them)")
	return ""
}
