// Package llm talks to any OpenAI-compatible chat-completions endpoint
// through github.com/sashabaranov/go-openai.
//
// The client classifies failures so Temporal's retry policy can act on them:
// rate limits (429), server errors (5xx), timeouts and connection failures
// are retryable; bad requests, authentication and missing models
// (400/401/403/404 and other 4xx) are not. The API key comes from Config
// (usually the environment, OPENAI_API_KEY) and is scrubbed from every error
// the package returns, so it cannot leak into workflow histories or logs.
package llm
