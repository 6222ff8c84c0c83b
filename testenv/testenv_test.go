package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outcome records the first way Missing or CI ended a test (a real Fatalf
// or Skip would end this one too).
type outcome struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (o *outcome) Helper() {}
func (o *outcome) Skip(args ...any) {
	if !o.skipped && !o.failed {
		o.skipped, o.msg = true, fmt.Sprint(args...)
	}
}
func (o *outcome) Fatalf(format string, args ...any) {
	if !o.skipped && !o.failed {
		o.failed, o.msg = true, fmt.Sprintf(format, args...)
	}
}

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		ci              string
		skipped, failed bool
		msgHas          string
	}{
		{"", true, false, "need x"},
		{"false", true, false, "need x"},
		{"0", true, false, "need x"},
		{"true", false, true, "CI=true"},
		{"1", false, true, "need x"},
		{"yes", false, true, `CI="yes" is not a boolean`},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv(EnvCI, tc.ci)
			o := &outcome{TB: t}
			Missing(o, "need %s", "x")
			if o.skipped != tc.skipped || o.failed != tc.failed || !strings.Contains(o.msg, tc.msgHas) {
				t.Errorf("CI=%q: skipped=%v failed=%v msg=%q; want skipped=%v failed=%v msg containing %q",
					tc.ci, o.skipped, o.failed, o.msg, tc.skipped, tc.failed, tc.msgHas)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Dir(wd); root != want {
		t.Errorf("RepoRoot() = %s, want %s (the folder above testenv)", root, want)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Error(err)
	}
}
