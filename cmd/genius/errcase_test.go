package main

import (
	"strings"
	"testing"
)

// errCase checks a table case's error: with part set, err must contain it
// and the case is done; without, err must be nil.
func errCase(t *testing.T, err error, part string) (done bool) {
	t.Helper()
	if part != "" {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Fatalf("err = %v, want containing %q", err, part)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}
