// Package llmtest runs an OpenAI-compatible chat-completions server inside a
// test, scripted with replies, error statuses and delays. It records every
// request it receives so tests can assert on the prompts a search sent.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Step is the server's answer to one request.
type Step struct {
	// Reply is the assistant message content (status 200).
	Reply string
	// Status, when not 0 or 200, makes the server answer with this HTTP
	// status and an OpenAI-style error body holding ErrorMessage.
	Status       int
	ErrorMessage string
	// Delay holds the answer back this long (or until the client goes
	// away), to exercise client timeouts.
	Delay time.Duration
	// Hang holds the answer back until the client gives up.
	Hang bool
	// PromptTokens and CompletionTokens are reported in usage; when zero the
	// server counts whitespace-separated words instead.
	PromptTokens, CompletionTokens int
	// RetryAfter, with Status, sends a Retry-After header (whole seconds,
	// rounded up), as rate limiters do with 429.
	RetryAfter time.Duration
	// Truncated cuts the 200 reply's JSON body in half, as a proxy that
	// drops the connection mid-body does.
	Truncated bool
	// NoChoices answers 200 with an empty choices list.
	NoChoices bool
	// Fault names the fault this step injects (FaultStep sets it); the
	// server counts the faults it served (Faults).
	Fault Fault
}

// Fault is a kind of failure the server can inject.
type Fault string

// The faults FaultStep injects.
const (
	// FaultTimeout holds the answer until the client gives up.
	FaultTimeout Fault = "timeout"
	// FaultRateLimit answers 429 with Retry-After: RateLimitRetryAfter.
	FaultRateLimit Fault = "429-retry-after"
	// FaultServer answers 500.
	FaultServer Fault = "500"
	// FaultTruncated answers 200 with half a JSON body.
	FaultTruncated Fault = "truncated-json"
	// FaultNoChoices answers 200 with no choices.
	FaultNoChoices Fault = "empty-choices"
)

// RateLimitRetryAfter is the Retry-After of FaultRateLimit, longer than a
// retry policy's usual first interval (1 s) so tests can tell it was
// honoured.
const RateLimitRetryAfter = 2 * time.Second

// Faults lists every fault kind, in a fixed order.
var Faults = []Fault{FaultTimeout, FaultRateLimit, FaultServer, FaultTruncated, FaultNoChoices}

// FaultStep is the Step that injects f.
func FaultStep(f Fault) Step {
	switch f {
	case FaultTimeout:
		return Step{Hang: true, Fault: f}
	case FaultRateLimit:
		return Step{Status: http.StatusTooManyRequests, ErrorMessage: "rate limit reached (llmtest)", RetryAfter: RateLimitRetryAfter, Fault: f}
	case FaultServer:
		return Step{Status: http.StatusInternalServerError, ErrorMessage: "internal error (llmtest)", Fault: f}
	case FaultTruncated:
		return Step{Reply: "a reply the client never sees whole", Truncated: true, Fault: f}
	case FaultNoChoices:
		return Step{NoChoices: true, Fault: f}
	}
	panic(fmt.Sprintf("llmtest: unknown fault %q", f))
}

// Reply is a Step that answers with content.
func Reply(content string) Step { return Step{Reply: content} }

// Status is a Step that fails with an HTTP status.
func Status(code int) Step { return Step{Status: code} }

// Request is what the server received.
type Request struct {
	Model         string    `json:"model"`
	Messages      []Message `json:"messages"`
	Temperature   *float64  `json:"temperature"`
	MaxTokens     int       `json:"max_tokens"`
	Seed          *int      `json:"seed"`
	Authorization string    `json:"-"` // the Authorization header
	Path          string    `json:"-"`
}

// Message is one chat message as received.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Last returns the content of the last message (the newest prompt).
func (r Request) Last() string {
	if len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[len(r.Messages)-1].Content
}

// Server is an OpenAI-compatible server. Its zero value is not usable: call
// New or NewServer.
type Server struct {
	// URL is the base URL to give the client (it ends in /v1).
	URL string

	ts *httptest.Server

	mu       sync.Mutex
	script   []Step
	handler  func(Request) Step
	requests []Request
	model    string
	faults   map[Fault]int
}

// TB is the part of testing.TB the server uses.
type TB interface {
	Helper()
	Cleanup(func())
}

// New starts a server answering with the steps in order; the test's cleanup
// closes it. When the script runs out the server answers 500 with a message
// saying so (or calls the handler set with Handle).
func New(t TB, steps ...Step) *Server {
	t.Helper()
	s := NewServer(steps...)
	t.Cleanup(s.Close)
	return s
}

// NewServer is New without a test: the caller must Close it.
func NewServer(steps ...Step) *Server {
	s := &Server{script: append([]Step(nil), steps...), model: "llmtest"}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.serve)
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL + "/v1"
	return s
}

// Close stops the server, releasing any request held by Delay or Hang.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Push appends steps to the script.
func (s *Server) Push(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, steps...)
}

// Handle sets a function that answers once the script is used up, for
// servers that must reply to any number of requests (benchmarks, long
// searches).
func (s *Server) Handle(f func(Request) Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = f
}

// Requests returns a copy of the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// FaultCounts returns how many steps of each fault kind the server has
// served.
func (s *Server) FaultCounts() map[Fault]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Fault]int, len(s.faults))
	for f, n := range s.faults {
		out[f] = n
	}
	return out
}

// Remaining is the number of scripted steps not yet used.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

func (s *Server) next(req Request) (Step, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if len(s.script) > 0 {
		st := s.script[0]
		s.script = s.script[1:]
		return st, true
	}
	if s.handler != nil {
		h := s.handler
		s.mu.Unlock()
		st := h(req)
		s.mu.Lock()
		return st, true
	}
	return Step{}, false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot read body: "+err.Error())
		return
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "body is not a chat completion request: "+err.Error())
		return
	}
	req.Authorization = r.Header.Get("Authorization")
	req.Path = r.URL.Path
	st, ok := s.next(req)
	if !ok {
		writeError(w, http.StatusInternalServerError, "llmtest: script exhausted (no step left for this request)")
		return
	}
	if st.Fault != "" {
		s.mu.Lock()
		if s.faults == nil {
			s.faults = map[Fault]int{}
		}
		s.faults[st.Fault]++
		s.mu.Unlock()
	}
	if st.Hang {
		<-r.Context().Done()
		return
	}
	if st.Delay > 0 {
		t := time.NewTimer(st.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if st.Status != 0 && st.Status != http.StatusOK {
		msg := st.ErrorMessage
		if msg == "" {
			msg = http.StatusText(st.Status)
		}
		if st.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(st.RetryAfter.Seconds()))))
		}
		writeError(w, st.Status, msg)
		return
	}
	pt, ct := st.PromptTokens, st.CompletionTokens
	if pt == 0 {
		for _, m := range req.Messages {
			pt += len(strings.Fields(m.Content))
		}
	}
	if ct == 0 {
		ct = len(strings.Fields(st.Reply))
	}
	model := req.Model
	if model == "" {
		model = s.model
	}
	choices := []map[string]any{{
		"index":         0,
		"message":       map[string]string{"role": "assistant", "content": st.Reply},
		"finish_reason": "stop",
	}}
	if st.NoChoices {
		choices = choices[:0]
	}
	body, err = json.Marshal(map[string]any{
		"id":      fmt.Sprintf("chatcmpl-llmtest-%d", len(s.Requests())),
		"object":  "chat.completion",
		"created": 0,
		"model":   model,
		"choices": choices,
		"usage":   map[string]int{"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "llmtest: "+err.Error())
		return
	}
	if st.Truncated {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"message": msg, "type": "llmtest_error", "code": code},
	})
}
