// Package devservertest starts a real Temporal dev server for tests.
//
// When the temporal CLI binary is missing a test is skipped locally and fails
// under CI=true, so CI can never pass by silently skipping the real server.
package devservertest

import (
	"context"
	"testing"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/testenv"
)

// Binary returns the temporal CLI binary, or skips (fails under CI) the test.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := devserver.FindBinary()
	if err != nil {
		testenv.Missing(t, "%v", err)
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
