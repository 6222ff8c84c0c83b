// Package codecserver serves Temporal's remote codec protocol: POST
// /encode and /decode take and return Payloads as JSON, so the Temporal Web
// UI and `temporal --codec-endpoint` can show payloads that workers
// encrypted. It adds what a browser needs (CORS for the UI's origin) and
// an optional bearer token.
package codecserver

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// DefaultMaxBodyBytes bounds a request; the UI sends one event's payloads
// at a time, each under Temporal's 2 MiB blob limit.
const DefaultMaxBodyBytes = 16 << 20

// Options configure a handler.
type Options struct {
	// Codec encodes and decodes the payloads; required.
	Codec converter.PayloadCodec
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// to call the server, e.g. the Web UI's http://localhost:8233.
	AllowedOrigins []string
	// Token, when set, must come as "Authorization: Bearer <Token>".
	Token string
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger gets rejected requests; nil discards.
	Logger *slog.Logger
}

// New returns the codec server's handler: POST .../encode and .../decode,
// GET /healthz.
func New(o Options) http.Handler {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{o: o, codec: converter.NewPayloadCodecHTTPHandler(o.Codec)}
}

type handler struct {
	o     Options
	codec http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(h.o.AllowedOrigins, origin)
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	w.Header().Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		// A preflight carries no credentials; it only learns what is allowed.
		if !allowed {
			h.o.Logger.Warn("codec server: refused a preflight from an origin not allowed", "origin", origin)
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost || !(strings.HasSuffix(r.URL.Path, "/encode") || strings.HasSuffix(r.URL.Path, "/decode")) {
		http.NotFound(w, r)
		return
	}
	if h.o.Token != "" && !h.authorized(r) {
		h.o.Logger.Warn("codec server: refused a request without the bearer token", "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="genius codec server"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	h.codec.ServeHTTP(w, r)
}

func (h *handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.o.Token)) == 1
}
