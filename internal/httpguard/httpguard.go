// Package httpguard holds the request checks shared by the HTTP surfaces
// that can switch code (the operator console and the tracing middleware):
// who is a local client, bearer tokens, and a token bucket for rate limits.
package httpguard

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

// ForwardingHeader returns the first forwarding header (Forwarded,
// X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Real-Ip) that r
// carries, or "".
func ForwardingHeader(r *http.Request) string {
	for _, name := range forwardingHeaders {
		if _, ok := r.Header[name]; ok {
			return name
		}
	}
	return ""
}

// LoopbackAddr reports whether r's RemoteAddr is a loopback address
// (127.0.0.0/8, ::1, or an IPv4-mapped loopback address).
func LoopbackAddr(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// Local reports whether r came from a loopback address and carries no
// forwarding header: a reverse proxy on the same host does not make a
// remote client local.
func Local(r *http.Request) bool {
	return ForwardingHeader(r) == "" && LoopbackAddr(r)
}

// Bearer checks r's "Authorization: Bearer <token>" header against want in
// constant time. present reports whether r carries a bearer token at all.
func Bearer(r *http.Request, want []byte) (present, valid bool) {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false, false
	}
	return true, subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) == 1
}

// Bucket is a token bucket: it holds at most burst tokens and gains rate
// tokens per second. It is safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewBucket returns a full bucket. now is the clock (time.Now if nil).
func NewBucket(rate float64, burst int, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// Take takes a token and reports whether there was one.
func (b *Bucket) Take() bool {
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
