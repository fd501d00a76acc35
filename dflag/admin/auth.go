package admin

import (
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// forwardingHeaders are set by proxies: a request that carries one came
// through a proxy, so its loopback address says nothing about the client.
var forwardingHeaders = []string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
}

// authorize returns 0 if the request may be served, or the status and
// reason that refuse it.
func (h *handler) authorize(r *http.Request) (int, string) {
	if h.tokenSet {
		auth := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return http.StatusUnauthorized, "missing bearer token"
		}
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(h.token)) != 1 {
			return http.StatusUnauthorized, "invalid bearer token"
		}
		return 0, ""
	}
	for _, name := range forwardingHeaders {
		if _, ok := r.Header[name]; ok {
			return http.StatusForbidden, "forwarded request (" + name + " header): only direct loopback clients are served; configure a bearer token"
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return http.StatusForbidden, "client " + r.RemoteAddr + " is not on a loopback address; configure a bearer token"
	}
	return 0, ""
}

// limiter is a token bucket.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// allow takes a token if there is one.
func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if d := now.Sub(l.last); d > 0 {
		l.tokens = min(l.burst, l.tokens+d.Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
