package middleware

import (
	"errors"
	"net/http"

	"bounded.dev/internal/httpguard"
)

// Loopback reports whether r passes the local rule with no extra host
// names: a loopback peer address (127.0.0.0/8, ::1), a Host header that is
// a loopback address or localhost, and no header a proxy adds (Forwarded,
// X-Forwarded-*, X-Real-Ip, Via, X-Client-Ip, True-Client-Ip, ...): a
// reverse proxy on the same host does not make a remote client local, and
// a DNS-rebinding page is not local either. It is the default rule for
// opting in; [WithLocal] is the option form, which also honours
// [WithLocalHosts].
func Loopback(r *http.Request) bool { return httpguard.IsLocal(r) }

// BearerToken returns a rule that holds for requests that carry the header
// "Authorization: Bearer <token>", from any address; the comparison takes
// constant time. Send the token over TLS only. BearerToken panics if token
// is empty. [WithBearerToken] is the option form.
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

// authorize returns nil if r may opt in, or why not: the cross-site check
// first (a browser's request from another site, whatever rule would admit
// it), then the policy.
func (h *handler) authorize(r *http.Request) refusal {
	if err := h.cfg.origins.Check(r); err != nil {
		return refusal{RefusedCrossSite, reason(err)}
	}
	if err := h.cfg.policy.Authorize(r); err != nil {
		return refusal{RefusedUnauthorized, reason(err)}
	}
	return refusal{}
}

func reason(err error) string {
	if ref, ok := errors.AsType[*httpguard.Refusal](err); ok {
		return ref.Reason
	}
	return err.Error()
}
