package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	down := errors.New("connection refused")
	tests := []struct {
		name       string
		ready      bool
		failed     error
		check      error
		path       string
		wantCode   int
		wantInBody string
	}{
		{"live before start", false, nil, nil, "/healthz", 200, "ok"},
		{"not ready before start", false, nil, nil, "/readyz", 503, "not started"},
		{"ready once started", true, nil, nil, "/readyz", 200, "ok"},
		{"not ready when frontend is down", true, nil, down, "/readyz", 503, "connection refused"},
		{"still live when frontend is down", true, nil, down, "/healthz", 200, "ok"},
		{"failed worker is not live", true, errors.New("fatal poll error"), nil, "/healthz", 503, "fatal poll error"},
		{"failed worker is not ready", true, errors.New("fatal poll error"), nil, "/readyz", 503, "fatal poll error"},
		{"unknown path", true, nil, nil, "/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Check: func(context.Context) error { return tt.check }}
			h.SetReady(tt.ready)
			if tt.failed != nil {
				h.Fail(tt.failed)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantInBody) {
				t.Errorf("GET %s = %d %q; want %d containing %q", tt.path, rec.Code, rec.Body.String(), tt.wantCode, tt.wantInBody)
			}
		})
	}
}
