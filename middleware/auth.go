package middleware

import (
	"net/http"

	"bounded.dev/internal/httpguard"
)

// Loopback reports whether r came from a loopback address (127.0.0.0/8,
// ::1) and carries no forwarding header (Forwarded, X-Forwarded-For,
// X-Forwarded-Host, X-Forwarded-Proto, X-Real-Ip): a reverse proxy on the
// same host does not make a remote client local. It is the default rule for
// opting in.
func Loopback(r *http.Request) bool { return httpguard.Local(r) }

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
		_, valid := httpguard.Bearer(r, want)
		return valid
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
