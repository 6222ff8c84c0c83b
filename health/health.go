package health

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Checker asks a dependency whether it answers, for example the Temporal
// frontend's health check.
type Checker func(ctx context.Context) error

// Handler serves /healthz and /readyz. The zero value is live and not ready.
type Handler struct {
	// Check, when set, must pass for /readyz to report ready.
	Check Checker
	// CheckTimeout bounds Check. Default 2s.
	CheckTimeout time.Duration

	mu     sync.Mutex
	ready  bool
	failed error
}

// SetReady marks the worker started (true) or stopping (false).
func (h *Handler) SetReady(ready bool) {
	h.mu.Lock()
	h.ready = ready
	h.mu.Unlock()
}

// Fail marks the worker failed for good: both probes report it, so the
// orchestrator restarts the process.
func (h *Handler) Fail(err error) {
	h.mu.Lock()
	h.failed = err
	h.ready = false
	h.mu.Unlock()
}

func (h *Handler) state() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready, h.failed
}

// ServeHTTP answers /healthz and /readyz with 200 "ok" or 503 and the reason.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ready, failed := h.state()
	switch r.URL.Path {
	case "/healthz", "/livez":
		if failed != nil {
			http.Error(w, "worker failed: "+failed.Error(), http.StatusServiceUnavailable)
			return
		}
	case "/readyz":
		if failed != nil {
			http.Error(w, "worker failed: "+failed.Error(), http.StatusServiceUnavailable)
			return
		}
		if !ready {
			http.Error(w, "worker not started", http.StatusServiceUnavailable)
			return
		}
		if h.Check != nil {
			d := h.CheckTimeout
			if d <= 0 {
				d = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			if err := h.Check(ctx); err != nil {
				http.Error(w, fmt.Sprintf("temporal frontend does not answer: %v", err), http.StatusServiceUnavailable)
				return
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
