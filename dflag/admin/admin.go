package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"bounded.dev/internal/httpguard"
)

// DefaultMaxBodyBytes is the largest POST body the handler reads unless
// [WithMaxBodyBytes] says otherwise.
const DefaultMaxBodyBytes = 64 << 10

// The default limit on changes: a token bucket refilled at DefaultRate
// terms per second holding at most DefaultBurst terms. A POST costs one
// token per term it applies (an op and pattern is one term).
const (
	DefaultRate  = 5
	DefaultBurst = 32
)

// DefaultMaxTerms is the most terms one POST may apply unless
// [WithMaxTerms] says otherwise.
const DefaultMaxTerms = 32

// The default limit on listings (GET {prefix}/flags, {prefix}/history and
// {prefix}/status): DefaultListRate per second with bursts of
// DefaultListBurst. The page's live refresh costs two listings (flags and
// history) every 3 seconds, three with a [WithStatus], and a dry run
// (dry_run=1) costs one.
const (
	DefaultListRate  = 10
	DefaultListBurst = 30
)

// Option configures [Handler].
type Option func(*config)

type config struct {
	prefix        string
	policy        httpguard.Policy
	errs          []error
	logger        *slog.Logger
	cop           *http.CrossOriginProtection
	rate          float64
	burst         int
	listRate      float64
	listBurst     int
	maxTerms      int
	maxBody       int64
	history       int
	counts        bool
	operator      func(*http.Request) string
	statuses      []*statusSource
	statusTimeout time.Duration
	now           func() time.Time // for tests
}

func (c *config) fail(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

// WithPrefix makes the handler strip prefix (for example "/debug/dflag/")
// from request paths itself, as [http.StripPrefix] would, so that it can be
// mounted directly at that prefix.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithBearerToken admits requests that carry the header "Authorization:
// Bearer <token>", from any address. Like [WithAuthorize], it replaces the
// default rule (local clients only, see the package documentation); give
// [WithLocal] as well to keep local clients admitted, and several tokens
// to rotate one. The comparison takes constant time. Serve the handler over
// TLS when the token crosses a network. The console page itself holds no
// data and is served without the token; it asks for the token and sends it
// with each request. Handler panics if token is empty.
//
// The same option, with the same meaning, exists for opt-in tracing
// (bounded.dev/middleware) and the trace page (tracing/tracestore).
func WithBearerToken(token string) Option {
	return func(c *config) { c.fail(c.policy.AllowBearer(token)) }
}

// WithAuthorize admits the requests for which allow returns true. Like
// [WithBearerToken], it replaces the default rule; when several rules are
// given, a request that any of them admits is served.
func WithAuthorize(allow func(*http.Request) bool) Option {
	return func(c *config) {
		if allow == nil {
			c.fail(errors.New("WithAuthorize: nil function"))
		}
		c.policy.AllowFunc(allow)
	}
}

// WithLocal admits local clients: a loopback peer address, a Host header
// that is a loopback address, localhost or a name given to
// [WithLocalHosts], and no header that a proxy adds. It is the default
// rule; give it to keep it next to [WithBearerToken] or [WithAuthorize].
func WithLocal() Option {
	return func(c *config) { c.policy.AllowLocal() }
}

// WithLocalHosts adds host names (without a port) that the local rule
// accepts in the Host header besides loopback addresses and localhost, for
// a machine whose own name resolves to loopback. Do not list a name that
// someone else's DNS answers for. It adds no rule. Handler panics on a
// malformed name.
func WithLocalHosts(names ...string) Option {
	return func(c *config) { c.fail(c.policy.AddLocalHosts(names...)) }
}

// WithTrustedOrigin makes the cross-site check accept requests from origin
// ("https://ops.example.com"), for a console that another site's pages
// call. Handler panics on a malformed origin.
func WithTrustedOrigin(origin string) Option {
	return func(c *config) { c.fail(c.policy.TrustOrigin(origin)) }
}

// WithCrossOriginProtection replaces the console's cross-site check with
// cop's, applied to every method (each request is checked as if it were a
// POST), so that cop's trusted origins and bypass patterns apply.
//
// Deprecated: use [WithTrustedOrigin]; the console's own check also
// refuses Sec-Fetch-Site: same-site.
func WithCrossOriginProtection(cop *http.CrossOriginProtection) Option {
	return func(c *config) { c.cop = cop }
}

// WithLogger sets the logger that records each change (who, what, how many
// flags matched) and each refused request. The default is [slog.Default].
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRateLimit limits changes to perSecond terms on average, with bursts
// of up to burst terms (defaults [DefaultRate] and [DefaultBurst]). A POST
// costs one token per term, all or nothing: one over the limit is refused
// with 429 Too Many Requests and changes nothing. perSecond <= 0 disables
// the limit.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.rate, c.burst = perSecond, max(burst, 1) }
}

// WithListRateLimit limits listings (GET {prefix}/flags, {prefix}/history
// and {prefix}/status) to perSecond on average with bursts of burst
// (defaults [DefaultListRate] and [DefaultListBurst]); one over the limit
// is refused with 429. perSecond <= 0 disables the limit.
func WithListRateLimit(perSecond float64, burst int) Option {
	return func(c *config) { c.listRate, c.listBurst = perSecond, max(burst, 1) }
}

// WithMaxTerms sets the most terms one POST may apply (default
// [DefaultMaxTerms]); a spec with more is refused with 413 and changes
// nothing. The change rate limit's burst caps it too: a spec that costs
// more than the bucket holds could never apply.
func WithMaxTerms(n int) Option {
	return func(c *config) { c.maxTerms = max(n, 1) }
}

// WithCounts makes the console's changes use the C library's counts
// (dflag.Activate, Deactivate, Unhook, Rehook) instead of the operator's
// hold: an activate adds one to the activation count, and nothing records
// who made it.
func WithCounts() Option {
	return func(c *config) { c.counts = true }
}

// WithOperator names the operator of a request, for the hold that keeps
// their changes ("console:" + name) and for the history; for example the
// user an authenticating proxy or the program's WithAuthorize function
// identified. The default is "bearer" for a request that sent a bearer
// token and the client's IP address otherwise.
func WithOperator(name func(*http.Request) string) Option {
	return func(c *config) {
		if name == nil {
			c.fail(errors.New("WithOperator: nil function"))
		}
		c.operator = name
	}
}

// WithHistory sets how many recent changes GET {prefix}/history keeps
// (default [DefaultHistory]); 0 keeps none.
func WithHistory(n int) Option {
	return func(c *config) { c.history = max(n, 0) }
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
	limiter *httpguard.Bucket // changes, in terms; nil: no limit
	lister  *httpguard.Bucket // listings; nil: no limit
	hist    ring
}

// Handler returns the operator console. It is safe for concurrent use. It
// panics if an option was given a bad value (an empty token, a malformed
// host name or origin), with an error that says which.
func Handler(opts ...Option) http.Handler {
	h := &handler{config: config{
		logger:        slog.Default(),
		rate:          DefaultRate,
		burst:         DefaultBurst,
		listRate:      DefaultListRate,
		listBurst:     DefaultListBurst,
		maxTerms:      DefaultMaxTerms,
		maxBody:       DefaultMaxBodyBytes,
		history:       DefaultHistory,
		operator:      defaultOperator,
		statusTimeout: StatusTimeout,
		now:           time.Now,
	}}
	for _, o := range opts {
		o(&h.config)
	}
	if len(h.errs) > 0 {
		panic("admin: " + errors.Join(h.errs...).Error())
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.rate > 0 {
		h.limiter = httpguard.NewBucket(h.rate, h.burst, h.now)
		h.maxTerms = min(h.maxTerms, h.burst)
	}
	if h.listRate > 0 {
		h.lister = httpguard.NewBucket(h.listRate, h.listBurst, h.now)
	}
	h.hist.buf = make([]Change, max(h.history, 0))
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /flags", h.list)
	h.mux.HandleFunc("POST /flags", h.change)
	h.mux.HandleFunc("GET /history", h.serveHistory)
	h.mux.HandleFunc("GET /status", h.serveStatus)
	if h.prefix != "" {
		return http.StripPrefix(h.prefix, h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.guard(r); err != nil {
		h.refuse(w, r, err.Status, err.Reason)
		return
	}
	h.mux.ServeHTTP(w, r)
}
