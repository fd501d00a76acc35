// Package admin is an operator console for dynamic flags: an [http.Handler]
// that lists flags and switches them by pattern, with a self-contained HTML
// page, meant to be mounted under a prefix as net/http/pprof is:
//
//	mux.Handle("/debug/dflag/", admin.Handler(admin.WithPrefix("/debug/dflag/")))
//
// The handler serves, relative to its prefix:
//
//	GET  /                the console: one HTML page, no external assets
//	GET  /flags?pattern=  the listing in the C library's text format, or JSON
//	                      when the Accept header names application/json
//	POST /flags           op=activate|deactivate|unhook|rehook&pattern=re, or
//	                      spec=terms (as in DFLAG: "+re -re !re ?re"); the
//	                      result is JSON with the number of flags matched
//
// A GET never changes state. A malformed request (invalid pattern, unknown
// op, malformed term, body over the limit) is refused with 400 or 413 and a
// message, and changes nothing; a spec is validated whole before any of its
// terms is applied.
//
// # Security
//
// By default only loopback clients whose request carries no forwarding
// header (Forwarded, X-Forwarded-For, ...) are served: a reverse proxy on
// the same host does not make a remote client local. [WithBearerToken]
// replaces that rule with a shared secret. Cross-site requests are refused
// with [http.CrossOriginProtection], changes are rate limited (a token
// bucket, [WithRateLimit]) and every change and every refusal is logged with
// log/slog ([WithLogger]).
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/internal/httpguard"
)

// DefaultMaxBodyBytes is the largest POST body the handler reads unless
// [WithMaxBodyBytes] says otherwise.
const DefaultMaxBodyBytes = 64 << 10

// The default rate limit on changes: a token bucket refilled at
// DefaultRate per second holding at most DefaultBurst tokens.
const (
	DefaultRate  = 5
	DefaultBurst = 10
)

// Option configures [Handler].
type Option func(*config)

type config struct {
	prefix   string
	token    string
	tokenSet bool
	logger   *slog.Logger
	cop      *http.CrossOriginProtection
	rate     float64
	burst    int
	maxBody  int64
	now      func() time.Time // for tests
}

// WithPrefix makes the handler strip prefix (for example "/debug/dflag/")
// from request paths itself, as [http.StripPrefix] would, so that it can be
// mounted directly at that prefix.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithBearerToken authorises exactly the requests that carry the header
// "Authorization: Bearer <token>", from any address, instead of the default
// rule (loopback clients without forwarding headers). The comparison takes
// constant time. Serve the handler over TLS when the token crosses a
// network. The console page itself holds no data and is served without the
// token; it asks for the token and sends it with each request. Handler
// panics if token is empty.
func WithBearerToken(token string) Option {
	return func(c *config) { c.token, c.tokenSet = token, true }
}

// WithLogger sets the logger that records each change (who, what, how many
// flags matched) and each refused request. The default is [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithCrossOriginProtection replaces the default cross-origin protection,
// for example with one that trusts an origin:
//
//	cop := http.NewCrossOriginProtection()
//	if err := cop.AddTrustedOrigin("https://ops.example.com"); err != nil { ... }
//	h := admin.Handler(admin.WithCrossOriginProtection(cop))
func WithCrossOriginProtection(cop *http.CrossOriginProtection) Option {
	return func(c *config) { c.cop = cop }
}

// WithRateLimit limits changes to perSecond on average, with bursts of up
// to burst; changes beyond it are refused with 429 Too Many Requests and
// change nothing. Each POST counts once, whatever the number of terms in
// its spec. perSecond <= 0 disables the limit.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.rate, c.burst = perSecond, max(burst, 1) }
}

// WithMaxBodyBytes sets the largest POST body the handler reads; a larger
// one is refused with 413 Request Entity Too Large.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) { c.maxBody = n }
}

// handler is the console.
type handler struct {
	config
	mux     *http.ServeMux
	limiter *httpguard.Bucket
}

// Handler returns the operator console. It is safe for concurrent use.
func Handler(opts ...Option) http.Handler {
	h := &handler{config: config{
		logger:  slog.Default(),
		rate:    DefaultRate,
		burst:   DefaultBurst,
		maxBody: DefaultMaxBodyBytes,
		now:     time.Now,
	}}
	for _, o := range opts {
		o(&h.config)
	}
	if h.tokenSet && h.token == "" {
		panic("admin: WithBearerToken: empty token")
	}
	if h.cop == nil {
		h.cop = http.NewCrossOriginProtection()
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.rate > 0 {
		h.limiter = httpguard.NewBucket(h.rate, h.burst, h.now)
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /flags", h.list)
	h.mux.HandleFunc("POST /flags", h.change)
	if h.prefix != "" {
		return http.StripPrefix(h.prefix, h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pageOnly := h.tokenSet && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/"
	if !pageOnly {
		if code, reason := h.authorize(r); code != 0 {
			h.refuse(w, r, code, reason)
			return
		}
	}
	if err := h.cop.Check(r); err != nil {
		h.refuse(w, r, http.StatusForbidden, err.Error())
		return
	}
	h.mux.ServeHTTP(w, r)
}

// refuse logs a refused request and answers it.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) {
	h.logger.LogAttrs(r.Context(), slog.LevelWarn, "dflag admin: request refused",
		slog.String("remote", r.RemoteAddr), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", code), slog.String("reason", reason))
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dflag"`)
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, r, code, reason)
}

// Flag is one flag record as the console reports it in JSON, by GET
// {prefix}/flags and by [Expvar].
type Flag struct {
	Name       string `json:"name"`           // kind:name@file:line
	Kind       string `json:"kind"`           // the kind
	Flag       string `json:"flag"`           // the name within the kind
	Doc        string `json:"doc"`            // docstring
	File       string `json:"file"`           // import-path-qualified source file
	Line       int    `json:"line"`           // source line
	Mode       string `json:"mode"`           // "feature", "default" or "opt"
	On         bool   `json:"on"`             // current value
	Activation uint64 `json:"activation"`     // activation count
	Unhook     uint64 `json:"unhook"`         // unhook count
	Site       string `json:"site"`           // "hook" or "call"
	Addr       string `json:"addr,omitempty"` // hexadecimal address of a call site
}

// flags converts a listing; it is never nil, so that it encodes as [].
func flags(states []dflag.State) []Flag {
	out := make([]Flag, len(states))
	for i, s := range states {
		out[i] = Flag{
			Name: s.Name, Kind: s.Kind, Flag: s.Flag, Doc: s.Doc, File: s.File, Line: s.Line,
			Mode: s.Mode.String(), On: s.On, Activation: s.Activation, Unhook: s.Unhook, Site: "hook",
		}
		if s.CallSite() {
			out[i].Site = "call"
			out[i].Addr = fmt.Sprintf("%#x", s.Addr)
		}
	}
	return out
}

// list serves GET /flags.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	pattern := r.URL.Query().Get("pattern")
	if wantsJSON(r) {
		states, err := dflag.List(pattern)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, flags(states))
		return
	}
	var buf bytes.Buffer
	if err := dflag.WriteList(&buf, pattern); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	noCache(w)
	w.Write(buf.Bytes())
}

// Result is one applied operation in the JSON answer to a POST.
type Result struct {
	Op      string `json:"op"`      // activate, deactivate, unhook or rehook
	Pattern string `json:"pattern"` // the pattern as given
	Matched int    `json:"matched"` // flags that matched
}

// Response is the JSON answer to a successful POST {prefix}/flags.
type Response struct {
	Matched int      `json:"matched"` // flags matched, summed over Results
	Results []Result `json:"results"` // one per operation, in order
}

// step is one validated operation.
type step struct {
	op      dflag.Op
	pattern string
}

var ops = map[dflag.Op]func(string) (int, error){
	dflag.OpActivate:   dflag.Activate,
	dflag.OpDeactivate: dflag.Deactivate,
	dflag.OpUnhook:     dflag.Unhook,
	dflag.OpRehook:     dflag.Rehook,
}

var termOps = map[byte]dflag.Op{
	'+': dflag.OpActivate, '-': dflag.OpDeactivate, '!': dflag.OpUnhook, '?': dflag.OpRehook,
}

// change serves POST /flags.
func (h *handler) change(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	steps, code, err := parseChange(r)
	if err != nil {
		h.refuse(w, r, code, err.Error())
		return
	}
	if h.limiter != nil && !h.limiter.Take() {
		h.refuse(w, r, http.StatusTooManyRequests, "too many changes: rate limit exceeded")
		return
	}
	resp := Response{Results: make([]Result, 0, len(steps))}
	for _, s := range steps {
		// Every pattern was validated: the control functions cannot fail.
		n, err := ops[s.op](s.pattern)
		if err != nil {
			h.refuse(w, r, http.StatusInternalServerError, err.Error())
			return
		}
		resp.Matched += n
		resp.Results = append(resp.Results, Result{Op: string(s.op), Pattern: s.pattern, Matched: n})
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "dflag admin: change",
			slog.String("remote", r.RemoteAddr), slog.String("op", string(s.op)),
			slog.String("pattern", s.pattern), slog.Int("matched", n))
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseChange reads and validates a POST body into operations, or returns
// the status and error that refuse it.
func parseChange(r *http.Request) ([]step, int, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, http.StatusUnsupportedMediaType, errors.New("body must be application/x-www-form-urlencoded")
		}
	}
	if err := r.ParseForm(); err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", mbe.Limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("malformed form: %v", err)
	}
	f := r.PostForm
	for k, v := range f {
		switch k {
		case "op", "pattern", "spec":
			if len(v) != 1 {
				return nil, http.StatusBadRequest, fmt.Errorf("field %q given %d times", k, len(v))
			}
		default:
			return nil, http.StatusBadRequest, fmt.Errorf("unknown field %q (want op and pattern, or spec)", k)
		}
	}
	_, hasOp := f["op"]
	_, hasPattern := f["pattern"]
	spec, hasSpec := f["spec"]
	switch {
	case hasSpec && (hasOp || hasPattern):
		return nil, http.StatusBadRequest, errors.New("give either op and pattern, or spec, not both")
	case hasSpec:
		terms, err := dflag.ParseTerms(spec[0])
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		if len(terms) == 0 {
			return nil, http.StatusBadRequest, errors.New("empty spec")
		}
		steps := make([]step, len(terms))
		for i, t := range terms {
			steps[i] = step{termOps[t[0]], t[1:]}
		}
		return steps, 0, nil
	case !hasOp:
		return nil, http.StatusBadRequest, errors.New("missing field op (activate, deactivate, unhook or rehook) or spec")
	case !hasPattern:
		return nil, http.StatusBadRequest, errors.New(`missing field pattern (use "pattern=" to select every flag)`)
	}
	op := dflag.Op(f.Get("op"))
	if ops[op] == nil {
		return nil, http.StatusBadRequest, fmt.Errorf("unknown op %q (want activate, deactivate, unhook or rehook)", op)
	}
	pattern := f.Get("pattern")
	if err := dflag.ValidPattern(pattern); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return []step{{op, pattern}}, 0, nil
}

// wantsJSON reports whether the Accept header lists application/json with
// a non-zero quality.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "application/json" {
				continue
			}
			if q, ok := params["q"]; ok {
				if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	noCache(w)
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// errorBody is the JSON form of an error.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers with a message: JSON for a POST or a client that
// accepts JSON, plain text otherwise.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if r.Method == http.MethodPost || wantsJSON(r) {
		writeJSON(w, code, errorBody{msg})
		return
	}
	noCache(w)
	http.Error(w, msg, code)
}
