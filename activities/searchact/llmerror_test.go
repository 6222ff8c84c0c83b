package searchact

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/llm"
)

// An LLM failure maps onto the retry policy: bad requests stop, the rest
// retry, after the server's Retry-After where it sent one.
func TestLLMErrorRetry(t *testing.T) {
	for _, tc := range []struct {
		err          error
		typ          string
		nonRetryable bool
		delay        time.Duration
	}{
		{&llm.Error{Kind: llm.KindRateLimit, StatusCode: 429, RetryAfter: 2 * time.Second}, activities.ErrLLMUnavailable, false, 2 * time.Second},
		{&llm.Error{Kind: llm.KindRateLimit, StatusCode: 429}, activities.ErrLLMUnavailable, false, 0},
		{&llm.Error{Kind: llm.KindServer, StatusCode: 500}, activities.ErrLLMUnavailable, false, 0},
		{&llm.Error{Kind: llm.KindAuth, StatusCode: 401}, activities.ErrLLMRequest, true, 0},
		{errors.New("something else"), activities.ErrLLMUnavailable, false, 0},
	} {
		var app *temporal.ApplicationError
		if !errors.As(llmError(tc.err), &app) {
			t.Fatalf("%v: not an application error", tc.err)
		}
		if app.Type() != tc.typ || app.NonRetryable() != tc.nonRetryable || app.NextRetryDelay() != tc.delay {
			t.Errorf("%v: type %s non-retryable %v delay %v; want %s %v %v", tc.err, app.Type(), app.NonRetryable(), app.NextRetryDelay(), tc.typ, tc.nonRetryable, tc.delay)
		}
	}
}
