// Package devservertest starts a real Temporal dev server for tests.
//
// When the temporal CLI binary is missing a test is skipped locally and fails
// under CI=true, so CI can never pass by silently skipping the real server.
package devservertest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/genius-nas/genius/devserver"
)

// Binary returns the temporal CLI binary, or skips (fails under CI) the test.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := devserver.FindBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return bin
}

// Start starts a dev server for t and stops it when t ends. Server output
// goes to the test log only when the start fails (it is in the error).
func Start(t testing.TB, opts devserver.Options) *devserver.Server {
	t.Helper()
	if opts.Bin == "" {
		opts.Bin = Binary(t)
	}
	s, err := devserver.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop dev server: %v", err)
		}
	})
	return s
}

// StartMain is Start for TestMain, where there is no *testing.T yet: it
// returns (nil, reason) when the binary is missing outside CI so that tests
// can skip, and exits the process when it is missing under CI.
func StartMain(opts devserver.Options) (*devserver.Server, string) {
	if opts.Bin == "" {
		bin, err := devserver.FindBinary()
		if err != nil {
			if os.Getenv("CI") == "true" {
				os.Stderr.WriteString("FAIL: " + err.Error() + "\n")
				os.Exit(1)
			}
			return nil, strings.TrimSpace(err.Error())
		}
		opts.Bin = bin
	}
	s, err := devserver.Start(context.Background(), opts)
	if err != nil {
		os.Stderr.WriteString("FAIL: start dev server: " + err.Error() + "\n")
		os.Exit(1)
	}
	return s, ""
}
