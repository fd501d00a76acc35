package tracestore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"bounded.dev/internal/httpguard"
)

// HandlerOption configures [Store.Handler]. The authorisation options are
// those of the operator console (bounded.dev/dflag/admin) and of opt-in
// tracing (bounded.dev/middleware), with the same names, meaning and
// defaults: a request is served when any configured rule admits it, and
// with no rule the local rule applies.
type HandlerOption func(*handler)

// WithLocal admits local clients: a loopback peer address, a Host header
// that is a loopback address, localhost or a name given to
// [WithLocalHosts], and no header that a proxy adds. It is the default
// rule; give it to keep it next to [WithBearerToken] or [WithAuthorize].
func WithLocal() HandlerOption {
	return func(h *handler) { h.policy.AllowLocal() }
}

// WithLocalHosts adds host names (without a port) that the local rule
// accepts in the Host header besides loopback addresses and localhost, for
// a machine whose own name resolves to loopback. Do not list a name that
// someone else's DNS answers for. It adds no rule. Handler panics on a
// malformed name.
func WithLocalHosts(names ...string) HandlerOption {
	return func(h *handler) { h.fail(h.policy.AddLocalHosts(names...)) }
}

// WithBearerToken admits requests that carry the header "Authorization:
// Bearer <token>", from any address; a request without it gets 401
// Unauthorized with a WWW-Authenticate challenge. Like [WithAuthorize], it
// replaces the default rule; give [WithLocal] as well to keep local
// clients (and so a browser on the same machine, which cannot send the
// header) admitted, and several tokens to rotate one. The comparison takes
// constant time. Handler panics if token is empty.
func WithBearerToken(token string) HandlerOption {
	return func(h *handler) { h.fail(h.policy.AllowBearer(token)) }
}

// WithAuthorize admits the requests for which allow returns true. Like
// [WithBearerToken], it replaces the default rule; when several rules are
// given, a request that any of them admits is served. Traces hold request
// details (paths, attributes, log records): admit no one who may not read
// those. Handler panics if allow is nil.
func WithAuthorize(allow func(*http.Request) bool) HandlerOption {
	return func(h *handler) {
		if allow == nil {
			h.fail(errors.New("WithAuthorize: nil function"))
		}
		h.policy.AllowFunc(allow)
	}
}

// WithTrustedOrigin makes the cross-site check accept requests from origin
// ("https://ops.example.com"), for pages of another site that read the
// traces. Handler panics on a malformed origin.
func WithTrustedOrigin(origin string) HandlerOption {
	return func(h *handler) { h.fail(h.policy.TrustOrigin(origin)) }
}

// WithLogger sets the logger that records each refused request (at level
// Warn). The default is [slog.Default]; nil discards.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(h *handler) { h.logger = l }
}

type handler struct {
	store  *Store
	policy httpguard.Policy
	logger *slog.Logger
	errs   []error
}

func (h *handler) fail(err error) {
	if err != nil {
		h.errs = append(h.errs, err)
	}
}

// Handler returns the trace pages, to be mounted at /debug/traces (it
// ignores the request path): the list of traces and, with ?trace=, one
// trace. The package documentation lists the query parameters, the status
// codes and the bounds.
//
// By default only local clients are served (see [WithLocal]); requests
// that a browser marks as coming from another site are refused whatever
// the method and the rule that admitted them. Handler panics if an option
// was given a bad value (an empty token, a malformed host name or origin,
// a nil function), as a programming error at start-up.
func (s *Store) Handler(opts ...HandlerOption) http.Handler {
	h := &handler{store: s, logger: slog.Default()}
	for _, o := range opts {
		o(h)
	}
	if len(h.errs) > 0 {
		panic("tracestore: " + errors.Join(h.errs...).Error())
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	return h
}

// bodyBudget is the size after which the text and JSON lists stop adding
// traces to a page and link to the next one instead.
const bodyBudget = 4 << 20

// ServeHTTP serves the traces; see [Store.Handler].
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", dataCSP)
	if err := h.policy.Check(r); err != nil {
		ref := err.(*httpguard.Refusal)
		h.logger.LogAttrs(r.Context(), slog.LevelWarn, "tracestore: request refused",
			slog.String("remote", r.RemoteAddr), slog.String("host", r.Host), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", ref.Status), slog.String("reason", ref.Reason))
		ref.Challenge(w, "traces")
		http.Error(w, "tracestore: "+ref.Reason, ref.Status)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "tracestore: method "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, "tracestore: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("format") == "" && acceptsJSON(r) {
		q.format = "json"
	}
	if q.trace.IsValid() {
		t, ok := h.store.Trace(q.trace.String())
		if !ok {
			http.Error(w, "tracestore: trace "+q.trace.String()+" not found (evicted, not yet ended, or never recorded)", http.StatusNotFound)
			return
		}
		h.serveTrace(w, q, t)
		return
	}
	h.serveList(w, q)
}

func (h *handler) serveTrace(w http.ResponseWriter, q query, t Trace) {
	switch q.format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{\"traces\": [\n  ")
		writeTraceJSON(w, &t)
		io.WriteString(w, "]}\n")
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeTrace(w, &t)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", pageCSP)
		tracePage.Execute(w, newTraceView(&t))
	}
}

func (h *handler) serveList(w http.ResponseWriter, q query) {
	if q.format == "html" {
		limit := cmpOr(q.limit, DefaultPageSize)
		res := h.store.search(q.filter, q.offset, limit, true)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", pageCSP)
		listPage.Execute(w, newListView(q, limit, h.store.Len(), res))
		return
	}
	// Text and JSON carry every span: one trace at a time, snapshot,
	// written and dropped, and no more than bodyBudget bytes a page.
	limit := cmpOr(q.limit, DefaultDumpSize)
	rows, total := h.store.Search(q.filter, q.offset, limit)
	cw := &countingWriter{w: w}
	next := -1
	if q.format == "json" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(cw, "{\"traces\": [")
		for i, sum := range rows {
			if i > 0 && cw.n >= bodyBudget {
				next = q.offset + i
				break
			}
			t, ok := h.store.Trace(sum.TraceID)
			if !ok {
				continue // evicted since the search
			}
			if i > 0 {
				io.WriteString(cw, ",")
			}
			io.WriteString(cw, "\n  ")
			if writeTraceJSON(cw, &t) != nil {
				return
			}
		}
		if next < 0 && q.offset+len(rows) < total {
			next = q.offset + len(rows)
		}
		fmt.Fprintf(cw, "], \"total\": %d, \"offset\": %d", total, q.offset)
		if next >= 0 {
			fmt.Fprintf(cw, ", \"next\": %q", q.encode("json", next))
		}
		io.WriteString(cw, "}\n")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if total == 0 {
		if h.store.Len() == 0 {
			io.WriteString(cw, "no traces yet: send a request that opts in (for example ?tracing=1)\n")
		} else {
			io.WriteString(cw, "no trace matches the filter\n")
		}
		return
	}
	for i, sum := range rows {
		if i > 0 && cw.n >= bodyBudget {
			next = q.offset + i
			break
		}
		if t, ok := h.store.Trace(sum.TraceID); ok {
			if writeTrace(cw, &t) != nil {
				return
			}
		}
	}
	if next < 0 && q.offset+len(rows) < total {
		next = q.offset + len(rows)
	}
	if next >= 0 {
		fmt.Fprintf(cw, "(traces %d to %d of %d; next page: %s)\n", q.offset+1, next, total, q.encode("text", next))
	}
}

// writeTraceJSON writes t as JSON, as encoding/json would with an indent
// of two spaces and a prefix of two, but encodes one span at a time, so
// that a large trace never sits in memory twice.
func writeTraceJSON(w io.Writer, t *Trace) error {
	head, err := json.MarshalIndent(t.Summary, "  ", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.Write(head[:len(head)-1]) // without the closing brace
	bw.WriteString(",\n    \"spans\": [")
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	enc.SetIndent("      ", "  ")
	for i := range t.Spans {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n      ")
		if err := enc.Encode(&t.Spans[i]); err != nil {
			return err
		}
	}
	bw.WriteString("    ]\n  }\n")
	return bw.Flush()
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

func acceptsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}
