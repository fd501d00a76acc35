package admin

import (
	"net/http"

	"bounded.dev/internal/httpguard"
)

// authorize returns 0 if the request may be served, or the status and
// reason that refuse it.
func (h *handler) authorize(r *http.Request) (int, string) {
	if h.tokenSet {
		switch present, valid := httpguard.Bearer(r, []byte(h.token)); {
		case !present:
			return http.StatusUnauthorized, "missing bearer token"
		case !valid:
			return http.StatusUnauthorized, "invalid bearer token"
		}
		return 0, ""
	}
	if name := httpguard.ForwardingHeader(r); name != "" {
		return http.StatusForbidden, "forwarded request (" + name + " header): only direct loopback clients are served; configure a bearer token"
	}
	if !httpguard.LoopbackAddr(r) {
		return http.StatusForbidden, "client " + r.RemoteAddr + " is not on a loopback address; configure a bearer token"
	}
	return 0, ""
}
