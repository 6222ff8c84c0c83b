// Package testenv decides what a test does when something it needs (data,
// a tool, a CPU feature) is missing: skip on a developer's machine, fail
// under CI, where a skipped test would pass without checking anything.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// EnvCI is the variable CI systems set to "true".
const EnvCI = "CI"

// CI reports whether the tests run under CI ($CI is a true boolean). A
// value that is not a boolean fails the test rather than being guessed at.
func CI(t testing.TB) bool {
	t.Helper()
	v, ok := os.LookupEnv(EnvCI)
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		t.Fatalf("%s=%q is not a boolean: use true or false", EnvCI, v)
	}
	return b
}

// Missing ends t because something it needs is missing: a skip locally, a
// failure under CI. The message should say how to provide it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI(t) {
		t.Fatalf("%s (%s=true: a test may not skip for a missing requirement)", msg, EnvCI)
	}
	t.Skip(msg)
}

// RepoRoot returns the repository root: the nearest folder above the working
// directory (a test's package folder) with go.mod. Test data outside the
// repository is found from there.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}
