package llm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/genius-nas/genius/llm/chat"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIKey  = "OPENAI_API_KEY"
	EnvBaseURL = "OPENAI_BASE_URL"
)

// DefaultTimeout bounds one chat request when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Config says where the endpoint is and how to authenticate. It never goes
// into a workflow payload: activities hold it as a field.
type Config struct {
	// APIKey is sent as a bearer token. Empty is allowed for local servers
	// that do not check it.
	APIKey string
	// BaseURL of the OpenAI-compatible API, for example
	// "https://api.openai.com/v1" (the default when empty) or
	// "http://localhost:8000/v1" for a vLLM server.
	BaseURL string
	// Timeout bounds one request, connection to last byte. Default
	// DefaultTimeout.
	Timeout time.Duration
	// HTTPClient, when set, is used instead of a fresh one (its Timeout is
	// left alone).
	HTTPClient *http.Client
}

// ConfigFromEnv reads OPENAI_API_KEY and OPENAI_BASE_URL.
func ConfigFromEnv() Config {
	return Config{
		APIKey:  os.Getenv(EnvAPIKey),
		BaseURL: os.Getenv(EnvBaseURL),
	}
}

// HasKey reports whether an API key is configured.
func (c Config) HasKey() bool { return c.APIKey != "" }

// String describes the configuration without the key, and the base URL
// without its user info or query (either can carry a credential).
func (c Config) String() string {
	key := "unset"
	if c.APIKey != "" {
		key = "set"
	}
	base := redactURL(c.BaseURL)
	if base == "" {
		base = "https://api.openai.com/v1"
	}
	return fmt.Sprintf("llm endpoint %s (api key %s, timeout %s)", base, key, c.timeout())
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Role of a chat message (package chat holds them so workflows need not
// import this client).
const (
	RoleSystem    = chat.RoleSystem
	RoleUser      = chat.RoleUser
	RoleAssistant = chat.RoleAssistant
)

// Message is one turn of a chat.
type Message = chat.Message

// Request is one chat completion.
type Request struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	// Temperature 0 is sent as the smallest positive float32, because
	// go-openai omits a zero and servers then use their default of 1.
	Temperature float64 `json:"temperature"`
	// MaxTokens caps the reply; 0 leaves it to the server.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Seed asks the server for reproducible sampling where supported.
	Seed *int `json:"seed,omitempty"`
}

// Response is the model's reply and what it cost.
type Response struct {
	Content          string        `json:"content"`
	Model            string        `json:"model"`
	FinishReason     string        `json:"finish_reason,omitempty"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	Latency          time.Duration `json:"latency"`
}

// Chatter is what the search activities need from a client; tests and
// other backends may provide their own.
type Chatter interface {
	Chat(ctx context.Context, req Request) (Response, error)
}

// Client is a Chatter backed by go-openai.
type Client struct {
	cfg Config
	c   *openai.Client
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	hc := &http.Client{Timeout: cfg.timeout()}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.Transport = retryAfterTransport{base: hc.Transport}
	oc.HTTPClient = hc
	return &Client{cfg: cfg, c: openai.NewClientWithConfig(oc)}
}

// retryAfterKey marks the request context that wants the Retry-After of
// its response (go-openai's errors do not carry the headers).
type retryAfterKey struct{}

// retryAfterTransport records a response's Retry-After into the
// *time.Duration in the request's context.
type retryAfterTransport struct{ base http.RoundTripper }

func (t retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if resp != nil {
		if p, ok := r.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			*p = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads a Retry-After value, seconds or an HTTP date,
// capped at MaxRetryAfter; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	var d time.Duration
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s > 0 {
		d = time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now).Round(time.Second)
	}
	return max(0, min(d, MaxRetryAfter))
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// Chat sends one chat completion request. Errors are *Error.
func (c *Client) Chat(ctx context.Context, req Request) (Response, error) {
	if req.Model == "" {
		return Response{}, &Error{Kind: KindBadRequest, Msg: "no model given: set proposer.model in the spec, for example \"gpt-4\""}
	}
	if len(req.Messages) == 0 {
		return Response{}, &Error{Kind: KindBadRequest, Msg: "no messages to send"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout())
	defer cancel()
	var retryAfter time.Duration
	ctx = context.WithValue(ctx, retryAfterKey{}, &retryAfter)
	msgs := make([]openai.ChatCompletionMessage, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	temp := float32(req.Temperature)
	if temp == 0 {
		temp = math.SmallestNonzeroFloat32
	}
	start := time.Now()
	resp, err := c.c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:       req.Model,
		Messages:    msgs,
		Temperature: temp,
		//lint:ignore SA1019 max_tokens is what OpenAI-compatible servers (vLLM, llama.cpp, Ollama) understand; max_completion_tokens is OpenAI-only.
		MaxTokens: req.MaxTokens,
		Seed:      req.Seed,
	})
	latency := time.Since(start)
	if err != nil {
		e := c.classify(ctx, err, latency)
		if e.Retryable() {
			e.RetryAfter = retryAfter
		}
		return Response{}, e
	}
	if len(resp.Choices) == 0 {
		// A reply with no choices is a server fault; asking again may help.
		return Response{}, &Error{Kind: KindServer, Msg: "the server returned no choices"}
	}
	ch := resp.Choices[0]
	return Response{
		Content:          ch.Message.Content,
		Model:            resp.Model,
		FinishReason:     string(ch.FinishReason),
		PromptTokens:     resp.Usage.PromptTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
		Latency:          latency,
	}, nil
}

// Kind says what went wrong with a request.
type Kind string

// Error kinds. Retryable: RateLimit, Server, Timeout, Connection.
const (
	KindRateLimit  Kind = "rate-limit"
	KindServer     Kind = "server"
	KindTimeout    Kind = "timeout"
	KindConnection Kind = "connection"
	KindAuth       Kind = "auth"
	KindNotFound   Kind = "not-found"
	KindBadRequest Kind = "bad-request"
	KindCanceled   Kind = "canceled"
)

// Error is a failed chat request. Its text never holds the API key.
type Error struct {
	Kind       Kind
	StatusCode int // HTTP status, 0 when none was received
	Msg        string
	// RetryAfter is how long a retryable failure's Retry-After header asked
	// the client to wait (at most MaxRetryAfter); 0 when it sent none.
	RetryAfter time.Duration
}

// MaxRetryAfter caps a server's Retry-After, so one odd header cannot park
// a search for hours.
const MaxRetryAfter = 10 * time.Minute

func (e *Error) Error() string {
	msg := e.Msg
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (the server asks to retry after %s)", e.RetryAfter)
	}
	if e.StatusCode > 0 {
		return fmt.Sprintf("llm %s (HTTP %d): %s", e.Kind, e.StatusCode, msg)
	}
	return fmt.Sprintf("llm %s: %s", e.Kind, msg)
}

// Retryable reports whether asking again later may succeed.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimit, KindServer, KindTimeout, KindConnection:
		return true
	}
	return false
}

// IsRetryable reports whether err is an *Error worth retrying. Unknown
// errors count as retryable: the activity retry policy bounds them.
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return err != nil
}

func (c *Client) classify(ctx context.Context, err error, latency time.Duration) *Error {
	e := &Error{Msg: c.scrub(err.Error())}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		e.StatusCode = apiErr.HTTPStatusCode
		e.Kind = kindOfStatus(apiErr.HTTPStatusCode)
	case errors.As(err, &reqErr):
		e.StatusCode = reqErr.HTTPStatusCode
		e.Kind = kindOfStatus(reqErr.HTTPStatusCode)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Kind = KindTimeout
		e.Msg = fmt.Sprintf("no reply within %s (after %s): %s", c.cfg.timeout(), latency.Round(time.Millisecond), e.Msg)
	case errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
	default:
		// Refused connections, resets, DNS failures and unreadable bodies
		// from a half-working proxy.
		e.Kind = KindConnection
	}
	if e.Kind == KindCanceled && ctx.Err() == context.DeadlineExceeded {
		e.Kind = KindTimeout
	}
	return e
}

func kindOfStatus(code int) Kind {
	switch {
	case code == http.StatusTooManyRequests:
		return KindRateLimit
	case code == http.StatusRequestTimeout:
		return KindTimeout
	case code >= 500:
		return KindServer
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return KindAuth
	case code == http.StatusNotFound:
		return KindNotFound
	case code >= 400:
		return KindBadRequest
	}
	// 2xx/3xx with a broken body: treat like a flaky server.
	return KindServer
}

// scrub removes the API key from text that may echo it (some servers quote
// the key they rejected), and the base URL's user info, query and fragment,
// which net/http quotes in its errors.
func (c *Client) scrub(s string) string {
	secrets := []string{c.cfg.APIKey}
	if u, err := url.Parse(c.cfg.BaseURL); err == nil {
		secrets = append(secrets, u.RawQuery, u.Query().Encode(), u.Fragment, u.EscapedFragment())
		if u.User != nil {
			pw, _ := u.User.Password()
			secrets = append(secrets, u.User.String(), u.User.Username(), pw)
		}
	} else {
		secrets = append(secrets, c.cfg.BaseURL) // quoted whole by the failed request
	}
	for _, k := range secrets {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

// redactURL hides the user info and query of a URL for logs and errors; a
// URL that does not parse is not shown at all, since it may still hold a
// credential.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User != nil {
		u.User = url.User("[redacted]")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "[redacted]", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}
