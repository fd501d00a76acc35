package middleware

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

// Loopback reports whether r came from a loopback address (127.0.0.0/8,
// ::1) and carries no forwarding header (Forwarded, X-Forwarded-For,
// X-Forwarded-Host, X-Forwarded-Proto, X-Real-Ip): a reverse proxy on the
// same host does not make a remote client local. It is the default rule for
// opting in.
func Loopback(r *http.Request) bool {
	for _, name := range forwardingHeaders {
		if _, ok := r.Header[name]; ok {
			return false
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// BearerToken returns a rule that holds for requests that carry the header
// "Authorization: Bearer <token>", from any address; the comparison takes
// constant time. Send the token over TLS only. BearerToken panics if token
// is empty.
func BearerToken(token string) func(*http.Request) bool {
	if token == "" {
		panic("middleware: BearerToken: empty token")
	}
	want := []byte(token)
	return func(r *http.Request) bool {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) == 1
	}
}

// authorized reports whether r may opt in.
func (h *handler) authorized(r *http.Request) bool {
	for _, allow := range h.cfg.allow {
		if allow(r) {
			return true
		}
	}
	return false
}

// bucket is a token bucket. It is only consulted for requests that asked
// to be traced and were authorised, so a mutex is cheap enough; a small
// type saves a dependency (golang.org/x/time/rate is not otherwise needed).
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// take takes a token if there is one.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
