// Package benchtest finds the benchmark tables for tests: the tables are
// third-party data that the repository does not hold.
package benchtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

// EnvDataDir names the folder of the benchmark tables.
const EnvDataDir = "GENIUS_DATA_DIR"

// DataDir returns $GENIUS_DATA_DIR, else shared/data/bench in the nearest
// folder above the working directory that has one. When neither exists the
// test is skipped, or fails under CI=true, where the tables must be present.
// A GENIUS_DATA_DIR that is not a directory fails the test.
func DataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvDataDir); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Fatalf("%s=%s is not a directory: point it at the benchmark tables (`genius data fetch` downloads them)", EnvDataDir, d)
		}
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
	testenv.Missing(t, "benchmark tables not found: set %s (`genius data fetch` downloads them)", EnvDataDir)
	return ""
}
