package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"bounded.dev/internal/httpguard"
)

// Defaults of the opt-in signals and limits.
const (
	DefaultQueryParam      = "tracing"      // ?tracing=1
	DefaultHeader          = "X-Tracing"    // X-Tracing: 1
	DefaultRequestIDHeader = "X-Request-Id" // response header with the request id
	DefaultMaxConcurrent   = 64             // traced requests in flight at once
	DefaultRate            = 10             // new traced requests per second, on average
	DefaultBurst           = 32             // new traced requests at once
)

// Option configures [Tracing] and [Transport].
type Option func(*config)

type config struct {
	query         string // query parameter name, "" for none
	header        string // canonical header name, "" for none
	sampledParent bool
	policy        httpguard.Policy  // who may opt in; no rule: the local rule
	origins       httpguard.Origins // the cross-site check's trusted origins
	errs          []error           // from options given bad values
	maxConcurrent int64             // <= 0: no cap
	rate          float64           // <= 0: no rate limit
	burst         int
	tp            trace.TracerProvider // nil: the global provider at request time
	propagator    propagation.TextMapPropagator
	idHeader      string
	logger        *slog.Logger
	now           func() time.Time
}

// WithQueryParam sets the query parameter that opts a request in
// (default "tracing", as in ?tracing=1); "" disables it.
func WithQueryParam(name string) Option { return func(c *config) { c.query = name } }

// WithHeader sets the request header that opts a request in (default
// "X-Tracing"); "" disables it.
func WithHeader(name string) Option {
	return func(c *config) { c.header = http.CanonicalHeaderKey(name) }
}

// WithSampledTraceparent makes an incoming W3C traceparent header whose
// sampled flag is set opt the request in, as the continuation of the
// caller's trace: the caller is being traced and propagated its context.
// The request must still be authorised and find a slot under
// [WithMaxConcurrent], but it takes no token of [WithRateLimit], which
// limits new traces.
func WithSampledTraceparent() Option { return func(c *config) { c.sampledParent = true } }

// WithLocal lets local clients opt in: a loopback peer address, a Host
// header that is a loopback address, localhost or a name given to
// [WithLocalHosts] (so that a DNS-rebinding page, which sends its own
// name, is refused), and no header a proxy adds. It is the default rule;
// give it to keep it next to [WithBearerToken] or [WithAuthorize].
func WithLocal() Option { return func(c *config) { c.policy.AllowLocal() } }

// WithLocalHosts adds host names (without a port) that the local rule
// accepts in the Host header besides loopback addresses and localhost, for
// a machine whose own name resolves to loopback. Do not list a name that
// someone else's DNS answers for. It adds no rule. [Tracing] panics on a
// malformed name.
func WithLocalHosts(names ...string) Option {
	return func(c *config) { c.fail(c.policy.AddLocalHosts(names...)) }
}

// WithBearerToken lets a request opt in when it carries the header
// "Authorization: Bearer <token>", from any address; the comparison takes
// constant time. Like [WithAuthorize], it replaces the default rule (the
// local one); give [WithLocal] as well to keep local clients allowed, and
// several tokens to rotate one. Send the token over TLS only. [Tracing]
// panics if token is empty.
func WithBearerToken(token string) Option {
	return func(c *config) { c.fail(c.policy.AllowBearer(token)) }
}

// WithAuthorize lets a request opt in when allow returns true. Like
// [WithBearerToken], it replaces the default rule; when several rules are
// given, a request that any of them admits may opt in. allow runs only for
// requests that ask to opt in. [Tracing] panics if allow is nil.
func WithAuthorize(allow func(*http.Request) bool) Option {
	return func(c *config) {
		if allow == nil {
			c.fail(errors.New("WithAuthorize: nil function"))
		}
		c.policy.AllowFunc(allow)
	}
}

// WithTrustedOrigin makes the cross-site check accept opt-in requests
// that a browser sends from origin ("https://ops.example.com"). [Tracing]
// panics on a malformed origin.
func WithTrustedOrigin(origin string) Option {
	return func(c *config) { c.fail(c.origins.Trust(origin)) }
}

// WithMaxConcurrent caps the number of traced requests in flight at once
// (default [DefaultMaxConcurrent]); n <= 0 removes the cap.
func WithMaxConcurrent(n int) Option { return func(c *config) { c.maxConcurrent = int64(n) } }

// WithRateLimit admits new traced requests at perSecond on average, with
// bursts of burst (defaults [DefaultRate] and [DefaultBurst]), because a
// first activation may patch code; perSecond <= 0 removes the limit.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.rate, c.burst = perSecond, max(burst, 1) }
}

// WithTracerProvider sets the provider of the server spans (default: the
// global provider, otel.GetTracerProvider, looked up per traced request).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithPropagator sets how the trace context is extracted from the request
// (default: W3C trace context and W3C baggage).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// WithRequestIDHeader sets the response header that carries a traced
// request's id (default "X-Request-Id"); "" sends none (the span still has
// the request.id attribute).
func WithRequestIDHeader(name string) Option {
	return func(c *config) { c.idHeader = http.CanonicalHeaderKey(name) }
}

// WithLogger logs, at level Info, each request that asked to opt in and was
// refused (cross-site, not authorised, or over a limit), with the full
// reason. The default is not to log; either way the response's
// [RefusedHeader] says which kind of refusal it was.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func (c *config) fail(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

// handler is the middleware.
type handler struct {
	next        http.Handler
	queryNeedle string // query + "=", "" when the query signal is off
	header      string
	parent      bool
	cfg         config
	inflight    atomic.Int64
	bucket      *httpguard.Bucket
}

// Tracing returns next wrapped with opt-in tracing; see the package
// documentation. The handler is safe for concurrent use. Tracing panics,
// as on a programming error at start-up, when an option was given a bad
// value (an empty token, a nil rule, a host name with a port, a malformed
// origin).
func Tracing(next http.Handler, opts ...Option) http.Handler {
	c := newConfig(opts)
	if err := errors.Join(c.errs...); err != nil {
		panic("middleware: " + err.Error())
	}
	h := &handler{next: next, header: c.header, parent: c.sampledParent, cfg: c}
	if c.query != "" {
		h.queryNeedle = c.query + "="
	}
	if c.rate > 0 {
		h.bucket = httpguard.NewBucket(c.rate, c.burst, c.now)
	}
	return h
}

// newConfig applies opts to the defaults; [Tracing] and [Transport] share
// it.
func newConfig(opts []Option) config {
	c := config{
		query:         DefaultQueryParam,
		header:        DefaultHeader,
		maxConcurrent: DefaultMaxConcurrent,
		rate:          DefaultRate,
		burst:         DefaultBurst,
		idHeader:      DefaultRequestIDHeader,
		now:           time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.propagator == nil {
		c.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return c
}

// New returns the middleware as a func(http.Handler) http.Handler, the form
// chi's and gorilla/mux's Router.Use take:
//
//	r.Use(middleware.New(middleware.WithBearerToken(token)))
//
// Each handler it wraps has its own limits.
func New(opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return Tracing(next, opts...) }
}

// ServeHTTP serves r, traced if it opted in and may.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sig := h.asks(r); sig != askNone {
		h.serveAsking(w, r, sig)
		return
	}
	h.next.ServeHTTP(w, r)
}

// How a request asks to be traced.
const (
	askNone   = iota
	askOptIn  // the query parameter or the header: a new trace
	askParent // a sampled traceparent: the continuation of a caller's trace
)

// asks reports whether and how r asks to be traced. It is the whole cost
// of the middleware for other requests: a substring search of the raw
// query and one or two header map lookups, no allocation. A sampled
// traceparent (with [WithSampledTraceparent]) wins over the explicit
// signals: the request continues a trace rather than starting one.
func (h *handler) asks(r *http.Request) int {
	if h.parent {
		if v, ok := r.Header["Traceparent"]; ok && len(v) > 0 && sampledTraceparent(v[0]) {
			return askParent
		}
	}
	if h.queryNeedle != "" && strings.Contains(r.URL.RawQuery, h.queryNeedle) && queryAsks(r.URL.RawQuery, h.cfg.query) {
		return askOptIn
	}
	if h.header != "" {
		if v, ok := r.Header[h.header]; ok && len(v) > 0 && truthy(v[0]) {
			return askOptIn
		}
	}
	return askNone
}

// queryAsks reports whether the raw query sets name to a true value.
func queryAsks(raw, name string) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
		}
		return truthy(v)
	}
	return false
}

// truthy reports whether an opt-in value says yes.
func truthy(v string) bool {
	v = strings.TrimSpace(v)
	return v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes") || strings.EqualFold(v, "on")
}

// sampledTraceparent reports whether a W3C traceparent header value
// (version-traceid-parentid-flags) is one that the W3C trace context
// propagator extracts as a valid remote span context with the sampled flag
// set: lower-case hex fields of the right lengths, a version other than
// ff, non-zero ids, and for version 00 nothing after the flags and no
// reserved flag bit. FuzzSampledTraceparent holds it to the propagator's
// own parser. It does not allocate.
func sampledTraceparent(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return false
	}
	if len(v) > 55 && v[55] != '-' {
		return false
	}
	// The flags first: most traceparents a service sees are not sampled,
	// and those are answered without reading the ids.
	flags, ok := hexByte(v[53:55])
	if !ok || flags&1 == 0 {
		return false
	}
	version, ok := hexByte(v[0:2])
	if !ok || version == 0xff || version == 0 && (len(v) > 56 || flags > 3) {
		return false
	}
	return hexID(v[3:35]) && hexID(v[36:52])
}

// hexByte decodes two lower-case hex digits.
func hexByte(s string) (byte, bool) {
	hi, ok1 := hexDigit(s[0])
	lo, ok2 := hexDigit(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// hexID reports whether s is lower-case hex and not all zeros.
func hexID(s string) bool {
	nonzero := false
	for i := 0; i < len(s); i++ {
		if _, ok := hexDigit(s[i]); !ok {
			return false
		}
		nonzero = nonzero || s[i] != '0'
	}
	return nonzero
}
