package llm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
)

// Every fault llmtest injects is a retryable *llm.Error of the right kind;
// a 429's Retry-After is carried so the retry waits as long as asked.
func TestChatFaults(t *testing.T) {
	want := map[llmtest.Fault]llm.Kind{
		llmtest.FaultTimeout:   llm.KindTimeout,
		llmtest.FaultRateLimit: llm.KindRateLimit,
		llmtest.FaultServer:    llm.KindServer,
		llmtest.FaultTruncated: llm.KindConnection, // an unreadable body, as from a proxy that dropped the connection
		llmtest.FaultNoChoices: llm.KindServer,
	}
	for _, f := range llmtest.Faults {
		t.Run(string(f), func(t *testing.T) {
			srv := llmtest.New(t, llmtest.FaultStep(f), llmtest.Reply("after the fault"))
			_, err := chat(t, srv, 300*time.Millisecond, simple())
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != want[f] || !e.Retryable() {
				t.Fatalf("error %v, want a retryable %s", err, want[f])
			}
			wantAfter := time.Duration(0)
			if f == llmtest.FaultRateLimit {
				wantAfter = llmtest.RateLimitRetryAfter
			}
			if e.RetryAfter != wantAfter {
				t.Errorf("RetryAfter %v, want %v", e.RetryAfter, wantAfter)
			}
			if got := srv.FaultCounts()[f]; got != 1 {
				t.Errorf("server counted %d %s faults, want 1", got, f)
			}
			resp, err := chat(t, srv, 300*time.Millisecond, simple())
			if err != nil || resp.Content != "after the fault" {
				t.Fatalf("the request after the fault: %v %+v", err, resp)
			}
		})
	}
}

func TestRetryAfterForms(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":         0,
		"7":        7 * time.Second,
		"-3":       0,
		"soon":     0,
		"99999999": llm.MaxRetryAfter,
		now.Add(90 * time.Second).Format(http1123): 90 * time.Second,
		now.Add(-time.Hour).Format(http1123):       0,
	} {
		if got := llm.ParseRetryAfter(v, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
