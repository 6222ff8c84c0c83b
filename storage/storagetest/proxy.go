package storagetest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// CountingProxy is a loopback HTTP reverse proxy that counts the requests it
// forwards, to assert how often a client tried. SigV4 signatures stay valid:
// the Host header the client signed is passed through. When the target is
// down, the proxy answers 502, as a load balancer in front of S3 would.
type CountingProxy struct {
	// Endpoint is the proxy's URL; point the client here.
	Endpoint string
	n        atomic.Int64

	mu      sync.Mutex
	waiters map[int64][]chan struct{}
}

// NewCountingProxy starts a proxy to target (an http:// URL) for the test.
func NewCountingProxy(t testing.TB, target string) *CountingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &CountingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.count()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Endpoint = srv.URL
	return p
}

// Requests is how many requests arrived so far.
func (p *CountingProxy) Requests() int64 { return p.n.Load() }

func (p *CountingProxy) count() {
	n := p.n.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	for at, chs := range p.waiters {
		if n >= at {
			for _, ch := range chs {
				close(ch)
			}
			delete(p.waiters, at)
		}
	}
}

// After returns a channel closed once the proxy has received n requests in all.
func (p *CountingProxy) After(n int64) <-chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n.Load() >= n {
		close(ch)
		return ch
	}
	if p.waiters == nil {
		p.waiters = map[int64][]chan struct{}{}
	}
	p.waiters[n] = append(p.waiters[n], ch)
	return ch
}
