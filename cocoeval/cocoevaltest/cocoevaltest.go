// Package cocoevaltest finds the reference cases that COCO evaluation is
// tested against: folders holding gt.json, dt.json and expected.json, made
// by pycocotools. They are third-party data and live outside the
// repository.
//
// Without them a test is skipped locally and fails under CI=true, so CI
// can never pass by silently skipping the comparison.
package cocoevaltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

// EnvDir names the variable holding the cases' folder. Unset, it is
// ../shared/data/cocoeval beside the repository; a relative value is taken
// from the repository root.
const EnvDir = "GENIUS_COCOEVAL_DIR"

// Cases returns the folders of the reference cases, sorted, or skips (fails
// under CI) the test.
func Cases(t testing.TB) []string {
	t.Helper()
	dir, err := dir()
	if err == nil {
		var found []string
		found, err = filepath.Glob(filepath.Join(dir, "*", "expected.json"))
		if err == nil && len(found) > 0 {
			cases := make([]string, len(found))
			for i, f := range found {
				cases[i] = filepath.Dir(f)
			}
			return cases
		}
	}
	msg := "no COCO evaluation reference cases (folders with expected.json) in " + dir + "; set " + EnvDir
	if err != nil {
		msg += ": " + err.Error()
	}
	testenv.Missing(t, "%s", msg)
	return nil
}

func dir() (string, error) {
	d := os.Getenv(EnvDir)
	if d == "" {
		d = filepath.Join("..", "shared", "data", "cocoeval")
	}
	if filepath.IsAbs(d) {
		return d, nil
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return d, err
	}
	return filepath.Join(root, d), nil
}
