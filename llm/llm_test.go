package llm_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
)

const testKey = "sk-test-0123456789abcdef"

func chat(t *testing.T, srv *llmtest.Server, timeout time.Duration, req llm.Request) (llm.Response, error) {
	t.Helper()
	c := llm.New(llm.Config{APIKey: testKey, BaseURL: srv.URL, Timeout: timeout})
	return c.Chat(context.Background(), req)
}

func simple() llm.Request {
	return llm.Request{Model: "gpt-4", Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "You are an expert."},
		{Role: llm.RoleUser, Content: "Propose an architecture."},
	}}
}

func TestChatReply(t *testing.T) {
	srv := llmtest.New(t, llmtest.Step{Reply: "[1, 0, 2]", PromptTokens: 42, CompletionTokens: 7})
	resp, err := chat(t, srv, 0, simple())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "[1, 0, 2]" || resp.PromptTokens != 42 || resp.CompletionTokens != 7 {
		t.Errorf("response = %+v", resp)
	}
	if resp.Latency <= 0 {
		t.Errorf("latency %v not measured", resp.Latency)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Authorization != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got.Authorization)
	}
	if got.Model != "gpt-4" || len(got.Messages) != 2 || got.Messages[0].Role != "system" || got.Last() != "Propose an architecture." {
		t.Errorf("request = %+v", got)
	}
	// Temperature 0 must reach the server as (almost) zero, not be dropped
	// (which servers read as their default of 1).
	if got.Temperature == nil || *got.Temperature > 1e-6 {
		t.Errorf("temperature = %v, want present and ~0", got.Temperature)
	}
}

func TestChatTemperatureAndMaxTokens(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply("ok"))
	req := simple()
	req.Temperature = 0.7
	req.MaxTokens = 256
	if _, err := chat(t, srv, 0, req); err != nil {
		t.Fatal(err)
	}
	got := srv.Requests()[0]
	if got.Temperature == nil || *got.Temperature < 0.69 || *got.Temperature > 0.71 || got.MaxTokens != 256 {
		t.Errorf("temperature %v max_tokens %d", got.Temperature, got.MaxTokens)
	}
}

func TestChatErrors(t *testing.T) {
	tests := []struct {
		name      string
		step      llmtest.Step
		kind      llm.Kind
		retryable bool
	}{
		{"rate limit", llmtest.Status(http.StatusTooManyRequests), llm.KindRateLimit, true},
		{"server error", llmtest.Status(http.StatusInternalServerError), llm.KindServer, true},
		{"bad gateway", llmtest.Status(http.StatusBadGateway), llm.KindServer, true},
		{"unavailable", llmtest.Status(http.StatusServiceUnavailable), llm.KindServer, true},
		{"bad request", llmtest.Status(http.StatusBadRequest), llm.KindBadRequest, false},
		{"unauthorized", llmtest.Step{Status: http.StatusUnauthorized, ErrorMessage: "Incorrect API key provided: " + testKey}, llm.KindAuth, false},
		{"forbidden", llmtest.Status(http.StatusForbidden), llm.KindAuth, false},
		{"no model", llmtest.Status(http.StatusNotFound), llm.KindNotFound, false},
		{"too large", llmtest.Status(http.StatusRequestEntityTooLarge), llm.KindBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(t, tt.step)
			_, err := chat(t, srv, 0, simple())
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not *llm.Error", err, err)
			}
			if e.Kind != tt.kind || e.Retryable() != tt.retryable || llm.IsRetryable(err) != tt.retryable {
				t.Errorf("kind %s retryable %v, want %s %v (%v)", e.Kind, e.Retryable(), tt.kind, tt.retryable, err)
			}
			if e.StatusCode != tt.step.Status {
				t.Errorf("status %d, want %d", e.StatusCode, tt.step.Status)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the API key: %v", err)
			}
		})
	}
}

func TestChatTimeout(t *testing.T) {
	srv := llmtest.New(t, llmtest.Step{Hang: true})
	_, err := chat(t, srv, 100*time.Millisecond, simple())
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindTimeout || !e.Retryable() {
		t.Fatalf("err = %v, want retryable timeout", err)
	}
}

func TestChatSlowReplyWithinTimeout(t *testing.T) {
	srv := llmtest.New(t, llmtest.Step{Reply: "[0]", Delay: 50 * time.Millisecond})
	resp, err := chat(t, srv, 10*time.Second, simple())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Latency < 50*time.Millisecond {
		t.Errorf("latency %v shorter than the server's delay", resp.Latency)
	}
}

func TestChatConnectionRefused(t *testing.T) {
	srv := llmtest.NewServer()
	url := srv.URL
	srv.Close()
	c := llm.New(llm.Config{APIKey: testKey, BaseURL: url, Timeout: 5 * time.Second})
	_, err := c.Chat(context.Background(), simple())
	var e *llm.Error
	if !errors.As(err, &e) || e.Kind != llm.KindConnection || !e.Retryable() {
		t.Fatalf("err = %v, want retryable connection error", err)
	}
}

func TestChatNeedsModel(t *testing.T) {
	srv := llmtest.New(t)
	req := simple()
	req.Model = ""
	_, err := chat(t, srv, 0, req)
	if llm.IsRetryable(err) || !strings.Contains(err.Error(), "proposer.model") {
		t.Errorf("err = %v, want non-retryable naming proposer.model", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestConfigStringHidesKey(t *testing.T) {
	s := llm.Config{APIKey: testKey}.String()
	if strings.Contains(s, testKey) || !strings.Contains(s, "api key set") {
		t.Errorf("String() = %q", s)
	}
}

func TestScriptExhausted(t *testing.T) {
	srv := llmtest.New(t, llmtest.Reply("one"))
	if _, err := chat(t, srv, 0, simple()); err != nil {
		t.Fatal(err)
	}
	_, err := chat(t, srv, 0, simple())
	if err == nil || !strings.Contains(err.Error(), "script exhausted") {
		t.Errorf("err = %v", err)
	}
	srv.Handle(func(r llmtest.Request) llmtest.Step { return llmtest.Reply("echo " + r.Last()) })
	resp, err := chat(t, srv, 0, simple())
	if err != nil || resp.Content != "echo Propose an architecture." {
		t.Errorf("handler reply %q, %v", resp.Content, err)
	}
}
