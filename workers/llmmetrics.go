package workers

import (
	"context"
	"errors"

	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/llm"
)

// genius's own series on a worker's /metrics, recorded through the same
// handler as the SDK's (Prometheus adds _total to counters and _seconds to
// timers).
const (
	// MetricLLMRequests counts LLM requests by outcome (ok, or the
	// llm.Error kind).
	MetricLLMRequests = "genius_llm_requests"
	// MetricLLMLatency is the latency of answered LLM requests.
	MetricLLMLatency = "genius_llm_request_latency"
	// MetricLLMTokens counts tokens by kind (prompt, completion).
	MetricLLMTokens = "genius_llm_tokens"
)

// meteredChatter records every request of next on a metrics handler.
type meteredChatter struct {
	next    llm.Chatter
	metrics client.MetricsHandler
}

func (m meteredChatter) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	resp, err := m.next.Chat(ctx, req)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		var e *llm.Error
		if errors.As(err, &e) {
			outcome = string(e.Kind)
		}
	}
	m.metrics.WithTags(map[string]string{"outcome": outcome}).Counter(MetricLLMRequests).Inc(1)
	if err != nil {
		return resp, err
	}
	m.metrics.Timer(MetricLLMLatency).Record(resp.Latency)
	m.metrics.WithTags(map[string]string{"kind": "prompt"}).Counter(MetricLLMTokens).Inc(int64(resp.PromptTokens))
	m.metrics.WithTags(map[string]string{"kind": "completion"}).Counter(MetricLLMTokens).Inc(int64(resp.CompletionTokens))
	return resp, nil
}
