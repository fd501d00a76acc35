// Package middleware is HTTP tracing for requests that opt in: net/http
// server middleware ([Tracing]) and the client transport that carries a
// traced request's context to the services it calls ([Transport]), side by
// side as otelhttp keeps them, sharing their options, attributes and
// propagator. A request that asks for it (and may) is traced in full, with
// an OpenTelemetry server span and every request_tracing advice switched on
// while it is in flight; the other requests pay a few nanoseconds and no
// allocation.
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", item)
//	http.ListenAndServe("127.0.0.1:8080", middleware.Tracing(mux))
//
// # Opting in
//
// A request opts in with the query parameter tracing=1 ([DefaultQueryParam],
// see [WithQueryParam]) or the header "X-Tracing: 1" ([DefaultHeader], see
// [WithHeader]); values "1", "true", "yes" and "on" opt in. With
// [WithSampledTraceparent], an incoming W3C traceparent whose sampled flag
// is set continues the caller's trace: a traced upstream that propagates
// its context, as [Transport] does, traces this service too.
//
// # Authorisation
//
// Tracing a request switches code and records its details, so not everybody
// may ask for it. The options are the same, with the same meaning, as the
// operator console's (bounded.dev/dflag/admin) and the trace page's
// (bounded.dev/tracing/tracestore), and a request is admitted when any
// rule admits it:
//
//	WithLocal()                  local clients (the default rule)
//	WithLocalHosts(names...)     host names the local rule accepts besides loopback and localhost
//	WithBearerToken(token)       "Authorization: Bearer <token>", from anywhere
//	WithAuthorize(func(r) bool)  what the function admits
//	WithTrustedOrigin(origin)    a browser origin the cross-site check accepts
//
// A local client has a loopback peer address, a Host header that is a
// loopback address, localhost or a configured name (a DNS-rebinding page
// sends its own name and is refused), and no header a proxy adds
// (Forwarded, X-Forwarded-For, Via, X-Real-Ip, True-Client-Ip, ...). The
// local rule cannot see a proxy on the same machine that adds no header
// and rewrites Host: behind any proxy, use a bearer token.
//
// Whatever rule admits it, a request that a browser sends from another
// site (Sec-Fetch-Site cross-site or same-site, or an Origin that is not
// the request's own and not trusted) may not opt in: an
// <img src="http://127.0.0.1:8080/x?tracing=1"> on any web page would
// otherwise switch code and fill the trace store.
//
// # Limits
//
// At most [DefaultMaxConcurrent] traced requests are in flight at once
// ([WithMaxConcurrent]), and new ones are admitted at [DefaultRate] per
// second with bursts of [DefaultBurst] ([WithRateLimit]), because a first
// activation may patch code. A request that continues the trace of an
// admitted caller (a sampled traceparent with [WithSampledTraceparent])
// needs a slot but no token of the rate limit: its trace was paid for
// upstream, and refusing it would cut the trace in half.
//
// # Refusals
//
// A request that asks but is refused is served normally, untraced, and its
// response carries [RefusedHeader] (X-Tracing-Refused) with the reason:
// [RefusedCrossSite], [RefusedUnauthorized], [RefusedConcurrency] or
// [RefusedRate]. [Transport] records that header on its client span as a
// "child refused" event, so the caller's trace shows where and why it
// stops. [WithLogger] logs each refusal with the full reason.
//
// # What a traced request gets
//
// The request holds one activation of tracing.Kind (request_tracing) from
// before its handler starts until the handler has returned, panics and
// hijacked or streamed responses included, and its context is marked so
// that tracing.Opted reports true. It holds the activation, and its slot
// of [WithMaxConcurrent], exactly as long as its handler runs: a slow
// client that trickles its body or reads its response slowly keeps them
// for as long as the handler waits on it, so give the http.Server a
// ReadTimeout and a WriteTimeout (the example server, bounded.dev/examples/server,
// shows production values).
//
// Its server span is started from the global tracer provider
// ([WithTracerProvider]) as a child of the W3C trace context in the request
// (baggage is extracted too), with the HTTP semantic conventions'
// attributes (http.request.method, url.path, url.scheme, http.route from
// the ServeMux pattern, http.response.status_code, ...). The response
// carries a traceresponse header, 00-<trace id>-<span id>-<flags>, and an
// X-Request-Id header whose value, a UUID, is also the span's request.id
// attribute. A handler that panics gets its span marked with the panic (an
// exception event with the stack) before the panic goes on.
//
// The handler of a traced request gets a writer, made by
// github.com/felixge/httpsnoop, that implements exactly the optional
// interfaces the server's writer implements (http.Flusher, http.Hijacker,
// io.ReaderFrom, http.Pusher, ...; over HTTP/2 no Hijacker) and unwraps
// for http.ResponseController: tracing changes nothing a handler can
// observe.
//
// # Cost
//
// For a request that does not ask, the middleware is a substring search
// of the raw query and two or three header lookups, and no allocation:
// about 30 ns over a bare handler in ten rounds on a shared 2-vCPU AMD
// EPYC virtual machine (Go 1.26), where otelhttp with a never-sampling
// provider adds 110 to 210 times as much and allocates 28 times. docs/tracing.md has the benchmark, the command and the spread.
package middleware
