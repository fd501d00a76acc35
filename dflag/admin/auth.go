package admin

import (
	"log/slog"
	"net/http"

	"bounded.dev/internal/httpguard"
)

// guard returns nil if the request may be served, or the refusal.
//
// The page itself (GET / and HEAD /) holds no data: it is served to
// whoever may use the console, to anyone when a bearer token is
// configured (the page asks for it), and whatever the referring site, so
// that a link to the console works. Everything else must be authorised
// and must not come from another site, whatever its method.
func (h *handler) guard(r *http.Request) *httpguard.Refusal {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/" {
		if err := h.policy.Authorize(r); err != nil && err.(*httpguard.Refusal).Status != http.StatusUnauthorized {
			return err.(*httpguard.Refusal)
		}
		return nil
	}
	if h.cop == nil {
		if err := h.policy.Check(r); err != nil {
			return err.(*httpguard.Refusal)
		}
		return nil
	}
	if err := h.policy.Authorize(r); err != nil {
		return err.(*httpguard.Refusal)
	}
	post := r.Clone(r.Context())
	post.Method = http.MethodPost
	if err := h.cop.Check(post); err != nil {
		return &httpguard.Refusal{Status: http.StatusForbidden, Reason: err.Error()}
	}
	return nil
}

// refuse logs a refused request and answers it.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) {
	h.logger.LogAttrs(r.Context(), slog.LevelWarn, "dflag admin: request refused",
		slog.String("remote", r.RemoteAddr), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", code), slog.String("reason", reason))
	(&httpguard.Refusal{Status: code}).Challenge(w, "dflag")
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, r, code, reason)
}
